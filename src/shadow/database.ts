/**
 * The shadow database: an in-memory PGlite that exists for one replay and is thrown away. It is
 * never the user's database, and nothing of it reaches the disk.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { Driver, Row } from '../db/driver.js';
import { pgliteExtensionsFor } from '../db/pglite-extensions.js';
import { createFreshPglite } from '../db/pglite-template.js';
import { postgresDialect } from '../db/postgres-dialect.js';

export interface ShadowDatabase {
  /** The runner's port over the shadow (what `runPlan` executes on). */
  driver: Driver;
  /** The PGlite itself, for the schema engine's driver adapter. */
  pglite: PGlite;
  close(): Promise<void>;
}

/** As `db/pglite.ts`: PGlite's RESET ALL leaves search_path at pg_catalog, so set it back. */
const dialect = { ...postgresDialect, resetSession: `${postgresDialect.resetSession} SET search_path TO public;` };

/**
 * Opens an empty in-memory PostgreSQL (PGlite) with the extensions `scripts` create.
 *
 * @example
 *   const shadow = await openShadow(migrations.map((m) => m.sql));
 *   try { await runPlan(shadow.driver, plan); } finally { await shadow.close(); }
 */
export async function openShadow(scripts: string[]): Promise<ShadowDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  // Extensions PGlite does not ship are left out: the migration's own CREATE EXTENSION then
  // fails with PostgreSQL's message naming it.
  const { extensions } = pgliteExtensionsFor({ sql: scripts });
  const db = await createFreshPglite(PGlite, { extensions });
  let alive = true;
  const driver: Driver = {
    dialect,
    location: 'an in-memory shadow database',
    embedded: true,
    schema: 'public',
    get alive() {
      return alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
    async transaction<T>(fn: () => Promise<T>) {
      await db.exec('BEGIN');
      try {
        const value = await fn();
        await db.exec('COMMIT');
        return value;
      } catch (error) {
        await db.exec('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    // Nobody else can see an in-memory database: there is nothing to lock or cancel.
    async lock() {},
    async unlock() {},
    async cancel() {},
    async serverVersion() {
      const [row] = (await db.query<{ server_version: string }>('SHOW server_version')).rows;
      return `${row?.server_version ?? 'unknown'} (PGlite shadow)`;
    },
    async close() {
      if (!alive) return;
      alive = false;
      await db.close();
    },
  };
  return { driver, pglite: db, close: () => driver.close() };
}

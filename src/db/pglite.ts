import type { PGlite } from '@electric-sql/pglite';
import type { Dialect, Driver, Row } from './driver.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import { postgresDialect } from './postgres-dialect.js';
import { ensureStateDir } from '../project/state-dir.js';

/**
 * PGlite starts with search_path `pg_catalog` and then sets `public` for the session, so a
 * RESET ALL alone would leave it at `pg_catalog`: set it back after the reset.
 */
const pgliteDialect: Dialect = { ...postgresDialect, resetSession: `${postgresDialect.resetSession} SET search_path TO public;` };

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a project folder.
 *
 * PGlite runs inside one process and must never open its folder twice, so the lock is a lock
 * file taken before the folder is opened and held until it is closed; the advisory lock of a
 * server would protect nothing here. `lock()` therefore has nothing left to do.
 */
export async function openPglite(dataDir: string, lockFile: string, location: string, onWait: (holder: string) => void): Promise<Driver> {
  ensureStateDir(dataDir);
  const fileLock: FileLock = await acquireFileLock(lockFile, onWait);
  let db: PGlite;
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    db = await PGlite.create({ dataDir });
  } catch (error) {
    fileLock.release();
    throw error;
  }
  let alive = true;
  return {
    dialect: pgliteDialect,
    location,
    embedded: true,
    schema: 'public',
    get alive() {
      return alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return result.rows;
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
    async lock() {
      // Held since open (see above).
    },
    async unlock() {},
    async cancel() {
      // PGlite runs a statement on this thread: by the time this runs, no statement is running.
      // The caller stops before the next one and rolls back; close() releases the lock file.
    },
    async serverVersion() {
      const [row] = (await db.query<{ server_version: string }>('SHOW server_version')).rows;
      return `${row?.server_version ?? 'unknown'} (PGlite)`;
    },
    async close() {
      if (!alive) return;
      alive = false;
      try {
        await db.close();
      } finally {
        fileLock.release();
      }
    },
  };
}

/**
 * The shadow database: a database of the project's provider that exists for one replay session
 * and is thrown away. It is never the user's database. On PostgreSQL it is an in-memory PGlite;
 * on SQLite a file in a private temporary folder, removed on close.
 *
 * What differs between the two (how to empty it, how to list what a replay created, the adapter
 * Prisma's schema engine reads it through) is carried by the shadow itself, so that replay and
 * engine code stay the same for both.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { Driver, Row } from '../db/driver.js';
import { pgliteExtensionsFor } from '../db/pglite-extensions.js';
import { pgliteDialect, pgliteTransaction } from '../db/pglite.js';
import { createFreshPglite } from '../db/pglite-template.js';
import { removeAbandoned } from '../db/abandoned.js';
import type { Provider } from '../project/provider.js';

/** Tables, columns and enum types of the shadow, as `table`, `table.column` and `enum name`. */
export type Objects = Set<string>;

export interface ShadowDatabase {
  /** The datasource provider the schema engine is started with. */
  provider: Provider;
  /** The runner's port over the shadow (what `runPlan` executes on). */
  driver: Driver;
  /** Back to an empty database, for the next replay. */
  reset(): Promise<void>;
  /** What the shadow holds now. */
  objects(): Promise<Objects>;
  /** A driver adapter factory over the shadow for Prisma's schema engine (to be wrapped by `readOnlyFactory`). */
  engineAdapter(): Promise<SqlMigrationAwareDriverAdapterFactory>;
  close(): Promise<void>;
}

/**
 * Opens an empty shadow database for `provider`; `scripts` are the migrations it will replay
 * (PGlite loads the extensions they create).
 *
 * @example
 *   const shadow = await openShadow('sqlite', migrations.map((m) => m.sql));
 *   try { await runPlan(shadow.driver, plan); } finally { await shadow.close(); }
 */
export function openShadow(provider: Provider, scripts: string[]): Promise<ShadowDatabase> {
  return provider === 'sqlite' ? openSqliteShadow() : openPgliteShadow(scripts);
}

async function openPgliteShadow(scripts: string[]): Promise<ShadowDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  // Extensions PGlite does not ship are left out: the migration's own CREATE EXTENSION then
  // fails with PostgreSQL's message naming it.
  const { extensions } = pgliteExtensionsFor({ sql: scripts });
  const db = await createFreshPglite(PGlite, { extensions });
  let alive = true;
  const driver: Driver = {
    dialect: pgliteDialect,
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
    transaction: (fn) => pgliteTransaction(db, fn),
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
  return {
    provider: 'postgresql',
    driver,
    // Extensions live in `public` and go with it.
    reset: () => driver.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;'),
    async objects() {
      const rows = await driver.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         UNION ALL
         SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
         UNION ALL
         SELECT 'enum ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'`,
      );
      return new Set(rows.map((r) => r.name));
    },
    async engineAdapter() {
      const { pgliteFactory } = await import('../engine/adapters.js');
      return pgliteFactory(db);
    },
    close: () => driver.close(),
  };
}

/** The folders of SQLite shadows: `orchestrate-shadow-<pid>-<random>`. */
const SHADOW_FOLDER = 'orchestrate-shadow-';

/** SQLite's own objects (`sqlite_sequence`, `sqlite_autoindex_*`) are not the migrations'. */
const userObject = (name: string) => `${name} NOT LIKE 'sqlite\\_%' ESCAPE '\\'`;

/**
 * A fresh SQLite file in a folder of its own under the system's temporary directory, readable
 * by this user only, run through the same libsql driver `migrate` uses. The folder goes on
 * close, when opening fails, and when the process exits before closing it.
 */
async function openSqliteShadow(): Promise<ShadowDatabase> {
  // Named after this process: the next shadow removes those a killed process left.
  removeAbandoned(os.tmpdir(), SHADOW_FOLDER, '-');
  const dir = mkdtempSync(path.join(os.tmpdir(), `${SHADOW_FOLDER}${process.pid}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  const file = path.join(dir, 'shadow.db');
  let driver: Driver;
  try {
    // mkdtemp makes it 0700 already; made sure of, as the file holds the project's whole schema.
    chmodSync(dir, 0o700);
    const { openSqlite } = await import('../db/sqlite.js');
    driver = await openSqlite(file, 'a temporary shadow database', false);
  } catch (error) {
    process.removeListener('exit', remove);
    remove();
    throw error;
  }
  return {
    provider: 'sqlite',
    driver,
    async reset() {
      const rows = await driver.query<{ type: string; name: string }>(`SELECT type, name FROM sqlite_master WHERE ${userObject('name')}`);
      // Dropping a table takes its indexes and triggers along: IF EXISTS skips those.
      const order = ['view', 'trigger', 'index', 'table'];
      const drops = rows
        .filter((r) => order.includes(r.type))
        .sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type))
        .map((r) => `DROP ${r.type.toUpperCase()} IF EXISTS ${driver.dialect.quoteIdentifier(r.name)};`);
      // Foreign keys off: dropping a parent table would otherwise check (or cascade to) its children.
      await driver.exec(['PRAGMA foreign_keys=OFF;', ...drops].join('\n'));
    },
    async objects() {
      // SQLite has no enum types.
      const rows = await driver.query<{ name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND ${userObject('name')}
         UNION ALL
         SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND ${userObject('m.name')}`,
      );
      return new Set(rows.map((r) => r.name));
    },
    async engineAdapter() {
      const { readOnlySqliteFactory } = await import('../engine/adapters.js');
      return readOnlySqliteFactory(file);
    },
    async close() {
      try {
        await driver.close();
      } finally {
        process.removeListener('exit', remove);
        remove();
      }
    },
  };
}

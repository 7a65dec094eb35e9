import { createRequire } from 'node:module';
import type { Dialect, TableName } from './driver.js';

const require = createRequire(import.meta.url);

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

const tableName = (t: TableName) => `${quoteIdentifier(t.schema)}.${quoteIdentifier(t.name)}`;

/**
 * PostgreSQL (server and PGlite). The history table is byte for byte the one Prisma Migrate
 * creates, so `prisma migrate status` keeps working on the core table and a database migrated by
 * Prisma alone is adopted as it is. Every history statement names the table with its schema, as
 * Prisma does: a migration that moves `search_path` cannot move the bookkeeping.
 */
export const postgresDialect: Dialect = {
  provider: 'postgresql',
  transactionalDdl: true,
  begin: 'BEGIN;',
  commit: 'COMMIT;',
  rollback: 'ROLLBACK;',
  quoteIdentifier,
  quoteLiteral,
  tableName,
  createHistoryTable: (table) =>
    `CREATE TABLE IF NOT EXISTS ${tableName(table)} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`,
  dropHistoryTable: (table) => `DROP TABLE IF EXISTS ${tableName(table)};`,
  insertHistoryRow: (table, row, finished = true) =>
    // started_at: now() is the start of the migration's transaction; finished_at: the moment of
    // the insert, i.e. after the migration's statements ran.
    `INSERT INTO ${tableName(table)} ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES (${quoteLiteral(row.id)}, ${quoteLiteral(row.checksum)}, ${finished ? 'clock_timestamp()' : 'NULL'}, ${quoteLiteral(row.migrationName)}, NULL, NULL, ${row.startedAt ? `${quoteLiteral(row.startedAt.toISOString())}::timestamptz` : 'now()'}, ${row.appliedStepsCount});`,
  finishHistoryRow: (table, id) =>
    `UPDATE ${tableName(table)} SET "finished_at" = clock_timestamp(), "applied_steps_count" = "applied_steps_count" + 1 WHERE "id" = ${quoteLiteral(id)};`,
  failHistoryRow: (table, id, logs) => `UPDATE ${tableName(table)} SET "logs" = ${quoteLiteral(logs)} WHERE "id" = ${quoteLiteral(id)};`,
  deleteHistoryRow: (table, id) => `DELETE FROM ${tableName(table)} WHERE "id" = ${quoteLiteral(id)};`,
  markRolledBack: (table, ids) => `UPDATE ${tableName(table)} SET "rolled_back_at" = now() WHERE "id" IN (${ids.map(quoteLiteral).join(', ')});`,
  // RESET ALL leaves the role alone; RESET SESSION AUTHORIZATION drops the role too, and RESET
  // ROLE then restores one given at connection time (`options=-c role=...`).
  resetSession: 'RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;',
  undefinedTableCode: '42P01',
  cancelledCode: '57014',
  existingTablesQuery: `SELECT t AS name FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident($2) || '.' || quote_ident(t)) IS NOT NULL`,
  // information_schema is standard SQL; LIKE's default escape is the backslash.
  tablesLikeQuery: 'SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE $1 AND table_schema = $2 ORDER BY table_name',
  selectHistory: (tables) =>
    tables
      .map(
        ({ owner, table }) =>
          `SELECT ${quoteLiteral(owner)} AS owner, "id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count" FROM ${tableName(table)}`,
      )
      .join('\nUNION ALL\n') + '\nORDER BY "started_at", "migration_name"',
};

/**
 * The schema of the history tables for a connection URL: Prisma's `?schema=`, else `public`
 * (Prisma's default, whatever the role's search_path says).
 */
export function schemaOfUrl(url: string): string {
  const { parse } = require('pg-connection-string') as typeof import('pg-connection-string');
  try {
    const schema = (parse(url) as { schema?: unknown }).schema;
    return typeof schema === 'string' && schema !== '' ? schema : 'public';
  } catch {
    return 'public';
  }
}

const TIMESTAMP_TEXT = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:([+-]\d\d)(?::(\d\d))?)?$/;

/**
 * A `timestamp` / `timestamptz` in PostgreSQL's default ISO output ("2024-01-31 12:00:00.123456+00"),
 * as a Date; anything else (BC dates, infinity, offsets with seconds, other DateStyles) stays text.
 * The text is rewritten to ISO 8601 first: JavaScript's lenient parser reads years 1-99 as 19xx/20xx.
 */
export function timestampFromText(text: string): Date | string {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return text;
  const date = new Date(`${m[1]}T${m[2]}${m[3] ? `${m[3]}:${m[4] ?? '00'}` : ''}`);
  return Number.isNaN(date.getTime()) ? text : date;
}

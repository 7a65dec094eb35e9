import type { Dialect, NewHistoryRow } from './driver.js';

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * PostgreSQL (server and PGlite). The history table is byte for byte the one Prisma Migrate
 * creates, so `prisma migrate status` keeps working on the core table and a database migrated by
 * Prisma alone is adopted as it is.
 */
export const postgresDialect: Dialect = {
  provider: 'postgresql',
  transactionalDdl: true,
  begin: 'BEGIN;',
  commit: 'COMMIT;',
  rollback: 'ROLLBACK;',
  quoteIdentifier,
  quoteLiteral,
  createHistoryTable: (table) =>
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`,
  dropHistoryTable: (table) => `DROP TABLE IF EXISTS ${quoteIdentifier(table)};`,
  insertHistoryRow: (table: string, row: NewHistoryRow) =>
    // started_at: now() is the start of the migration's transaction; finished_at: the moment of
    // the insert, i.e. after the migration's statements ran.
    `INSERT INTO ${quoteIdentifier(table)} ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES (${quoteLiteral(row.id)}, ${quoteLiteral(row.checksum)}, clock_timestamp(), ${quoteLiteral(row.migrationName)}, NULL, NULL, ${row.startedAt ? `${quoteLiteral(row.startedAt.toISOString())}::timestamptz` : 'now()'}, ${row.appliedStepsCount});`,
  deleteHistoryRow: (table, id) => `DELETE FROM ${quoteIdentifier(table)} WHERE "id" = ${quoteLiteral(id)};`,
  markRolledBack: (table, ids) =>
    `UPDATE ${quoteIdentifier(table)} SET "rolled_back_at" = now() WHERE "id" IN (${ids.map(quoteLiteral).join(', ')});`,
  undefinedTableCode: '42P01',
  // to_regclass resolves an unqualified name through search_path, exactly as the unqualified
  // CREATE TABLE / INSERT statements above do.
  existingTablesQuery: `SELECT t AS name FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident(t)) IS NOT NULL`,
  selectHistory: (tables) =>
    tables
      .map(
        ({ owner, table }) =>
          `SELECT ${quoteLiteral(owner)} AS owner, "id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count" FROM ${quoteIdentifier(table)}`,
      )
      .join('\nUNION ALL\n') + '\nORDER BY "started_at", "migration_name"',
};

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

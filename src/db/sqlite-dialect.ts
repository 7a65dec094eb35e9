import type { Dialect, TableName } from './driver.js';

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
// Unqualified, as Prisma writes it: a database file has one schema of tables ("main"), and
// nothing in a migration can move the name elsewhere (no search_path).
const tableName = (t: TableName) => quoteIdentifier(t.name);

/**
 * Now, in milliseconds since the epoch: how Prisma Migrate stores `_prisma_migrations`
 * timestamps on SQLite. julianday() rather than unixepoch('subsec'), so that `--sql` output
 * also runs in older `sqlite3` shells (unixepoch needs 3.38, 'subsec' 3.42).
 */
const NOW_MS = `CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)`;

/** A timestamp column as milliseconds, whether stored as Prisma's integers or as text (`current_timestamp`). */
const asMs = (column: string) =>
  `CASE typeof(${column}) WHEN 'text' THEN CAST(ROUND((julianday(${column}) - 2440587.5) * 86400000) AS INTEGER) ELSE ${column} END AS ${column}`;

/**
 * SQLite (libsql). The history table is the one Prisma Migrate creates on SQLite, with
 * timestamps stored as Prisma stores them (integer milliseconds), so `prisma migrate status`
 * keeps reading the core table.
 *
 * Transactions: `BEGIN IMMEDIATE` takes the write lock at once (a deferred BEGIN would fail
 * with SQLITE_BUSY halfway through a migration when another writer got there first). Foreign
 * keys are switched off before BEGIN, because SQLite ignores the pragma inside a transaction
 * and Prisma's table rebuilds (new_X, copy, DROP X, rename) would otherwise delete child rows
 * through ON DELETE CASCADE; `PRAGMA foreign_key_check` before COMMIT then refuses a migration
 * that leaves a dangling reference (the driver fails it, naming table and rowid).
 */
export const sqliteDialect: Dialect = {
  provider: 'sqlite',
  transactionalDdl: true,
  beforeBegin: 'PRAGMA foreign_keys=OFF;',
  begin: 'BEGIN IMMEDIATE;',
  beforeCommit: 'PRAGMA foreign_key_check;',
  commit: 'COMMIT;',
  rollback: 'ROLLBACK;',
  quoteIdentifier,
  quoteLiteral,
  tableName,
  createHistoryTable: (table) =>
    `CREATE TABLE IF NOT EXISTS ${tableName(table)} (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
);`,
  dropHistoryTable: (table) => `DROP TABLE IF EXISTS ${tableName(table)};`,
  insertHistoryRow: (table, row, finished = true) =>
    `INSERT INTO ${tableName(table)} ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES (${quoteLiteral(row.id)}, ${quoteLiteral(row.checksum)}, ${finished ? NOW_MS : 'NULL'}, ${quoteLiteral(row.migrationName)}, NULL, NULL, ${row.startedAt ? row.startedAt.getTime() : NOW_MS}, ${row.appliedStepsCount});`,
  finishHistoryRow: (table, id) =>
    `UPDATE ${tableName(table)} SET "finished_at" = ${NOW_MS}, "applied_steps_count" = "applied_steps_count" + 1 WHERE "id" = ${quoteLiteral(id)};`,
  failHistoryRow: (table, id, logs) => `UPDATE ${tableName(table)} SET "logs" = ${quoteLiteral(logs)} WHERE "id" = ${quoteLiteral(id)};`,
  deleteHistoryRow: (table, id) => `DELETE FROM ${tableName(table)} WHERE "id" = ${quoteLiteral(id)};`,
  markRolledBack: (table, ids) => `UPDATE ${tableName(table)} SET "rolled_back_at" = ${NOW_MS} WHERE "id" IN (${ids.map(quoteLiteral).join(', ')});`,
  // A connection's settings a migration may change (PRAGMAs) are the connection's own, and the
  // run closes it: nothing to reset between migrations.
  resetSession: '',
  // SQLite has no code of its own for "no such table"; a different SQLITE_ERROR fails again
  // when the history is read from the tables that exist.
  undefinedTableCode: 'SQLITE_ERROR',
  cancelledCode: 'SQLITE_INTERRUPT',
  // $1 before $2: SQLite numbers parameters in the order they first appear.
  existingTablesQuery: `SELECT name FROM pragma_table_list WHERE name IN (SELECT value FROM json_each($1)) AND schema = $2 AND type = 'table'`,
  tablesLikeQuery: `SELECT name FROM pragma_table_list WHERE name LIKE $1 ESCAPE '\\' AND schema = $2 AND type = 'table' ORDER BY name`,
  selectHistory: (tables) =>
    tables
      .map(
        ({ owner, table }) =>
          `SELECT ${quoteLiteral(owner)} AS owner, "id", "checksum", ${asMs('"finished_at"')}, "migration_name", "logs", ${asMs('"rolled_back_at"')}, ${asMs('"started_at"')}, "applied_steps_count" FROM ${tableName(table)}`,
      )
      .join('\nUNION ALL\n') + '\nORDER BY "started_at", "migration_name"',
};

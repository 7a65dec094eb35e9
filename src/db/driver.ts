/**
 * The database seen by the apply half of the tool: one connection, a script runner and the
 * migration lock. Everything that differs between database products (history table DDL, the
 * lock, transaction rules, literal quoting) sits behind `Driver` and `Dialect`: PostgreSQL
 * (server and PGlite) and SQLite (libsql). Statement splitting (split.ts, split-sqlite.ts, chosen
 * by `splitterFor`) is imported where it is needed (runner, --sql), not carried by the dialect:
 * a no-op `migrate` never loads it.
 */

import { RuntimeError } from '../errors.js';

export type Row = Record<string, unknown>;

/** A history table, always named with its schema: a migration's `SET search_path` cannot move it. */
export interface TableName {
  schema: string;
  name: string;
}

/** SQL text that differs between providers. Pure functions: used by `--sql` and by the runner alike. */
export interface Dialect {
  readonly provider: 'postgresql' | 'sqlite';
  /** Whether DDL can be rolled back with its transaction (false on MySQL, for instance). */
  readonly transactionalDdl: boolean;
  /**
   * Run before BEGIN, outside the transaction: settings a transaction cannot change (SQLite
   * ignores `PRAGMA foreign_keys` inside one).
   */
  readonly beforeBegin?: string;
  readonly begin: string;
  /**
   * Run just before COMMIT, inside the transaction; a statement here that finds a problem makes
   * the driver fail it, which rolls the migration back (SQLite: `PRAGMA foreign_key_check`).
   */
  readonly beforeCommit?: string;
  readonly commit: string;
  readonly rollback: string;
  quoteIdentifier(name: string): string;
  quoteLiteral(value: string): string;
  /** A table's name in SQL, schema-qualified and quoted. */
  tableName(table: TableName): string;
  /** Prisma Migrate's history table, created when missing. */
  createHistoryTable(table: TableName): string;
  dropHistoryTable(table: TableName): string;
  /**
   * A history row as Prisma Migrate writes it; `startedAt` null means "when the transaction began".
   * `finished` false writes the row of a migration that is starting (finished_at NULL), as
   * Prisma does before it runs a script: until `finishHistoryRow`, the row says "failed".
   */
  insertHistoryRow(table: TableName, row: NewHistoryRow, finished?: boolean): string;
  /** Marks a row written with `finished` false as finished. */
  finishHistoryRow(table: TableName, id: string): string;
  /** Stores the error of a failed migration in its row's `logs`, as Prisma does. */
  failHistoryRow(table: TableName, id: string, logs: string): string;
  deleteHistoryRow(table: TableName, id: string): string;
  /** Marks failed rows as rolled back, as `prisma migrate resolve` does. */
  markRolledBack(table: TableName, ids: string[]): string;
  /**
   * Undoes what a migration may have set for the rest of the session (`SET search_path`, `SET
   * ROLE`, `SET SESSION AUTHORIZATION`, other settings), back to the connection's own settings,
   * without releasing session-level locks (`DISCARD ALL` would release the run's lock).
   */
  readonly resetSession: string;
  /** The error code of a query on a table that does not exist (PostgreSQL: 42P01). */
  readonly undefinedTableCode: string;
  /** The error code of a statement cancelled on request (PostgreSQL: 57014). */
  readonly cancelledCode: string;
  /** Query listing which of `$1` (an array of table names) exist in schema `$2`; returns rows `{ name }`. */
  readonly existingTablesQuery: string;
  /** Tables of schema `$2` whose name is `LIKE $1` (backslash escapes), as rows `{ name }` sorted by name. */
  readonly tablesLikeQuery: string;
  /** One query returning the rows of every given table with an `owner` column. */
  selectHistory(tables: { owner: string; table: TableName }[]): string;
}

export interface NewHistoryRow {
  id: string;
  checksum: string;
  migrationName: string;
  appliedStepsCount: number;
  startedAt: Date | null;
}

/** The session holding the migration lock, as the server shows it (pg_stat_activity). */
export interface LockHolder {
  pid: number;
  applicationName: string | null;
  clientAddr: string | null;
  since: Date | null;
}

export interface LockOptions {
  /** Give up after this long (`--lock-timeout`), with a LockTimeoutError naming the holder. */
  timeoutMs?: number;
}

/** "pid 4242 (orchestrate, from 10.0.0.7)", or a neutral phrase when the holder is not visible. */
export function describeHolder(holder: LockHolder | null): string {
  if (!holder) return 'another session (it just released it, or is not visible to this role)';
  const details = [holder.applicationName ? `application_name "${holder.applicationName}"` : 'no application_name', holder.clientAddr ? `from ${holder.clientAddr}` : 'on a local socket'];
  return `pid ${holder.pid} (${details.join(', ')})`;
}

/** The migration lock was not free within `--lock-timeout`. */
export class LockTimeoutError extends RuntimeError {
  readonly holder: LockHolder | null;
  constructor(waitedMs: number, holder: LockHolder | null) {
    super(
      `Gave up waiting for the migration lock after ${(waitedMs / 1000).toFixed(1)} s: it is held by ${describeHolder(holder)}; let that run finish${holder ? `, or end it with SELECT pg_terminate_backend(${holder.pid})` : ''}, or allow a longer wait.`,
    );
    this.holder = holder;
  }
}

/**
 * One open connection to the target database.
 *
 * @example
 *   const db = await openDatabase({ root, url: undefined, env: process.env, info: console.error }, { lockKey: settings.lockKey, waitSeconds: 30 });
 *   try {
 *     await db.lock((holder) => console.error(`Waiting for the migration lock (${describeHolder(holder)})...`));
 *     await db.exec('BEGIN; CREATE TABLE t (id int); COMMIT;');
 *   } finally {
 *     await db.close();
 *   }
 */
export interface Driver {
  readonly dialect: Dialect;
  /** Printable location: a URL without password, or the embedded database's folder. */
  readonly location: string;
  readonly embedded: boolean;
  /** The schema of the history tables: Prisma's `?schema=` of the URL, else `public`. */
  readonly schema: string;
  /** One statement with `$1`-style parameters. */
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A script of any number of statements, without parameters. */
  exec(script: string): Promise<void>;
  /** Runs `fn` between BEGIN and COMMIT; rolls back and rethrows when it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Takes the migration lock for the rest of the connection's life. When another session holds
   * it, calls `onWait` at once and then every 10 s with that session (null when not visible).
   */
  lock(onWait: (holder: LockHolder | null) => void, options?: LockOptions): Promise<void>;
  unlock(): Promise<void>;
  /**
   * Asks the server to cancel the statement running on this connection (its query then rejects
   * with SQLSTATE 57014); resolves once the request is sent. A no-op on the embedded database.
   */
  cancel(): Promise<void>;
  serverVersion(): Promise<string>;
  /** Whether the connection still works (false after the server or network dropped it). */
  readonly alive: boolean;
  /**
   * Asks the server to cancel the statement this connection is running, if any (psql's Ctrl-C):
   * that statement then fails with `Dialect.cancelledCode`, and an open transaction is left to
   * be rolled back. Resolves once the request was delivered; never throws. Where a running
   * statement cannot be interrupted (PGlite runs on this thread), it resolves at once and the
   * caller stops after the statement.
   */
  cancel(): Promise<void>;
  /**
   * Called before scripts run, outside any transaction: the embedded database loads the
   * PostgreSQL extensions they create (PGlite finds one only when opened with it), or throws a
   * RuntimeError naming one it does not ship. Servers need nothing.
   */
  prepareFor?(scripts: { sql: string; where: string }[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The database seen by the apply half of the tool: one connection, a script runner and the
 * migration lock. Everything that differs between database products (history table DDL, the
 * lock, transaction rules, literal quoting) sits behind `Driver` and `Dialect`, so MySQL or
 * SQLite can follow with their own pair. Statement splitting (split.ts) follows PostgreSQL's
 * lexical rules and is imported where it is needed (runner, --sql), not carried by the dialect:
 * a no-op `migrate` never loads it.
 */

export type Row = Record<string, unknown>;

/** A history table, always named with its schema: a migration's `SET search_path` cannot move it. */
export interface TableName {
  schema: string;
  name: string;
}

/** SQL text that differs between providers. Pure functions: used by `--sql` and by the runner alike. */
export interface Dialect {
  readonly provider: 'postgresql';
  /** Whether DDL can be rolled back with its transaction (false on MySQL, for instance). */
  readonly transactionalDdl: boolean;
  readonly begin: string;
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

/**
 * One open connection to the target database.
 *
 * @example
 *   const db = await openDatabase(ctx, { lockKey: settings.lockKey, waitSeconds: 30 });
 *   try {
 *     await db.lock(() => reporter.info('Waiting for the migration lock...'));
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
  /**
   * Every row of each table (given as SQL names, see `Dialect.tableName`), as its `columns`
   * values (text, null for NULL), in one round trip and without planning a query: on a server,
   * `COPY ... TO STDOUT`. Optional: drivers without it are read with `Dialect.selectHistory`.
   */
  readTables?(tables: string[], columns: string[]): Promise<(string | null)[][][]>;
  /** Runs `fn` between BEGIN and COMMIT; rolls back and rethrows when it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Takes the migration lock for the rest of the connection's life; calls `onWait` once when another process holds it. */
  lock(onWait: () => void): Promise<void>;
  unlock(): Promise<void>;
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
  close(): Promise<void>;
}

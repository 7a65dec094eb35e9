/**
 * The database seen by the apply half of the tool: one connection, a script runner and the
 * migration lock. Everything that differs between database products (history table DDL, the
 * lock, transaction rules, literal quoting) sits behind `Driver` and `Dialect`, so MySQL or
 * SQLite can follow with their own pair. Statement splitting (split.ts) follows PostgreSQL's
 * lexical rules and is imported where it is needed (runner, --sql), not carried by the dialect:
 * a no-op `migrate` never loads it.
 */

export type Row = Record<string, unknown>;

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
  /** Prisma Migrate's history table, created when missing. */
  createHistoryTable(table: string): string;
  dropHistoryTable(table: string): string;
  /** A history row as Prisma Migrate writes it; `startedAt` null means "when the transaction began". */
  insertHistoryRow(table: string, row: NewHistoryRow): string;
  deleteHistoryRow(table: string, id: string): string;
  /** Marks failed rows as rolled back, as `prisma migrate resolve` does. */
  markRolledBack(table: string, ids: string[]): string;
  /** The error code of a query on a table that does not exist (PostgreSQL: 42P01). */
  readonly undefinedTableCode: string;
  /** Query listing which of `$1` (an array of table names) exist; returns rows `{ name }`. */
  readonly existingTablesQuery: string;
  /** One query returning the rows of every given table with an `owner` column. */
  selectHistory(tables: { owner: string; table: string }[]): string;
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
  /** One statement with `$1`-style parameters. */
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A script of any number of statements, without parameters. */
  exec(script: string): Promise<void>;
  /**
   * Every row of each table, as its `columns` values (text, null for NULL), in one round trip and without
   * planning a query: on a server, `COPY ... TO STDOUT`. Optional: drivers without it are read
   * with `Dialect.selectHistory`.
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
  close(): Promise<void>;
}

import { pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import type {
  ColumnType,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
} from '@prisma/driver-adapter-utils';
import type { ClientConfig } from 'pg';

/** Thrown (inside the engine) when it tries anything but reading. */
export class EngineWriteRefused extends Error {}

/**
 * The startup option that makes every transaction of the session read-only on the server:
 * a write the engine might send fails there with SQLSTATE 25006, whatever its text.
 */
export const READ_ONLY_SESSION = '-c default_transaction_read_only=on';

/**
 * A PrismaPg factory for a user's database whose sessions the server keeps read-only; each
 * connection checks that the setting took (a pooler that drops startup options would lose it).
 *
 * @example
 *   const factory = await readOnlyPgFactory({ ...config, max: 1 });
 */
export async function readOnlyPgFactory(config: ClientConfig & { max?: number }): Promise<SqlMigrationAwareDriverAdapterFactory> {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const inner = new PrismaPg({ ...config, options: [config.options, READ_ONLY_SESSION].filter(Boolean).join(' ') });
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      const adapter = await inner.connect();
      const shown = await adapter.queryRaw({ sql: 'SHOW default_transaction_read_only', args: [], argTypes: [] }).catch(async (error: unknown) => {
        await adapter.dispose().catch(() => {});
        throw error;
      });
      if (shown.rows[0]?.[0] !== 'on') {
        await adapter.dispose().catch(() => {});
        throw new EngineWriteRefused(
          `the database session did not become read-only (default_transaction_read_only is ${String(shown.rows[0]?.[0])}); a connection pooler may drop startup options: point --url at the server itself`,
        );
      }
      return adapter;
    },
    connectToShadowDb: () => inner.connectToShadowDb(),
  };
}

/**
 * A libsql driver adapter factory (`@prisma/adapter-libsql`) over an SQLite file whose
 * connections SQLite itself keeps read-only (`PRAGMA query_only`): a write the engine might
 * send fails there with SQLITE_READONLY, whatever its text. Each connection checks that the
 * setting took. A shadow database of the engine's own is never handed out.
 *
 * @example
 *   const engineFactory = readOnlyFactory(await readOnlySqliteFactory('/tmp/orchestrate-shadow-x/shadow.db'));
 */
export async function readOnlySqliteFactory(file: string): Promise<SqlMigrationAwareDriverAdapterFactory> {
  const { PrismaLibSql } = await import('@prisma/adapter-libsql');
  // A file URL, percent-encoded, as db/sqlite.ts opens the same kind of file.
  const inner = new PrismaLibSql({ url: pathToFileURL(file).href });
  const noArgs = { args: [], argTypes: [] };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      const adapter = await inner.connect();
      try {
        await adapter.executeRaw({ sql: 'PRAGMA query_only = ON', ...noArgs });
        const shown = await adapter.queryRaw({ sql: 'PRAGMA query_only', ...noArgs });
        if (Number(shown.rows[0]?.[0]) !== 1) throw new EngineWriteRefused(`the SQLite connection did not become read-only (query_only is ${String(shown.rows[0]?.[0])})`);
      } catch (error) {
        await adapter.dispose().catch(() => {});
        throw error;
      }
      return adapter;
    },
    connectToShadowDb: async () => {
      throw new EngineWriteRefused('orchestrate refused a shadow database to the schema engine; it only reads the one it is given.');
    },
  };
}

/**
 * Wraps a driver adapter factory for the schema engine, which only needs one read-only query
 * (server version, namespace) to diff two datamodels. Reads pass through: on a user's database
 * the session itself is read-only (see `readOnlyPgFactory`), as is an SQLite shadow's connection
 * (`readOnlySqliteFactory`). Scripts, raw executions, transactions and shadow databases are never
 * needed for a diff, so asking for one fails loudly.
 */
export function readOnlyFactory(inner: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory & { disposeAll(): Promise<void> } {
  return restrictedFactory(inner, () => true, (what) => {
    throw new EngineWriteRefused(`orchestrate refused a database write from the schema engine (${what}); the engine is only allowed to read.`);
  });
}

/**
 * A factory over `inner` whose adapters run only the queries `allows` lets through; scripts, raw
 * executions, transactions and shadow databases go to `refuse`. It can dispose of every adapter
 * it handed out: the engine does not always dispose what it connected, and a live pool would
 * keep the process up.
 */
export function restrictedFactory(
  inner: SqlMigrationAwareDriverAdapterFactory,
  allows: (sql: string) => boolean,
  refuse: (what: string) => never,
): SqlMigrationAwareDriverAdapterFactory & { disposeAll(): Promise<void> } {
  const open = new Set<SqlDriverAdapter>();
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async disposeAll() {
      const list = [...open];
      open.clear();
      await Promise.all(list.map((a) => a.dispose().catch(() => {})));
    },
    async connect() {
      const adapter = await inner.connect();
      open.add(adapter);
      return {
        provider: adapter.provider,
        adapterName: adapter.adapterName,
        queryRaw: async (query: SqlQuery) => (allows(query.sql) ? adapter.queryRaw(query) : refuse(query.sql.slice(0, 80))),
        executeRaw: async (query: SqlQuery) => refuse(query.sql.slice(0, 80)),
        executeScript: async (script: string) => refuse(script.slice(0, 80)),
        startTransaction: async () => refuse('a transaction'),
        getConnectionInfo: adapter.getConnectionInfo?.bind(adapter),
        dispose: () => adapter.dispose(),
      };
    },
    connectToShadowDb: async () => refuse('a shadow database'),
  };
}

const PG_TYPES: Record<number, ColumnType> = {
  16: ColumnTypeEnum.Boolean,
  20: ColumnTypeEnum.Int64,
  // oid: PGlite parses it as a number; the engine reads it as a 64-bit integer (as @prisma/adapter-pg maps it).
  26: ColumnTypeEnum.Int64,
  21: ColumnTypeEnum.Int32,
  23: ColumnTypeEnum.Int32,
  25: ColumnTypeEnum.Text,
  19: ColumnTypeEnum.Text,
  1043: ColumnTypeEnum.Text,
  700: ColumnTypeEnum.Float,
  701: ColumnTypeEnum.Double,
};

/**
 * A minimal driver adapter over PGlite: enough for the schema engine's read-only
 * start-up query. It is an in-memory database of its own, never the user's.
 */
export function pgliteFactory(db: PGlite): SqlMigrationAwareDriverAdapterFactory {
  const adapter: SqlDriverAdapter = {
    provider: 'postgres',
    adapterName: 'orchestrate-pglite',
    async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
      const result = await db.query<Record<string, unknown>>(query.sql, query.args as unknown[], { rowMode: 'array' } as never);
      const columnTypes = result.fields.map((f) => PG_TYPES[f.dataTypeID] ?? ColumnTypeEnum.Text);
      const rows = (result.rows as unknown as unknown[][]).map((row) =>
        row.map((v, i) => (columnTypes[i] === ColumnTypeEnum.Int64 && v !== null ? String(v) : v)),
      );
      return { columnNames: result.fields.map((f) => f.name), columnTypes, rows };
    },
    async executeRaw(query: SqlQuery): Promise<number> {
      const result = await db.query(query.sql, query.args as unknown[]);
      return result.affectedRows ?? 0;
    },
    async executeScript(script: string): Promise<void> {
      await db.exec(script);
    },
    async startTransaction(): Promise<never> {
      throw new Error('transactions are not supported by this adapter');
    },
    getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
    async dispose() {},
  };
  return {
    provider: 'postgres',
    adapterName: 'orchestrate-pglite',
    connect: async () => adapter,
    connectToShadowDb: async () => adapter,
  };
}

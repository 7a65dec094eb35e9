import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory, SqlQuery, SqlResultSet } from '@prisma/driver-adapter-utils';
import { restrictedFactory } from './adapters.js';

/** Thrown (inside the engine) when a request needs a real database after all. */
export class NoDatabaseError extends Error {}

/** The server the offline adapter reports (the script does not depend on it, see below). */
export const OFFLINE_SERVER_VERSION = 'PostgreSQL 17.5 (no database connection: answered by orchestrate for schema-only work)';
export const OFFLINE_SERVER_VERSION_NUM = 170005;

/** The engine's start-up query: does the schema exist, which server version. */
export const PROBE = /\bpg_namespace\b[\s\S]*\bversion\(\)[\s\S]*\bserver_version_num\b/i;
/** What `SchemaEngine.version()` asks a server. */
const VERSION = /^\s*SELECT\s+version\(\)\s+AS\s+version\s*$/i;

/**
 * A driver adapter factory with no database behind it, for a diff between two Prisma schemas,
 * which needs none. On PostgreSQL, Prisma's schema engine asks one question on connect (does
 * the schema exist, which server version): it is answered here, and the script does not depend
 * on the reported version (checked against PostgreSQL 15 and 17). On SQLite the engine asks
 * nothing. Every other request is refused: one would mean the engine is about to touch a
 * database, which orchestrate never lets it do.
 *
 * @example
 *   const engine = await runtime.SchemaEngine.new({ datamodels: undefined }, log,
 *     bindMigrationAwareSqlAdapterFactory(offlineFactory((what) => `refused: ${what}`)));
 *   offlineFactory(refusal, 'sqlite'); // for a datasource with provider = "sqlite"
 */
export function offlineFactory(refusal: (what: string) => string, provider: 'postgresql' | 'sqlite' = 'postgresql'): SqlMigrationAwareDriverAdapterFactory {
  const refuse = (what: string): never => {
    throw new NoDatabaseError(refusal(what));
  };
  const postgres = provider === 'postgresql';
  const names = postgres ? { provider: 'postgres', adapterName: 'orchestrate-offline' } as const : { provider: 'sqlite', adapterName: 'orchestrate-offline-sqlite' } as const;
  const adapter: SqlDriverAdapter = {
    ...names,
    async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
      if (!postgres || !PROBE.test(query.sql)) return refuse(query.sql.slice(0, 80));
      const schema = typeof query.args[0] === 'string' ? query.args[0] : 'public';
      return {
        columnNames: ['exists', 'version', 'numeric_version'],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[schema === 'public', OFFLINE_SERVER_VERSION, OFFLINE_SERVER_VERSION_NUM]],
      };
    },
    async executeRaw(query: SqlQuery): Promise<number> {
      return refuse(query.sql.slice(0, 80));
    },
    async executeScript(script: string): Promise<void> {
      return refuse(script.slice(0, 80));
    },
    async startTransaction(): Promise<never> {
      return refuse('a transaction');
    },
    ...(postgres ? { getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }) } : {}),
    async dispose() {},
  };
  return {
    ...names,
    connect: async () => adapter,
    connectToShadowDb: async () => refuse('a shadow database'),
  };
}

/**
 * Wraps a real PostgreSQL driver adapter factory so that the engine gets the answer to its
 * start-up query (the server's real version, and `version()` that makes it connect at once)
 * from the database, and nothing else: a diff
 * between two schemas needs no more, and anything else would mean the engine is about to read
 * or change the user's database.
 */
export function versionOnlyFactory(
  inner: SqlMigrationAwareDriverAdapterFactory,
  refusal: (what: string) => string,
): SqlMigrationAwareDriverAdapterFactory & { disposeAll(): Promise<void> } {
  return restrictedFactory(
    inner,
    (sql) => PROBE.test(sql) || VERSION.test(sql),
    (what) => {
      throw new NoDatabaseError(refusal(what));
    },
  );
}

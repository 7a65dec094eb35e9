import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory, SqlQuery, SqlResultSet } from '@prisma/driver-adapter-utils';
import { NoDatabaseError } from './offline.js';

/**
 * A driver adapter factory that reports SQLite and has no database behind it. Prisma's schema
 * engine asks an SQLite adapter nothing on start-up, and a diff between two Prisma schemas
 * needs no database, so every request is refused: one would mean the engine is about to touch
 * a database, which orchestrate never lets it do.
 *
 * @example
 *   const engine = await runtime.SchemaEngine.new({ datamodels: [['schema.prisma', 'datasource db {\n  provider = "sqlite"\n}\n']] },
 *     log, bindMigrationAwareSqlAdapterFactory(offlineSqliteFactory((what) => `refused: ${what}`)));
 */
export function offlineSqliteFactory(refusal: (what: string) => string): SqlMigrationAwareDriverAdapterFactory {
  const refuse = (what: string): never => {
    throw new NoDatabaseError(refusal(what));
  };
  const adapter: SqlDriverAdapter = {
    provider: 'sqlite',
    adapterName: 'orchestrate-offline-sqlite',
    async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
      return refuse(query.sql.slice(0, 80));
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
    async dispose() {},
  };
  return {
    provider: 'sqlite',
    adapterName: 'orchestrate-offline-sqlite',
    connect: async () => adapter,
    connectToShadowDb: async () => refuse('a shadow database'),
  };
}

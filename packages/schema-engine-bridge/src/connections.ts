import { DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { clientConfigFor, openClient, parseDatabaseUrl, pgTarget } from 'orchestrate/bridge-support';

/** A request the bridge will not carry out; the message is one sentence for the user. */
export class BridgeRefusal extends Error {}

export const SHADOW_REFUSAL =
  'needs a shadow database, which orchestrate-schema-engine does not provide (it would have to replay migrations on your server); use `prisma migrate diff --from-schema ... --to-schema ... --script` or `orchestrate revision` instead, or run this command with Prisma\'s native schema engine';

/** Only PostgreSQL: the bridge connects through `@prisma/adapter-pg`. */
export function checkPostgresUrl(url: string): void {
  const parsed = parseDatabaseUrl(url);
  if (!parsed) {
    throw new BridgeRefusal('The datasource URL is not a valid URL; set `datasource.url` in prisma.config.ts to postgresql://user:password@host:5432/database.');
  }
  const protocol = parsed.url.protocol;
  if (protocol !== 'postgresql:' && protocol !== 'postgres:') {
    throw new BridgeRefusal(
      `orchestrate-schema-engine only connects to PostgreSQL (postgresql:// URLs), not ${protocol.replace(/:$/, '')}://; use Prisma's native schema engine for other databases.`,
    );
  }
}

/**
 * `@prisma/adapter-pg` for one URL, with shadow databases refused: through this adapter a
 * shadow-database flow would create and drop databases on the user's server behind their back.
 * Scripts (migrations, `db execute`) go to the server whole, see `wholeScripts`.
 * Adapters handed out are remembered so that `dispose` can close their pools before exit.
 */
export async function postgresFactory(url: string): Promise<{ factory: SqlMigrationAwareDriverAdapterFactory; dispose(): Promise<void> }> {
  checkPostgresUrl(url);
  const { PrismaPg } = await import('@prisma/adapter-pg');
  // Connection settings as libpq reads the URL (sslmode, PG* variables, ~/.pgpass), as orchestrate's
  // own client does. A failed first connection is left to the adapter to fail again in Prisma's
  // terms (P1001, P1003, ...), which the Prisma CLI acts on.
  const { config, schema } = await clientConfigFor(url);
  const inner = new PrismaPg(config, schema ? { schema } : undefined);
  const adapters: SqlDriverAdapter[] = [];
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      async connect() {
        const adapter = await inner.connect();
        adapters.push(adapter);
        return wholeScripts(adapter, url);
      },
      async connectToShadowDb() {
        throw new BridgeRefusal(`This command ${SHADOW_REFUSAL}.`);
      },
    },
    async dispose() {
      await Promise.allSettled(adapters.splice(0).map((a) => a.dispose()));
    },
  };
}

/**
 * Creates the database named in `url` (what the native engine's `cli create-database` does):
 * connects to the server's `postgres` database, falling back to `template1`.
 * Returns the database name.
 */
export async function createPostgresDatabase(url: string): Promise<string> {
  checkPostgresUrl(url);
  const target = pgTarget(url, process.env);
  const named = parseDatabaseUrl(url)!;
  if (!named.url.searchParams.get('dbname') && named.url.pathname.replace(/^\//, '') === '') {
    throw new BridgeRefusal('The datasource URL names no database; add one to the path, e.g. postgresql://localhost:5432/app.');
  }
  const name = target.database;
  let lastError: unknown;
  for (const maintenance of ['postgres', 'template1']) {
    const admin = { ...target, attempts: target.attempts.map((config) => ({ ...config, database: maintenance, options: undefined })) };
    let client;
    try {
      ({ client } = await openClient(admin));
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return name;
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw lastError;
}

/**
 * The adapter with `executeScript` sending the script to the server as one simple query, as
 * Prisma's native engine does: PostgreSQL's own parser splits it (so `DO $$ … $$` blocks,
 * dollar-quoted function bodies and semicolons in strings stay whole) and runs all of its
 * statements as one transaction, so a failing migration leaves nothing behind (unless the
 * script itself says BEGIN/COMMIT). `@prisma/adapter-pg` would split the script on every `;`
 * and run the pieces one by one.
 */
function wholeScripts(adapter: SqlDriverAdapter, url: string): SqlDriverAdapter {
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    startTransaction: (isolationLevel) => adapter.startTransaction(isolationLevel),
    getConnectionInfo: adapter.getConnectionInfo?.bind(adapter),
    dispose: () => adapter.dispose(),
    async executeScript(script: string) {
      // A connection of its own: the adapter's pool does not lend one out.
      const { client } = await openClient(pgTarget(url, process.env));
      try {
        await client.query(script);
      } catch (error) {
        throw asAdapterError(error);
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/** A server error as `@prisma/adapter-pg` reports it, so the engine words it as usual. */
function asAdapterError(error: unknown): unknown {
  const e = error as { code?: unknown; severity?: unknown; message?: unknown; detail?: string; column?: string; hint?: string };
  if (typeof e?.code !== 'string' || typeof e.severity !== 'string' || typeof e.message !== 'string') return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: e.code,
    severity: e.severity,
    message: e.message,
    detail: e.detail,
    column: e.column,
    hint: e.hint,
    originalCode: e.code,
    originalMessage: e.message,
  });
}

import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { WasmSchemaEngine } from 'orchestrate/bridge-support';
import type { DatasourceUrls } from './args.js';
import { BridgeRefusal, createPostgresDatabase, postgresFactory, SHADOW_REFUSAL } from './connections.js';
import { RpcError } from './json-rpc.js';
import type { BridgeLogger } from './log.js';

/**
 * What the bridge does with each JSON-RPC request of the Prisma CLI: pick (or start) a wasm
 * schema engine with the right connection, call the same-named method, and answer in the
 * native engine's shapes.
 *
 * Connections: a diff between schema files (`migrate diff --from-schema/--from-empty`) runs
 * on an engine with no database at all; requests that name a database (`db execute`,
 * `migrate deploy`, `--from-config-datasource`) run on `@prisma/adapter-pg` for that URL.
 * Shadow-database requests are refused up front.
 */
export interface BridgeHostOptions {
  /** `--datamodels` files as `[path, content]`. */
  datamodels: [string, string][] | undefined;
  datasource: DatasourceUrls;
  logger: BridgeLogger;
  /** Sends the engine→CLI `print` request and resolves once the CLI has answered. */
  print(content: string): Promise<void>;
}

export interface BridgeHost {
  handle(method: string, params: unknown): Promise<unknown>;
  dispose(): Promise<void>;
}

/** JSON-RPC error code of the native engine for user-facing errors. */
export const USER_FACING_ERROR = 4466;

interface Live {
  engine: WasmSchemaEngine;
  registry: ErrorRegistry | undefined;
  dispose(): Promise<void>;
}

interface ErrorRegistry {
  consumeError(id: number): { error: unknown } | undefined;
}

type Target = { tag: string; url?: string; files?: unknown };

const SHADOW_METHODS = new Set(['createMigration', 'devDiagnostic', 'evaluateDataLoss']);

/** Methods of the wasm `SchemaEngine` that run on the configured database as they are. */
const DATABASE_METHODS = new Set([
  'applyMigrations',
  'diagnoseMigrationHistory',
  'introspect',
  'introspectSql',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'reset',
  'schemaPush',
]);

export function createBridgeHost(options: BridgeHostOptions): BridgeHost {
  const engines = new Map<string, Promise<Live>>();
  const OFFLINE = '\u0000offline';

  const start = (key: string): Promise<Live> =>
    startEngine(key).catch((error: unknown) => {
      throw toRpcError(error, undefined);
    });

  const startEngine = async (key: string): Promise<Live> => {
    const [{ loadSchemaEngineRuntime, offlineFactory }, { bindMigrationAwareSqlAdapterFactory }] = await Promise.all([
      import('orchestrate/bridge-support'),
      import('@prisma/driver-adapter-utils'),
    ]);
    const runtimePromise = loadSchemaEngineRuntime();
    let factory: SqlMigrationAwareDriverAdapterFactory;
    let disposeFactory: () => Promise<void>;
    if (key === OFFLINE) {
      factory = offlineFactory(
        (what) => `This request needs a database connection (it tried: ${what}), but none is configured; set \`datasource.url\` in prisma.config.ts.`,
      );
      disposeFactory = async () => {};
    } else {
      const pg = await postgresFactory(key);
      factory = pg.factory;
      disposeFactory = pg.dispose;
    }
    const bound = bindMigrationAwareSqlAdapterFactory(factory);
    const registry = (bound as unknown as { errorRegistry?: ErrorRegistry }).errorRegistry;
    const runtime = await runtimePromise;
    try {
      const engine = await runtime.SchemaEngine.new({ datamodels: options.datamodels }, (line) => options.logger.engineLine(line), bound);
      return {
        engine,
        registry,
        async dispose() {
          try {
            engine.free();
          } finally {
            await disposeFactory();
          }
        },
      };
    } catch (error) {
      await disposeFactory();
      throw toRpcError(error, registry);
    }
  };

  const engineFor = (key: string): Promise<Live> => {
    let live = engines.get(key);
    if (!live) {
      live = start(key);
      engines.set(key, live);
      // A failed start is reported to the request that caused it; the next one may retry.
      live.catch(() => engines.delete(key));
    }
    return live;
  };

  const configuredUrl = (method: string): string => {
    const url = options.datasource.url;
    if (!url) throw refusal(`\`${method}\` needs a database connection, but none is configured; set \`datasource.url\` in prisma.config.ts (or pass --config).`);
    return url;
  };

  /** The URL of a `DatasourceParam` / `DbExecuteDatasourceType`: given inline, else the configured one. */
  const urlOf = (method: string, param: unknown): string => {
    const p = param as { tag?: string; url?: unknown } | undefined;
    if (p && (p.tag === 'ConnectionString' || p.tag === 'url') && typeof p.url === 'string' && p.url !== '') return p.url;
    return configuredUrl(method);
  };

  const call = async (key: string, method: string, params: unknown): Promise<unknown> => {
    const live = await engineFor(key);
    const fn = live.engine[method];
    if (typeof fn !== 'function') throw methodNotFound(method);
    try {
      const result = await (fn as (p: unknown) => Promise<unknown>).call(live.engine, params);
      // The native engine answers `{}` where the wasm build returns nothing.
      return result === undefined ? {} : result;
    } catch (error) {
      throw toRpcError(error, live.registry);
    }
  };

  return {
    async handle(method, params) {
      const p = (params ?? {}) as Record<string, unknown>;
      if (SHADOW_METHODS.has(method) || (method === 'diagnoseMigrationHistory' && p.optInToShadowDatabase === true)) {
        throw refusal(`\`prisma migrate dev\` (schema engine method \`${method}\`) ${SHADOW_REFUSAL}.`);
      }
      switch (method) {
        case 'diff':
          return diff(p);
        case 'dbExecute':
          return call(urlOf(method, p.datasourceType), method, params);
        case 'ensureConnectionValidity':
          return call(urlOf(method, p.datasource), method, params);
        case 'getDatabaseVersion': {
          const url = urlOf(method, p.datasource);
          const live = await engineFor(url);
          try {
            return await live.engine.version(params);
          } catch (error) {
            throw toRpcError(error, live.registry);
          }
        }
        case 'createDatabase': {
          try {
            return { databaseName: await createPostgresDatabase(urlOf(method, p.datasource)) };
          } catch (error) {
            throw toRpcError(error, undefined);
          }
        }
        case 'dropDatabase':
          throw refusal('orchestrate-schema-engine does not drop databases; drop it with your database tools (e.g. `dropdb`).');
        case 'debugPanic':
          throw new RpcError(USER_FACING_ERROR, 'An error happened. Check the data field for details.', {
            is_panic: true,
            message: 'This is the debugPanic artificial panic',
            backtrace: null,
          });
        default:
          if (!DATABASE_METHODS.has(method)) throw methodNotFound(method);
          return call(configuredUrl(method), method, params);
      }
    },
    async dispose() {
      const all = [...engines.values()];
      engines.clear();
      await Promise.allSettled(all.map(async (live) => (await live).dispose()));
    },
  };

  async function diff(p: Record<string, unknown>): Promise<unknown> {
    const sides = [p.from, p.to] as (Target | undefined)[];
    if (sides.some((s) => s?.tag === 'migrations')) {
      throw refusal(`A diff from or to a migrations folder ${SHADOW_REFUSAL}.`);
    }
    // Only a side that *is* a database needs one; schema files and `empty` need none.
    const dbSide = sides.find((s) => s?.tag === 'url' || s?.tag === 'schemaDatasource');
    const key = dbSide ? (dbSide.tag === 'url' && dbSide.url ? dbSide.url : configuredUrl('diff')) : OFFLINE;
    const result = (await call(key, 'diff', p)) as { exitCode: number; stdout: string | null };
    // The native engine prints through the CLI (a `print` request) and returns no stdout.
    const text = result.stdout ?? '';
    if (text !== '') await options.print(text.endsWith('\n') ? text.slice(0, -1) : text);
    return { exitCode: result.exitCode, stdout: null };
  }
}

export function refusal(message: string): RpcError {
  return new RpcError(USER_FACING_ERROR, 'An error happened. Check the data field for details.', { is_panic: false, message, backtrace: null });
}

function methodNotFound(method: string): RpcError {
  return new RpcError(-32601, 'Method not found', {
    is_panic: false,
    message: `orchestrate-schema-engine does not implement the JSON-RPC method \`${method}\`; run this command with Prisma's native schema engine.`,
    backtrace: null,
  });
}

const INTROSPECTION_FAILURE = /could not be deserialized/i;

/**
 * Connection errors reach the wasm engine without their P-code, but the CLI needs it: P1003
 * ("database does not exist") is what makes `migrate deploy` create the database first.
 * The messages are Prisma's own user-facing texts.
 */
const CONNECTION_ERRORS: [RegExp, string][] = [
  [/^Database `[^`]*` does not exist/, 'P1003'],
  [/^Can't reach database server/, 'P1001'],
  [/^Authentication failed/, 'P1000'],
  [/^User was denied access/, 'P1010'],
];

/**
 * Turns what the wasm engine (or an adapter inside it) threw into the native engine's
 * JSON-RPC error: `data.message` is what the CLI prints, `data.error_code` its P-code.
 */
export function toRpcError(error: unknown, registry: ErrorRegistry | undefined): RpcError {
  if (error instanceof RpcError) return error;
  let cause = error;
  const external = error instanceof Error ? /External error id#(\d+)/.exec(error.message) : null;
  if (external && registry) {
    const original = registry.consumeError(Number(external[1]));
    if (original) cause = original.error;
  }
  if (cause instanceof BridgeRefusal) return refusal(cause.message);
  const webAssembly = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly;
  const isPanic = cause instanceof webAssembly.RuntimeError;
  let message = cause instanceof Error ? cause.message : typeof cause === 'object' && cause !== null && 'message' in cause ? String(cause.message) : String(cause);
  message = message.trim();
  if (INTROSPECTION_FAILURE.test(message)) {
    const first = message.split('\n')[0]!.replace(/\.$/, '');
    message = `Prisma's wasm schema engine could not read the database's schema (${first}); introspection (\`db pull\`, \`db push\`, \`--from-config-datasource\`) needs Prisma's native schema engine.`;
  }
  const ownCode = (cause as { code?: unknown } | null)?.code;
  const code = typeof ownCode === 'string' && /^P\d{4}$/.test(ownCode) ? ownCode : CONNECTION_ERRORS.find(([pattern]) => pattern.test(message))?.[1];
  const data: Record<string, unknown> = { is_panic: isPanic, message };
  if (code) {
    data.meta = {};
    data.error_code = code;
  } else {
    data.backtrace = null;
  }
  return new RpcError(USER_FACING_ERROR, 'An error happened. Check the data field for details.', data);
}

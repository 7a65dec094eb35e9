import { RuntimeError, UsageError, messageOf } from '../errors.js';
import { redactUrl } from '../db/url.js';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffEngine, DiffSide } from '../plan/diff-engine.js';

// The port lives with the planner that uses it; the engines here implement it.
export type { DiffEngine, DiffSide } from '../plan/diff-engine.js';
export type { SchemaFile } from '../schema/compose.js';

export interface EngineOptions {
  /**
   * A PostgreSQL URL: the engine's one start-up query (server version) is answered by that
   * server. Without one it is answered offline; a diff needs no database either way.
   */
  url?: string;
  /** The datasource provider of the schemas diffed; SQLite needs no database at all. */
  provider?: 'postgresql' | 'sqlite';
}

const EMPTY_MARKER = '-- This is an empty migration.';

/** Normalises the engine's script output: the "empty migration" marker means no change. */
export function normaliseScript(stdout: string | null): string {
  const text = stdout ?? '';
  if (text.trim() === '' || text.trim() === EMPTY_MARKER) return '';
  return text;
}

const side = (s: DiffSide) => (s === 'empty' ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: s });

/**
 * Starts Prisma's schema engine in-process, once for a whole command.
 *
 * Its database connection only serves server-version detection, and is wrapped so that any
 * write fails: the engine is never given a `migrations`, `url` or `schemaDatasource` target.
 *
 * @example
 *   const engine = await startWasmEngine({});
 *   const sql = await engine.diff('empty', [{ path: 'schema.prisma', content }]);
 *   await engine.close();
 */
export async function startWasmEngine(options: EngineOptions): Promise<DiffEngine> {
  const [{ loadSchemaEngineRuntime }, offline, { bindMigrationAwareSqlAdapterFactory }] = await Promise.all([
    import('./wasm.js'),
    import('./offline.js'),
    import('@prisma/driver-adapter-utils'),
  ]);
  const runtimePromise = loadSchemaEngineRuntime();
  const sqlite = options.provider === 'sqlite';
  const refusal = (what: string) => `orchestrate refused a database request from the schema engine (${what}); a diff of two schemas needs no database.`;
  let guarded: SqlMigrationAwareDriverAdapterFactory & { disposeAll?: () => Promise<void> };
  if (sqlite) {
    guarded = offline.offlineFactory(refusal, 'sqlite');
  } else if (options.url) {
    const { clientConfigFor } = await import('../db/postgres.js');
    // Connection settings as libpq reads the URL (sslmode, PG* variables, ~/.pgpass), decided by one connection.
    const { config, error } = await clientConfigFor(options.url);
    if (error) {
      throw new RuntimeError(
        `Cannot start Prisma's schema engine against the database at ${redactUrl(options.url)} (${messageOf(error)}); check --url / DATABASE_URL, or unset both to diff without a database.`,
        { cause: error },
      );
    }
    // The server keeps the session read-only, and only the version queries reach it.
    const { readOnlyPgFactory } = await import('./adapters.js');
    guarded = offline.versionOnlyFactory(await readOnlyPgFactory({ ...config, max: 1 }), refusal);
  } else {
    // No database at all: the start-up query is answered here (test/revision-offline.test.ts
    // fails if an engine upgrade starts asking more).
    guarded = offline.offlineFactory(refusal);
  }
  const runtime = await runtimePromise;
  const closeDb = async () => {
    await guarded.disposeAll?.();
  };
  const bound = bindMigrationAwareSqlAdapterFactory(guarded);
  const registry = (bound as unknown as { errorRegistry?: ErrorRegistry }).errorRegistry;
  let engine;
  try {
    engine = await runtime.SchemaEngine.new(
      { datamodels: [['schema.prisma', `datasource db {\n  provider = "${sqlite ? 'sqlite' : 'postgresql'}"\n}\n`]] },
      // The engine's log lines (start-up, timings) are not shown; errors arrive as exceptions.
      () => {},
      bound,
    );
    // The engine connects lazily; make it connect now so an unreachable server fails here.
    // Without one there is nothing to reach (and version() would be one more question).
    if (options.url && !sqlite) await engine.version();
  } catch (error) {
    await closeDb();
    const where = sqlite ? 'no database (SQLite)' : options.url ? `the database at ${redactUrl(options.url)}` : 'no database (answered offline)';
    throw new RuntimeError(
      `Cannot start Prisma's schema engine against ${where} (${engineMessage(error, registry)}); check --url / DATABASE_URL, or unset both to diff without a database.`,
      { cause: error },
    );
  }
  const live = engine;
  return {
    name: 'wasm',
    async diff(from, to) {
      try {
        const result = await live.diff({
          from: side(from),
          to: side(to),
          script: true,
          exitCode: null,
          filters: { externalTables: [], externalEnums: [] },
        });
        return normaliseScript(result.stdout);
      } catch (error) {
        throw new UsageError(`Prisma's schema engine could not diff the schemas: ${engineMessage(error, registry)}`, { cause: error });
      }
    },
    async close() {
      try {
        live.free();
      } finally {
        await closeDb();
      }
    },
  };
}

/** The engine throws plain objects or Errors with JSON inside; pull out the human part. */
export interface ErrorRegistry {
  consumeError(id: number): { error: unknown } | undefined;
}

export function engineMessage(error: unknown, registry?: ErrorRegistry): string {
  return oneLine(rawEngineMessage(error, registry));
}

/** Engine and CLI messages span lines (code frames); errors here are one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim().replace(/\.$/, '');
}

function rawEngineMessage(error: unknown, registry?: ErrorRegistry): string {
  // Errors thrown by the driver adapter cross the engine as "External error id#N".
  const external = error instanceof Error ? /External error id#(\d+)/.exec(error.message) : null;
  const original = external && registry ? registry.consumeError(Number(external[1])) : undefined;
  if (original) return rawEngineMessage(original.error);
  if (error instanceof Error) {
    const m = error.message;
    try {
      const parsed = JSON.parse(m) as { message?: string; error?: string };
      return (parsed.message ?? parsed.error ?? m).trim();
    } catch {
      return m.trim();
    }
  }
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message).trim();
  return String(error);
}

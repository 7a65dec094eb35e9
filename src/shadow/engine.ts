/**
 * Prisma's schema engine over a shadow database: it reads what a replay produced, as Prisma's
 * `migrate diff --from-migrations` reads its own shadow database. The engine may only read (the
 * same guard as every other engine of this tool), and it never sees the user's database.
 */
import { RuntimeError, UsageError } from '../errors.js';
import type { DiffSide } from '../plan/diff-engine.js';
import type { SchemaFile } from '../schema/compose.js';
import type { ShadowDatabase } from './database.js';

export interface ShadowEngine {
  /**
   * The shadow as a Prisma schema: `files` (with the datasource) re-introspected, so that models
   * keep the names and the files they have there and new tables become new models.
   */
  introspect(files: SchemaFile[]): Promise<SchemaFile[]>;
  /** SQL from the shadow as it is to the schema `files` describe ('' when they match). */
  diffTo(files: SchemaFile[]): Promise<string>;
  /** SQL between two schemas (no database involved), as revision's engine computes it. */
  diff(from: DiffSide, to: DiffSide): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the in-process engine connected to a shadow database, with the shadow's provider.
 *
 * @example
 *   const engine = await startShadowEngine(replay.shadow);
 *   const sql = await engine.diffTo([{ path: 'prisma/schema.prisma', content }]);
 */
export async function startShadowEngine(shadow: ShadowDatabase): Promise<ShadowEngine> {
  const [{ loadSchemaEngineRuntime }, { readOnlyFactory }, { engineMessage, normaliseScript }, { bindMigrationAwareSqlAdapterFactory }] = await Promise.all([
    import('../engine/wasm.js'),
    import('../engine/adapters.js'),
    import('../engine/engine.js'),
    import('@prisma/driver-adapter-utils'),
  ]);
  const runtime = await loadSchemaEngineRuntime();
  const guarded = readOnlyFactory(await shadow.engineAdapter());
  let engine;
  try {
    engine = await runtime.SchemaEngine.new({ datamodels: [['schema.prisma', `datasource db {\n  provider = "${shadow.provider}"\n}\n`]] }, () => {}, bindMigrationAwareSqlAdapterFactory(guarded));
  } catch (error) {
    await guarded.disposeAll();
    throw new RuntimeError(`Cannot start Prisma's schema engine on the shadow database (${engineMessage(error)}).`, { cause: error });
  }
  const live = engine;
  const noFilters = { externalTables: [], externalEnums: [] };
  const engineFailed = (what: string, error: unknown) => new UsageError(`Prisma's schema engine could not ${what} the shadow database: ${engineMessage(error)}.`, { cause: error });
  return {
    async introspect(files) {
      try {
        const result = (await live.introspect({ schema: { files }, baseDirectoryPath: process.cwd(), force: false, compositeTypeDepth: -1, namespaces: null })) as {
          schema: { files: SchemaFile[] };
        };
        return result.schema.files;
      } catch (error) {
        throw engineFailed('introspect', error);
      }
    },
    async diffTo(files) {
      try {
        const result = await live.diff({ from: { tag: 'schemaDatasource', files, configDir: process.cwd() }, to: { tag: 'schemaDatamodel', files }, script: true, exitCode: null, filters: noFilters });
        return normaliseScript(result.stdout);
      } catch (error) {
        throw engineFailed('diff a schema against', error);
      }
    },
    async diff(from, to) {
      const side = (s: DiffSide) => (s === 'empty' ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: s });
      try {
        const result = await live.diff({ from: side(from), to: side(to), script: true, exitCode: null, filters: noFilters });
        return normaliseScript(result.stdout);
      } catch (error) {
        throw new UsageError(`Prisma's schema engine could not diff the schemas: ${engineMessage(error)}.`, { cause: error });
      }
    },
    async close() {
      try {
        live.free();
      } finally {
        await guarded.disposeAll();
      }
    },
  };
}

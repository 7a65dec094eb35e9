import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The subset of `@prisma/schema-engine-wasm`'s SchemaEngine this tool drives. */
export interface WasmSchemaEngine {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
  version(params?: unknown): Promise<string>;
  dbExecute(params: unknown): Promise<void>;
  introspect(params: unknown): Promise<unknown>;
  ensureConnectionValidity(params: unknown): Promise<unknown>;
  free(): void;
  [method: string]: unknown;
}

export interface WasmRuntime {
  SchemaEngine: {
    new: (options: { datamodels: [string, string][] | undefined }, log: (line: string) => void, adapter: object) => Promise<WasmSchemaEngine>;
  };
  version(): string;
}

interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: Record<string, unknown> }>;
}

/**
 * Loads Prisma's schema engine compiled to WebAssembly, once per process.
 *
 * The package's entry imports the `.wasm` file as an ES module, which Node rejects, so the
 * glue module is loaded on its own and the binary instantiated against it (as
 * `@prisma/internals` does for its own wasm loader).
 *
 * The glue holds one instance for the whole process (`__wbg_set_wasm`): a second instantiation
 * would swap it under every engine already running, which then fail with "unreachable". So the
 * runtime is kept beside the glue, per glue file, on `globalThis` rather than in this module:
 * two copies of this module in one process (two installs of orchestrate, a test runner that
 * evaluates modules again) share it instead of instantiating twice.
 */
export function loadSchemaEngineRuntime(): Promise<WasmRuntime> {
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const shared = globalThis as unknown as Record<symbol, Promise<WasmRuntime> | undefined>;
  const key = Symbol.for(`orchestrate.schema-engine-runtime:${gluePath}`);
  shared[key] ??= (async () => {
    const glue = await import(pathToFileURL(gluePath).href);
    const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
    // @types/node does not declare the WebAssembly global; its shape here is small and stable.
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = await wasm.compile(bytes);
    const instance = await wasm.instantiate(module, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue as WasmRuntime;
  })();
  return shared[key];
}

/** Version string of the bundled schema engine package, e.g. `7.10.0-4.0edf323…`. */
export async function schemaEngineVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const pkg = JSON.parse(await readFile(path.join(path.dirname(gluePath), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

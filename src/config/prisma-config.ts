import { statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

// The names Prisma 7 looks for, in its order (`findPrismaConfigFile` in @prisma/config). They are
// checked here with plain `stat` calls because importing @prisma/config costs ~400 ms, which a
// `migrate` in a container entrypoint should not pay when the project has no such file.
const CANDIDATES = [
  ...['prisma7.config', '.config/prisma7'].flatMap((base) => EXTENSIONS.map((ext) => base + ext)),
  ...['prisma.config', '.config/prisma', '.config/prisma.config'].flatMap((base) => [
    ...EXTENSIONS.map((ext) => base + ext),
    ...EXTENSIONS.map((ext) => `${base}/index${ext}`),
  ]),
];

/** The Prisma config file of a project root (`prisma.config.ts` and the other names Prisma 7 accepts), or null. */
export function findPrismaConfigFile(root: string): string | null {
  for (const candidate of CANDIDATES) {
    const file = path.join(root, candidate);
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
  }
  return null;
}

/** What orchestrate reads from a Prisma config file; paths are absolute. */
export interface PrismaConfigValues {
  url: string | null;
  /** `schema`: a schema file, or a folder of `.prisma` files (Prisma's multi-file schema). */
  schema: string | null;
  /** `migrations.path`. */
  migrationsPath: string | null;
}

type Loaded = { ok: true; values: PrismaConfigValues; urlProblem: string | null } | { ok: false; reason: string; cause: unknown };

// One command may need the file more than once: load (and run) it once per process.
const cache = new Map<string, Promise<Loaded>>();
const settled = new Map<string, Loaded>();

function load(root: string, file: string): Promise<Loaded> {
  let loaded = cache.get(file);
  if (!loaded) {
    loaded = loadFile(root, file).then((result) => {
      settled.set(file, result);
      return result;
    });
    cache.set(file, loaded);
  }
  return loaded;
}

async function loadFile(root: string, file: string): Promise<Loaded> {
  const { loadConfigFromFile } = await import('@prisma/config');
  const result = await loadConfigFromFile({ configFile: file, configRoot: root });
  if (result.error) {
    // Node's module errors append a "Require stack:" list; the first line says what is wrong.
    const reason = 'error' in result.error ? result.error.error.message.split('\n')[0]!.trim().replace(/\.$/, '') : 'the file was not found';
    return { ok: false, reason, cause: 'error' in result.error ? result.error.error : undefined };
  }
  // @prisma/config has made `schema` and `migrations.path` absolute (relative to the file).
  const schema = typeof result.config.schema === 'string' ? result.config.schema : null;
  const migrationsPath = typeof result.config.migrations?.path === 'string' ? result.config.migrations.path : null;
  const url = result.config.datasource?.url;
  const rel = path.relative(root, file) || file;
  if (url === undefined || url === null) return { ok: true, values: { url: null, schema, migrationsPath }, urlProblem: null };
  if (typeof url !== 'string' || url.trim() === '') {
    return { ok: true, values: { url: null, schema, migrationsPath }, urlProblem: `${rel}: datasource.url must be a non-empty connection string, e.g. "postgresql://user:password@localhost:5432/app".` };
  }
  return { ok: true, values: { url: url.trim(), schema, migrationsPath }, urlProblem: null };
}

/**
 * Loads a Prisma config file the way the Prisma 7 CLI does (`loadConfigFromFile` from
 * @prisma/config: TypeScript through jiti, `env()` helpers, `defineConfig`) and returns its
 * datasource URL, or null when it declares none.
 *
 * @example
 *   const file = findPrismaConfigFile(root);
 *   const url = file ? await prismaConfigUrl(root, file) : null;
 */
export async function prismaConfigUrl(root: string, file: string): Promise<string | null> {
  const loaded = await load(root, file);
  const rel = path.relative(root, file) || file;
  if (!loaded.ok) {
    throw new UsageError(`Cannot load the database URL from ${rel}: ${loaded.reason}; fix the file, or pass --url / set DATABASE_URL, which take precedence over it.`, { cause: loaded.cause });
  }
  if (loaded.urlProblem) throw new UsageError(loaded.urlProblem);
  return loaded.values.url;
}

/**
 * Loads the project's Prisma config file, if it has one, so that `prismaConfigPaths` can read
 * its `schema` and `migrations.path` synchronously. Settings are read synchronously everywhere,
 * while @prisma/config only loads asynchronously: entry points (the CLI, the public API) call
 * this first. A project without such a file pays nothing (a few `stat` calls).
 */
export async function preparePrismaConfig(root: string): Promise<void> {
  const file = findPrismaConfigFile(root);
  if (file) await load(root, file);
}

/**
 * The `schema` and `migrations.path` of the project's Prisma config file (null values when it
 * has none, or when there is no such file), as loaded by `preparePrismaConfig`.
 */
export function prismaConfigPaths(root: string): { file: string; schema: string | null; migrationsPath: string | null } | null {
  const file = findPrismaConfigFile(root);
  if (!file) return null;
  const loaded = settled.get(file);
  const rel = path.relative(root, file) || file;
  if (!loaded) throw new Error(`${rel} was not loaded: call preparePrismaConfig(root) before reading the settings.`);
  if (!loaded.ok) {
    throw new UsageError(
      `Cannot load ${rel}, which may name the schema and migrations folder: ${loaded.reason}; fix the file, or set "coreSchema" and "coreMigrations" in orchestrate.config.json (and pass --url or set DATABASE_URL) to do without it.`,
      { cause: loaded.cause },
    );
  }
  return { file, schema: loaded.values.schema, migrationsPath: loaded.values.migrationsPath };
}

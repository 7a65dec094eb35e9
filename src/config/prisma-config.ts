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

/**
 * Loads a Prisma config file the way the Prisma 7 CLI does (`loadConfigFromFile` from
 * @prisma/config: TypeScript through jiti, `env()` helpers, `defineConfig`) and returns its
 * datasource URL, or null when it declares none.
 *
 * @example
 *   const file = findPrismaConfigFile(root);
 *   const url = file ? await prismaConfigUrl(root, file) : null;
 */
export function prismaConfigUrl(root: string, file: string): Promise<string | null> {
  // One command may resolve its URL more than once; load (and run) the file once per process.
  let loaded = cache.get(file);
  if (!loaded) {
    loaded = loadUrl(root, file);
    cache.set(file, loaded);
  }
  return loaded;
}

const cache = new Map<string, Promise<string | null>>();

async function loadUrl(root: string, file: string): Promise<string | null> {
  const { loadConfigFromFile } = await import('@prisma/config');
  const rel = path.relative(root, file) || file;
  const result = await loadConfigFromFile({ configFile: file, configRoot: root });
  if (result.error) {
    // Node's module errors append a "Require stack:" list; the first line says what is wrong.
    const reason = 'error' in result.error ? result.error.error.message.split('\n')[0]!.trim().replace(/\.$/, '') : 'the file was not found';
    throw new UsageError(
      `Cannot load the database URL from ${rel}: ${reason}; fix the file, or pass --url / set DATABASE_URL, which take precedence over it.`,
      { cause: 'error' in result.error ? result.error.error : undefined },
    );
  }
  const url = result.config.datasource?.url;
  if (url === undefined || url === null) return null;
  if (typeof url !== 'string' || url.trim() === '') {
    throw new UsageError(`${rel}: datasource.url must be a non-empty connection string, e.g. "postgresql://user:password@localhost:5432/app".`);
  }
  return url.trim();
}

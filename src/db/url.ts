import path from 'node:path';
import { UsageError } from '../errors.js';

/** A connection URL as read by `parseDatabaseUrl`. */
export interface ParsedDatabaseUrl {
  url: URL;
  /** The host part, percent-decoded, without IPv6 brackets; '' when the URL has none. */
  host: string;
}

/**
 * A PostgreSQL connection URL, read with the WHATWG URL parser. libpq also accepts an empty host
 * after a user name (`postgresql://postgres@/db?host=/var/run/postgresql`), which the WHATWG
 * parser rejects: such a URL is read with a placeholder host, reported as ''. Null when even
 * that fails.
 */
export function parseDatabaseUrl(text: string): ParsedDatabaseUrl | null {
  const direct = tryUrl(text);
  if (direct) return { url: direct, host: hostOf(direct) };
  const withPlaceholder = tryUrl(text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*@)(?=[/?#]|$)/i, `$1${PLACEHOLDER_HOST}`));
  if (withPlaceholder?.hostname === PLACEHOLDER_HOST) return { url: withPlaceholder, host: '' };
  return null;
}

const PLACEHOLDER_HOST = 'orchestrate-placeholder.invalid';

function tryUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function hostOf(url: URL): string {
  return decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
}

/** Query parameters that carry a secret (libpq's `password` and the client key's `sslpassword`). */
const SECRET_PARAMS = ['password', 'sslpassword'];

/**
 * The URL with every password masked as `****`: the one in the user part and `?password=` /
 * `?sslpassword=`, also on socket URLs with an empty host. The one function behind every
 * database location shown in messages, `debug` and `--json`; what cannot be read as a URL is
 * not shown at all.
 *
 * @example
 *   redactUrl('postgresql://app:s3cret@db/app?password=x'); // 'postgresql://app:****@db/app?password=****'
 *   redactUrl('postgresql://postgres@/postgres?host=/var/run/postgresql'); // unchanged
 */
export function redactUrl(text: string): string {
  const parsed = parseDatabaseUrl(text);
  if (!parsed) return '<invalid URL>';
  const { url } = parsed;
  if (url.password) url.password = '****';
  let shown = url.toString();
  for (const name of SECRET_PARAMS) {
    // Replaced in the text: rewriting searchParams would re-encode every other parameter.
    if (url.searchParams.has(name)) shown = shown.replace(new RegExp(`([?&]${name}=)[^&#]*`, 'g'), '$1****');
  }
  return parsed.host === '' && url.hostname === PLACEHOLDER_HOST ? shown.replace(`@${PLACEHOLDER_HOST}`, '@') : shown;
}

/** Where a database URL came from, for messages. */
export interface DatabaseUrl {
  url: string;
  source: string;
}

/** What the database URL of a run is chosen from (plain values: the db layer knows no CLI flags). */
export interface UrlSources {
  /** Project root, where `prisma.config.ts` is looked for. */
  root: string;
  /** The `--url` flag as given; undefined when absent. */
  url: string | undefined;
  env: NodeJS.ProcessEnv;
}

/**
 * `--url`, else `DATABASE_URL`: undefined when neither is given. An empty value is a usage
 * error, never "no URL": an unset variable in a container must not silently pick the embedded
 * database.
 *
 * @example
 *   explicitDatabaseUrl({ url: undefined, env: { DATABASE_URL: 'postgresql://db/app' } }); // { url: 'postgresql://db/app', source: 'DATABASE_URL' }
 */
export function explicitDatabaseUrl(sources: Pick<UrlSources, 'url' | 'env'>): DatabaseUrl | undefined {
  if (sources.url !== undefined) {
    if (sources.url.trim() === '') throw new UsageError('--url is empty; pass a postgresql://user:password@host:5432/database URL, or leave --url out to use DATABASE_URL.');
    return { url: sources.url.trim(), source: '--url' };
  }
  const value = sources.env.DATABASE_URL;
  if (value === undefined) return undefined;
  if (value.trim() === '') {
    throw new UsageError('DATABASE_URL is set but empty; set it to a postgresql://user:password@host:5432/database URL, or unset it to use the embedded database.');
  }
  return { url: value.trim(), source: 'DATABASE_URL' };
}

/**
 * The database URL of a run: `--url`, else `DATABASE_URL`, else the datasource URL of
 * `prisma.config.ts`. Undefined means "use the embedded database".
 *
 * @example
 *   await resolveDatabaseUrl({ root, url: undefined, env: process.env }); // { url: 'postgresql://app@db:5432/app', source: 'DATABASE_URL' }
 */
export async function resolveDatabaseUrl(sources: UrlSources): Promise<DatabaseUrl | undefined> {
  return explicitDatabaseUrl(sources) ?? prismaConfigDatabaseUrl(sources.root);
}

/**
 * The datasource URL of the project's `prisma.config.ts`, read the way Prisma 7 reads it. Only
 * consulted when neither --url nor DATABASE_URL is set (so the module is imported only then), and
 * @prisma/config is only loaded when the file exists: a plain `migrate` does not pay for it.
 */
async function prismaConfigDatabaseUrl(root: string): Promise<DatabaseUrl | undefined> {
  const { findPrismaConfigFile, prismaConfigUrl } = await import('../config/prisma-config.js');
  const file = findPrismaConfigFile(root);
  if (file === null) return undefined;
  const url = await prismaConfigUrl(root, file);
  if (url === null) return undefined;
  const source = path.relative(root, file) || file;
  if (url.trim() === '') throw new UsageError(`${source} sets an empty datasource URL; set it to a postgresql://user:password@host:5432/database URL, or remove it to use the embedded database.`);
  return { url, source };
}

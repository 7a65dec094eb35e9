import { existsSync } from 'node:fs';
import path from 'node:path';
import { RuntimeError, UsageError, databaseErrorFields } from '../errors.js';
import type { Driver } from './driver.js';
import { connectPostgres } from './postgres.js';
import type { Provider } from '../project/provider.js';
import { redactUrl, resolveDatabaseUrl, type UrlSources } from './url.js';

export const EMBEDDED_DIR = '.orchestrate/pglite';
export const EMBEDDED_LOCK = '.orchestrate/pglite.lock';

/**
 * Where a run's database comes from, as plain values: the project root, the `--url` flag as
 * given, the environment (DATABASE_URL, PG* variables, HOME), and where progress lines go.
 */
export interface DatabaseSource extends UrlSources {
  /** One progress line for the user (the CLI writes it to stderr). */
  info(line: string): void;
}

export interface OpenOptions {
  /** Lock key of the PostgreSQL advisory lock (settings.lockKey). */
  lockKey: number;
  /** Retry the first connection this many seconds (`--wait`); 0 or undefined: one attempt. */
  waitSeconds?: number;
  /** Where `waitSeconds` came from, named in messages: `--wait` (default) or `ORCHESTRATE_WAIT`. */
  waitSource?: string;
  /**
   * Reading only: an embedded database that does not exist yet is not created (returns null,
   * which callers treat as "nothing applied").
   */
  readOnly?: boolean;
  /** The project's provider (`projectProvider`): which URLs fit, and which embedded database. */
  provider?: Provider;
  /**
   * Give up waiting for the embedded database after this long (`--lock-timeout`): its lock is
   * the lock file taken when it opens, not the server's advisory lock.
   */
  lockTimeoutMs?: number;
}

/** What the run talks to, decided before connecting. */
export type DatabaseTarget =
  | { kind: 'url'; url: string; source: string; provider: 'postgresql' }
  | { kind: 'embedded'; dataDir: string; lockFile: string }
  | { kind: 'sqlite'; file: string; source: string; embedded: boolean };

export async function databaseTarget(source: UrlSources, provider: Provider = 'postgresql'): Promise<DatabaseTarget> {
  const resolved = await resolveDatabaseUrl(source);
  const scheme = resolved && /^([a-z][a-z0-9+.-]*):/i.exec(resolved.url)?.[1]?.toLowerCase();
  if (provider === 'sqlite' || scheme === 'file') {
    const { sqliteTarget } = await import('./sqlite-target.js');
    return sqliteTarget(source.root, resolved, provider);
  }
  if (!resolved) {
    return { kind: 'embedded', dataDir: path.join(source.root, EMBEDDED_DIR), lockFile: path.join(source.root, EMBEDDED_LOCK) };
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new UsageError(
      scheme
        ? `${resolved.source} is a "${scheme}:" URL (${redactUrl(resolved.url)}), but only PostgreSQL is supported; use a postgresql://user:password@host:5432/database URL, or unset it to use the embedded database.`
        : `${resolved.source} is not a URL; use a postgresql://user:password@host:5432/database URL, or unset it to use the embedded database.`,
    );
  }
  return { kind: 'url', url: resolved.url, source: resolved.source, provider: 'postgresql' };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Errors that waiting can cure: the server is not there yet (refused, no socket file, host not
 * resolvable yet in a container network), went away (reset, closed), is starting up or shutting
 * down (57P03), is full (53300), or did not answer in time. Anything else (authentication,
 * certificates, a missing database, bad settings) fails at once, --wait or not.
 */
const CURABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', '57P03', '53300']);

export function isCurableByWaiting(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isCurableByWaiting);
  const { code, message } = databaseErrorFields(error);
  if (code !== undefined) return CURABLE_CODES.has(code);
  return /^Connection terminated/.test(message);
}

/** The fix to suggest for a connection failure, by its kind. */
function connectionFix(error: unknown, waiting: boolean, waitSource = '--wait'): string {
  const { code, message } = databaseErrorFields(error);
  if (code === '28P01' || /password/i.test(message)) return 'check the user name and password (in the URL, PGPASSWORD or ~/.pgpass)';
  if (code === '28000') return "check the user name, and that the server's pg_hba.conf allows this connection (with or without TLS, see sslmode)";
  if (code === '3D000') return 'check the database name in the URL, or create the database';
  if (/does not support SSL/.test(message)) return 'the server has TLS turned off: use sslmode=prefer or sslmode=disable, or turn ssl on in the server';
  if (/certificate|self[- ]signed|altnames|SSL|TLS/i.test(`${code ?? ''} ${message}`)) {
    return 'check sslmode and sslrootcert (sslmode=require encrypts without verifying the certificate; verify-ca and verify-full need the CA in sslrootcert)';
  }
  if (isCurableByWaiting(error)) {
    return waiting ? `check that the server is running and reachable, or raise ${waitSource}` : 'check that the server is running and that the URL is right, or pass --wait <seconds> to wait for it';
  }
  return 'check the URL and the server';
}

/**
 * Opens the run's database: the URL's server, or the embedded PGlite folder (announced with one
 * line). With `waitSeconds`, failures that waiting can cure are retried until the deadline.
 */
export async function openDatabase(source: DatabaseSource, options: OpenOptions): Promise<Driver | null> {
  const target = await databaseTarget(source, options.provider);
  if (target.kind === 'sqlite') {
    const { openSqliteTarget } = await import('./sqlite-target.js');
    return openSqliteTarget(source.root, target, options, source);
  }
  if (target.kind === 'embedded') {
    const relative = path.relative(source.root, target.dataDir) || target.dataDir;
    if (options.readOnly && !existsSync(path.join(target.dataDir, 'PG_VERSION'))) {
      source.info(`No embedded database in ${relative} yet (set DATABASE_URL or --url to use a server).`);
      return null;
    }
    source.info(`Using the embedded PostgreSQL database in ${relative} (set DATABASE_URL or --url to use a server).`);
    const { openPglite } = await import('./pglite.js');
    try {
      return await openPglite(target.dataDir, target.lockFile, relative, (holder) => source.info(`Waiting for ${holder}, which is using the embedded database...`), {
        timeoutMs: options.lockTimeoutMs,
      });
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError(
        `Cannot open the embedded database in ${target.dataDir} (${databaseErrorFields(error).message}); if it is damaged, delete that folder to start with an empty one.`,
        { cause: error },
      );
    }
  }

  const waitMs = Math.max(0, (options.waitSeconds ?? 0) * 1000);
  const started = Date.now();
  const deadline = started + waitMs;
  let attempts = 0;
  let announced = false;
  for (;;) {
    attempts++;
    try {
      // With --wait, an attempt never runs far past the deadline (nor past connect_timeout).
      const maxConnectMs = waitMs > 0 ? Math.max(1000, deadline - Date.now()) : undefined;
      return await connectPostgres(target.url, { lockKey: options.lockKey, env: source.env, maxConnectMs });
    } catch (error) {
      if (error instanceof UsageError) throw error;
      const reason = describeConnectionError(error);
      const curable = isCurableByWaiting(error);
      if (waitMs > 0 && curable && Date.now() + 250 < deadline) {
        if (!announced) {
          announced = true;
          source.info(`Waiting up to ${options.waitSeconds} s for the database at ${redactUrl(target.url)} (${reason})...`);
        }
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
        continue;
      }
      const waited = waitMs > 0 && curable ? ` after ${attempts} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s` : '';
      throw new RuntimeError(`Cannot connect to the database at ${redactUrl(target.url)} (from ${target.source})${waited}: ${reason}; ${connectionFix(error, waitMs > 0, options.waitSource)}.`, {
        cause: error,
      });
    }
  }
}

/** The error's own words on one line, without a trailing period (node-postgres' and Node's messages). */
export function describeConnectionError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return describeConnectionError(error.errors[0]);
  }
  const { message, code } = databaseErrorFields(error);
  const text = message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (text) return text;
  return code ?? 'unknown error';
}

/** Opens, runs `fn`, and always closes (which also releases the lock). */
export async function withDatabase<T>(source: DatabaseSource, options: OpenOptions, fn: (db: Driver | null) => Promise<T>): Promise<T> {
  const db = await openDatabase(source, options);
  try {
    return await fn(db);
  } finally {
    await db?.close();
  }
}

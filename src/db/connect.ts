import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../commands/context.js';
import { RuntimeError, UsageError, databaseErrorFields } from '../errors.js';
import type { Driver } from './driver.js';
import { connectPostgres } from './postgres.js';
import { redactUrl, resolveDatabaseUrl } from './url.js';

export const EMBEDDED_DIR = '.orchestrate/pglite';
export const EMBEDDED_LOCK = '.orchestrate/pglite.lock';

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
}

/** What the run talks to, decided before connecting. */
export type DatabaseTarget =
  | { kind: 'url'; url: string; source: string; provider: 'postgresql' }
  | { kind: 'embedded'; dataDir: string; lockFile: string };

export async function databaseTarget(ctx: Context): Promise<DatabaseTarget> {
  const resolved = await resolveDatabaseUrl(ctx);
  if (!resolved) {
    return { kind: 'embedded', dataDir: path.join(ctx.root, EMBEDDED_DIR), lockFile: path.join(ctx.root, EMBEDDED_LOCK) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(resolved.url)?.[1]?.toLowerCase();
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

/** Errors that will not go away by waiting: wrong password, no such role, bad URL. */
function isPermanent(error: unknown): boolean {
  const { code, message } = databaseErrorFields(error);
  return code === '28P01' || code === '28000' || /Invalid URL|password must be a string/i.test(message);
}

/**
 * Opens the run's database: the URL's server, or the embedded PGlite folder (announced with one
 * line). With `waitSeconds`, connection failures are retried until the deadline.
 */
export async function openDatabase(ctx: Context, options: OpenOptions): Promise<Driver | null> {
  const target = await databaseTarget(ctx);
  if (target.kind === 'embedded') {
    const relative = path.relative(ctx.root, target.dataDir) || target.dataDir;
    if (options.readOnly && !existsSync(path.join(target.dataDir, 'PG_VERSION'))) {
      ctx.reporter.info(`No embedded database in ${relative} yet (set DATABASE_URL or --url to use a server).`);
      return null;
    }
    ctx.reporter.info(`Using the embedded PostgreSQL database in ${relative} (set DATABASE_URL or --url to use a server).`);
    const { openPglite } = await import('./pglite.js');
    try {
      return await openPglite(target.dataDir, target.lockFile, relative, (holder) =>
        ctx.reporter.info(`Waiting for ${holder}, which is using the embedded database...`),
      );
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
    const remaining = deadline - Date.now();
    try {
      // Without --wait, give an unresponsive host 10 s; with it, never overrun the deadline by much.
      return await connectPostgres(target.url, options.lockKey, waitMs > 0 ? Math.max(1000, Math.min(remaining, 10_000)) : 10_000);
    } catch (error) {
      const reason = describeConnectionError(error);
      if (waitMs > 0 && !isPermanent(error) && Date.now() + 250 < deadline) {
        if (!announced) {
          announced = true;
          ctx.reporter.info(`Waiting up to ${options.waitSeconds} s for the database at ${redactUrl(target.url)} (${reason})...`);
        }
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
        continue;
      }
      const waited = waitMs > 0 ? ` after ${attempts} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s` : '';
      const fix = isPermanent(error)
        ? 'check the user name and password in the URL'
        : waitMs > 0
          ? `check that the server is running and reachable, or raise ${options.waitSource ?? '--wait'}`
          : 'check that the server is running and that the URL is right, or pass --wait <seconds> to wait for it';
      throw new RuntimeError(`Cannot connect to the database at ${redactUrl(target.url)} (from ${target.source})${waited}: ${reason}; ${fix}.`, {
        cause: error,
      });
    }
  }
}

function describeConnectionError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return describeConnectionError(error.errors[0]);
  }
  const { message, code } = databaseErrorFields(error);
  const text = message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (text) return text;
  return code ?? 'unknown error';
}

/** Opens, runs `fn`, and always closes (which also releases the lock). */
export async function withDatabase<T>(ctx: Context, options: OpenOptions, fn: (db: Driver | null) => Promise<T>): Promise<T> {
  const db = await openDatabase(ctx, options);
  try {
    return await fn(db);
  } finally {
    await db?.close();
  }
}

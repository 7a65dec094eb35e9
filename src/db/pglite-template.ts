/**
 * PGlite's fresh data directory, kept once per user and PGlite version. Most of a new PGlite's
 * start is PostgreSQL's initdb, the same work every time: a new embedded database or shadow
 * loads a copy of that directory instead, in about a third of the time.
 *
 * The copy lives in the user's cache folder (`$XDG_CACHE_HOME/orchestrate`, else
 * `~/.cache/orchestrate`), never in a project and never in a folder other users can write to:
 * a database starts from it. Without a writable cache folder every database starts the slow
 * way; a copy that was cut short, changed or cannot be loaded is deleted and made again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Extension, PGlite } from '@electric-sql/pglite';
import { removeAbandoned } from './abandoned.js';

/** The folder of the cached copy, or null when the user has no home to keep it in. */
function pgliteCacheDir(): string | null {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'orchestrate');
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return null;
  }
  return home && path.isAbsolute(home) && home !== '/' ? path.join(home, '.cache', 'orchestrate') : null;
}

/** The PGlite version in use: the copy of another version is never loaded. */
function pgliteVersion(): string {
  const require = createRequire(import.meta.url);
  const { version } = JSON.parse(readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string };
  return version;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 32);

/**
 * The copy's file is named after its checksum (`pglite-<version>-<sha256>.tar`), so a copy that
 * was cut short or changed since is recognised and never loaded; it is deleted.
 */
function readCopy(dir: string, prefix: string): { bytes: Uint8Array; file: string } | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.tar'));
  } catch {
    return null;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const bytes = readFileSync(file);
      if (name === `${prefix}${sha256(bytes)}.tar`) return { bytes, file };
    } catch {
      // Unreadable: removed below like a damaged one.
    }
    rmSync(file, { force: true });
  }
  return null;
}

/** Saves `db`'s data directory, which must be fresh, as the copy; a failure only costs speed. */
async function save(db: PGlite, dir: string, prefix: string): Promise<void> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Copies killed processes were writing (`<prefix><pid>.partial`): 28 MB each.
    removeAbandoned(dir, prefix, '.partial');
    const bytes = new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
    // Written beside its final name and renamed: a concurrent reader never sees half of it.
    const partial = path.join(dir, `${prefix}${process.pid}.partial`);
    writeFileSync(partial, bytes, { mode: 0o600 });
    renameSync(partial, path.join(dir, `${prefix}${sha256(bytes)}.tar`));
  } catch {
    // Only a cache: the next database starts the slow way again.
  }
}

/**
 * A new PGlite with an empty database: in memory, or in `dataDir`, which must not exist yet
 * (a failed load leaves it removed).
 *
 * @example
 *   const db = await createFreshPglite(PGlite, { extensions });            // a shadow
 *   const db = await createFreshPglite(PGlite, { dataDir: scratch });      // an embedded database
 */
export async function createFreshPglite(
  PGliteClass: typeof PGlite,
  options: { dataDir?: string; extensions?: Record<string, Extension>; cacheDir?: string | null } = {},
): Promise<PGlite> {
  const dir = options.cacheDir !== undefined ? options.cacheDir : pgliteCacheDir();
  const prefix = `pglite-${pgliteVersion()}-`;
  const base = { ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}), ...(options.extensions ? { extensions: options.extensions } : {}) };
  const copy = dir === null ? null : readCopy(dir, prefix);
  if (copy !== null) {
    try {
      return await PGliteClass.create({ ...base, loadDataDir: new Blob([copy.bytes]) });
    } catch {
      // A copy this PGlite cannot start from (its checksum held): start the slow way, save anew.
      if (options.dataDir !== undefined) rmSync(options.dataDir, { recursive: true, force: true });
      rmSync(copy.file, { force: true });
    }
  }
  const db = await PGliteClass.create(base);
  if (dir !== null) await save(db, dir, prefix);
  return db;
}

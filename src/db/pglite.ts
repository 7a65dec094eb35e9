import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { RuntimeError, databaseErrorFields } from '../errors.js';
import type { Dialect, Driver, Row } from './driver.js';
import { acquireFileLock, FileLockTimeout, type FileLock } from './file-lock.js';
import { postgresDialect } from './postgres-dialect.js';
import { extensionsCreatedBy, pgliteExtensionsFor, pgliteShips, unavailableExtensionError } from './pglite-extensions.js';
import { ensureStateDir } from '../project/state-dir.js';
import { createFreshPglite } from './pglite-template.js';

/**
 * PGlite starts with search_path `pg_catalog` and then sets `public` for the session, so a
 * RESET ALL alone would leave it at `pg_catalog`: set it back after the reset.
 */
export const pgliteDialect: Dialect = { ...postgresDialect, resetSession: `${postgresDialect.resetSession} SET search_path TO public;` };

/**
 * The extensions an embedded database was last opened with, kept in its own folder (PostgreSQL
 * ignores files it does not know there) so that it goes away with the database.
 */
const EXTENSIONS_RECORD = 'orchestrate-extensions.json';

function recordedExtensions(dataDir: string): string[] {
  try {
    const names: unknown = JSON.parse(readFileSync(path.join(dataDir, EXTENSIONS_RECORD), 'utf8'));
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    // No record (a database from before extensions were loaded): the catalog check below finds them.
    return [];
  }
}

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a project folder.
 *
 * PGlite runs inside one process and must never open its folder twice, so the lock is a lock
 * file taken before the folder is opened and held until it is closed; the advisory lock of a
 * server would protect nothing here. `lock()` therefore has nothing left to do.
 *
 * PGlite finds an extension only when it was passed to its constructor: the database is opened
 * with the extensions it has (recorded, and checked against `pg_extension`), and `prepareFor`
 * reopens it, between two migrations, with those a run's scripts create.
 */
export async function openPglite(dataDir: string, lockFile: string, location: string, onWait: (holder: string) => void, options: { timeoutMs?: number } = {}): Promise<Driver> {
  ensureStateDir(path.dirname(dataDir));
  let fileLock: FileLock;
  try {
    fileLock = await acquireFileLock(lockFile, onWait, options);
  } catch (error) {
    if (!(error instanceof FileLockTimeout)) throw error;
    const who = error.holder ? `process ${error.holder.pid} on ${error.holder.host}` : 'another process';
    throw new RuntimeError(
      `Gave up waiting for the embedded database after ${(error.waitedMs / 1000).toFixed(1)} s: ${lockFile} is held by ${who}; let that run finish, or allow a longer wait (the lock file of a process that is gone is taken over without help).`,
      { cause: error },
    );
  }
  let PGliteClass: typeof PGlite;
  let db: PGlite;
  let loaded: string[] = [];
  const start = async (names: string[]): Promise<PGlite> => {
    const { extensions, loaded: now } = pgliteExtensionsFor(names);
    loaded = now;
    return PGliteClass.create({ dataDir, extensions });
  };
  /** Opens with `names` plus whatever the database has installed that PGlite ships. */
  const open = async (names: string[]): Promise<PGlite> => {
    let opened = await start(names);
    const installed = (await opened.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname);
    const missing = pgliteExtensionsFor(installed).loaded.filter((name) => !loaded.includes(name));
    if (missing.length > 0) {
      await opened.close();
      opened = await start([...loaded, ...missing]);
    }
    if (loaded.join() !== recordedExtensions(dataDir).sort().join()) writeFileSync(path.join(dataDir, EXTENSIONS_RECORD), `${JSON.stringify(loaded)}\n`);
    return opened;
  };
  try {
    ({ PGlite: PGliteClass } = await import('@electric-sql/pglite'));
    removeScratchFolders(dataDir);
    if (!existsSync(dataDir)) await createInScratch(PGliteClass, dataDir);
    else if (!existsSync(path.join(dataDir, 'PG_VERSION'))) throw damaged(dataDir, 'it has no PG_VERSION file');
    try {
      db = await open(recordedExtensions(dataDir));
    } catch (error) {
      throw damaged(dataDir, firstSentence(databaseErrorFields(error).message), error);
    }
  } catch (error) {
    fileLock.release();
    throw error;
  }
  let alive = true;
  return {
    dialect: pgliteDialect,
    location,
    embedded: true,
    schema: 'public',
    get alive() {
      return alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return result.rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
    async prepareFor(scripts: { sql: string; where: string }[]) {
      const wanted: string[] = [];
      for (const { sql, where } of scripts) {
        for (const name of extensionsCreatedBy([sql])) {
          if (!pgliteShips(name)) throw unavailableExtensionError(name, where);
          if (!loaded.includes(name)) wanted.push(name);
        }
      }
      if (wanted.length === 0) return;
      await db.close();
      try {
        db = await open([...loaded, ...wanted]);
      } catch (error) {
        // The database is closed now: nothing may use it, and the lock file goes.
        alive = false;
        fileLock.release();
        throw new RuntimeError(
          `Could not open the embedded database in ${dataDir} again with the PostgreSQL extension(s) ${wanted.join(', ')} (${firstSentence(databaseErrorFields(error).message)}); nothing of this run was applied yet, so run it again, or set DATABASE_URL to use a server.`,
          { cause: error },
        );
      }
    },
    transaction: (fn) => pgliteTransaction(db, fn),
    async lock() {
      // Held since open (see above).
    },
    async unlock() {},
    async cancel() {
      // PGlite runs a statement on this thread: by the time this runs, no statement is running.
      // The caller stops before the next one and rolls back; close() releases the lock file.
    },
    async serverVersion() {
      const [row] = (await db.query<{ server_version: string }>('SHOW server_version')).rows;
      return `${row?.server_version ?? 'unknown'} (PGlite)`;
    },
    async close() {
      if (!alive) return;
      alive = false;
      try {
        await db.close();
      } finally {
        fileLock.release();
      }
    },
  };
}

/** Scratch folders of a first run sit beside the data folder, so that renaming them is atomic. */
const scratchPrefix = (dataDir: string) => `${path.basename(dataDir)}.creating-`;

/**
 * Creates the database in a scratch folder and renames it into place once PGlite has finished
 * initialising it, so that a first run interrupted by Ctrl-C or SIGKILL leaves no data folder
 * at all (the next run starts over) rather than one PGlite cannot open.
 */
async function createInScratch(PGliteClass: typeof PGlite, dataDir: string): Promise<void> {
  const scratch = path.join(path.dirname(dataDir), `${scratchPrefix(dataDir)}${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    const created = await createFreshPglite(PGliteClass, { dataDir: scratch });
    await created.close();
    renameSync(scratch, dataDir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}

/** Scratch folders of interrupted first runs; only called under the lock, so none is in use. */
function removeScratchFolders(dataDir: string): void {
  const prefix = scratchPrefix(dataDir);
  for (const name of readdirSync(path.dirname(dataDir))) {
    if (name.startsWith(prefix)) rmSync(path.join(path.dirname(dataDir), name), { recursive: true, force: true });
  }
}

function firstSentence(message: string): string {
  // PGlite's abort message goes on about build flags after its first sentence.
  return message.split(/(?<=[.)])\s/, 1)[0]!.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}

function damaged(dataDir: string, reason: string, cause?: unknown): RuntimeError {
  return new RuntimeError(
    `The embedded database in ${dataDir} is damaged and cannot be opened (${reason}); delete that folder (\`rm -rf ${dataDir}\`) to start again with an empty database, or set DATABASE_URL to use a server.`,
    { cause },
  );
}

/**
 * Runs `fn` between BEGIN and COMMIT on a PGlite, rolling back when it throws (PGlite has one
 * session: the statements `fn` sends are in the transaction).
 *
 * @example
 *   await pgliteTransaction(db, async () => { await db.exec(script); });
 */
export async function pgliteTransaction<T>(db: PGlite, fn: () => Promise<T>): Promise<T> {
  await db.exec('BEGIN');
  try {
    const value = await fn();
    await db.exec('COMMIT');
    return value;
  } catch (error) {
    await db.exec('ROLLBACK').catch(() => {});
    throw error;
  }
}

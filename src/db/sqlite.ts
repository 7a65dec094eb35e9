import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client, InValue } from '@libsql/client';
import { RuntimeError, UsageError } from '../errors.js';
import type { Driver, LockHolder, LockOptions, Row } from './driver.js';
import { acquireFileLock, FileLockTimeout, type FileLock, type LockHolder as FileLockHolder } from './file-lock.js';
import { splitSqliteStatements } from './split-sqlite.js';
import { codeOf } from './split.js';
import { sqliteDialect } from './sqlite-dialect.js';
import { ensureStateDir } from '../project/state-dir.js';

/** Where a sqlite project keeps its database when no URL is given, under the project root. */
export const SQLITE_DEFAULT_FILE = '.orchestrate/sqlite/dev.db';

/**
 * The database file of a `file:` URL. A relative path is relative to the project root, where
 * `prisma.config.ts` lives: Prisma 7 resolves datasource paths relative to that file
 * (prisma/orm#28514), no longer to the schema. Query parameters (`?connection_limit=1`) are
 * Prisma's and are ignored.
 *
 * @example
 *   sqliteFileOf('file:./dev.db', '/srv/app'); // '/srv/app/dev.db'
 */
export function sqliteFileOf(url: string, root: string): string {
  let rest = url.replace(/^file:/i, '');
  const query = rest.indexOf('?');
  if (query !== -1) rest = rest.slice(0, query);
  // file:///abs/path and file://localhost/abs/path
  if (rest.startsWith('//')) rest = rest.replace(/^\/\/[^/]*/, '');
  if (rest === '') throw new UsageError(`${url} names no database file; use e.g. file:./dev.db (relative to the project root) or file:/absolute/path.db.`);
  return path.resolve(root, rest);
}

/** The lock file beside a database file, held by the process that migrates it. */
export const sqliteLockFile = (file: string) => `${file}.orchestrate-lock`;

/** A statement SQLite rejected, with where it starts in the script that was run. */
export class SqliteStatementError extends Error {
  readonly code: string;
  /** 1-based offset of the failing statement in the script, as PostgreSQL reports a position. */
  readonly position: number;
  constructor(message: string, code: string, position: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqliteStatementError';
    this.code = code;
    this.position = position;
  }
}

interface LibsqlErrorShape {
  message?: string;
  code?: string;
  extendedCode?: string;
}

/** libsql prefixes its messages with the code ("SQLITE_ERROR: no such table: x"); keep SQLite's words. */
function sqliteMessage(error: unknown): { message: string; code: string } {
  const e = (error ?? {}) as LibsqlErrorShape;
  const code = e.extendedCode ?? e.code ?? 'SQLITE_ERROR';
  const message = String(e.message ?? error).replace(/^SQLITE_[A-Z_]+:\s*/, '');
  return { message, code };
}

const FOREIGN_KEY_CHECK = /^PRAGMA\s+(?:"?main"?\.)?foreign_key_check\b/i;

/**
 * Opens an SQLite database file through libsql. The migration lock is a lock file beside the
 * database, taken by `lock()` and held until `close()`; each migration also runs in
 * `BEGIN IMMEDIATE`, so an application writing meanwhile waits (busy timeout) instead of
 * interleaving. Advisory locks do not exist in SQLite.
 */
export async function openSqlite(file: string, location: string, defaultFile: boolean): Promise<Driver> {
  if (defaultFile) ensureStateDir(path.dirname(file));
  else if (!existsSync(path.dirname(file))) {
    throw new UsageError(`The folder of the SQLite database ${file} does not exist; create it, or point the file: URL at an existing folder.`);
  }
  const { createClient } = await import('@libsql/client');
  // A file URL, percent-encoded: libsql decodes `%xx` and rejects `#` in a bare `file:` path.
  const client: Client = createClient({ url: pathToFileURL(file).href });
  let fileLock: FileLock | null = null;
  let alive = true;
  try {
    // Readers (status) meet a migration's write lock only for the moment of its COMMIT.
    await client.execute('PRAGMA busy_timeout = 10000');
  } catch (error) {
    client.close();
    throw new Error(sqliteMessage(error).message, { cause: error });
  }

  const run = async (sql: string, args: InValue[] = []) => {
    try {
      return await client.execute({ sql, args });
    } catch (error) {
      const { message, code } = sqliteMessage(error);
      throw new SqliteStatementError(message, code, 1, { cause: error });
    }
  };

  const driver: Driver = {
    dialect: sqliteDialect,
    location,
    // In-process: statements run on this thread, so the runner yields between them to notice
    // Ctrl-C (a statement that is running finishes first; libsql cannot be interrupted).
    embedded: true,
    // SQLite's one schema of a database file.
    schema: 'main',
    get alive() {
      return alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      // SQLite has no arrays: an array parameter travels as JSON (read with json_each).
      const args = params.map((p) => (Array.isArray(p) ? JSON.stringify(p) : (p as InValue)));
      const result = await run(sql, args);
      return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]]))) as T[];
    },
    async exec(script: string) {
      // libsql runs only the first statement of a string: run them one by one.
      for (const statement of splitSqliteStatements(script)) {
        let rows;
        try {
          rows = (await client.execute(statement.text)).rows;
        } catch (error) {
          const { message, code } = sqliteMessage(error);
          throw new SqliteStatementError(message, code, statement.start + 1, { cause: error });
        }
        if (rows.length > 0 && FOREIGN_KEY_CHECK.test(codeOf(statement).text)) {
          const [table, rowid, parent] = [rows[0]![0], rows[0]![1], rows[0]![2]];
          const more = rows.length > 1 ? ` (and ${rows.length - 1} more)` : '';
          throw new SqliteStatementError(
            `FOREIGN KEY constraint failed: row ${rowid ?? '(without rowid)'} of "${table}" refers to a row of "${parent}" that does not exist${more}`,
            'SQLITE_CONSTRAINT_FOREIGNKEY',
            statement.start + 1,
          );
        }
      }
    },
    async transaction<T>(fn: () => Promise<T>) {
      await driver.exec(`${sqliteDialect.beforeBegin}\n${sqliteDialect.begin}`);
      try {
        const value = await fn();
        await driver.exec(`${sqliteDialect.beforeCommit}\n${sqliteDialect.commit}`);
        return value;
      } catch (error) {
        await run('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async lock(onWait: (holder: LockHolder | null) => void, options: LockOptions = {}) {
      // The lock file names the holding process; shown as a session would be.
      const holder = (raw: FileLockHolder | null): LockHolder | null => (raw ? { pid: raw.pid, applicationName: 'orchestrate', clientAddr: raw.host, since: null } : null);
      try {
        fileLock ??= await acquireFileLock(sqliteLockFile(file), (_text, raw) => onWait(holder(raw)), options);
      } catch (error) {
        if (error instanceof FileLockTimeout) {
          const who = error.holder ? `process ${error.holder.pid} on ${error.holder.host}` : 'another process';
          throw new RuntimeError(
            `Gave up waiting for the migration lock after ${(error.waitedMs / 1000).toFixed(1)} s: ${sqliteLockFile(file)} is held by ${who}; let that run finish, or allow a longer wait (the lock file of a process that is gone is taken over without help).`,
            { cause: error },
          );
        }
        throw error;
      }
    },
    async unlock() {
      fileLock?.release();
      fileLock = null;
    },
    async cancel() {
      // libsql runs a statement to its end inside this process; there is no other session to ask.
    },
    async serverVersion() {
      const [row] = await driver.query<{ v: string }>('SELECT sqlite_version() AS v');
      return `SQLite ${row?.v ?? 'unknown'} (libsql)`;
    },
    async close() {
      if (!alive) return;
      alive = false;
      try {
        client.close();
      } finally {
        fileLock?.release();
        fileLock = null;
      }
    },
  };
  return driver;
}

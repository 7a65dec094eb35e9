import { existsSync } from 'node:fs';
import path from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import type { Provider } from '../project/provider.js';
import type { DatabaseTarget, OpenOptions } from './connect.js';
import type { Driver } from './driver.js';
import { CONFIG_FILE, DEFAULT_LOCK_KEY } from '../config/settings.js';
import { SQLITE_DEFAULT_FILE, openSqlite, sqliteFileOf, sqliteLockFile } from './sqlite.js';
import { redactUrl, type DatabaseUrl } from './url.js';

/**
 * Which SQLite file a run uses: the `file:` URL's, else the project's default file. A URL of
 * the other provider is refused: the migrations are written in one SQL dialect.
 */
export function sqliteTarget(root: string, resolved: DatabaseUrl | undefined, provider: Provider): Extract<DatabaseTarget, { kind: 'sqlite' }> {
  if (provider !== 'sqlite') {
    throw new UsageError(
      `${resolved!.source} is a file: (SQLite) URL, but the core datasource's provider is "${provider}"; use a postgresql:// URL, or set provider = "sqlite" in the core schema's datasource block and start a new migration history.`,
    );
  }
  if (!resolved) return { kind: 'sqlite', file: path.join(root, SQLITE_DEFAULT_FILE), source: 'default', embedded: true };
  if (!/^file:/i.test(resolved.url)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(resolved.url)?.[1];
    throw new UsageError(
      `${resolved.source} is ${scheme ? `a "${scheme}:" URL (${redactUrl(resolved.url)})` : 'not a URL'}, but the core datasource's provider is "sqlite"; use a file: URL such as file:./dev.db (relative to the project root), or unset it to use ${SQLITE_DEFAULT_FILE}.`,
    );
  }
  return { kind: 'sqlite', file: sqliteFileOf(resolved.url, root), source: resolved.source, embedded: false };
}

/** Opens the target; read-only callers get null for a file that does not exist yet (nothing applied). */
export async function openSqliteTarget(
  root: string,
  target: Extract<DatabaseTarget, { kind: 'sqlite' }>,
  options: OpenOptions,
  reporter: { info(line: string): void },
): Promise<Driver | null> {
  const location = path.relative(root, target.file) || target.file;
  if (options.waitSeconds) reporter.info(`--wait does nothing on SQLite: a database file has no server to wait for, so ${location} is opened at once.`);
  if (!options.readOnly && options.lockKey !== DEFAULT_LOCK_KEY) {
    reporter.info(`lockKey in ${CONFIG_FILE} does nothing on SQLite, which has no advisory locks: runs on ${location} wait for each other through the lock file ${path.basename(sqliteLockFile(target.file))} beside it.`);
  }
  if (options.readOnly && !existsSync(target.file)) {
    if (target.embedded) reporter.info(`No SQLite database in ${location} yet (set DATABASE_URL or --url to use another file).`);
    return null;
  }
  if (target.embedded) reporter.info(`Using the SQLite database ${location} (set DATABASE_URL or --url to use another file).`);
  try {
    return await openSqlite(target.file, location, target.embedded);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new RuntimeError(`Cannot open the SQLite database ${target.file} (${(error as Error).message}); check that the file is an SQLite database and that it may be written.`, {
      cause: error,
    });
  }
}

import type { Driver, Row } from './driver.js';
import { openSession, sessionSettings, type SessionSettings } from './pg-session.js';
import { postgresDialect, schemaOfUrl } from './postgres-dialect.js';
import { redactUrl } from './url.js';

/**
 * Session settings from a Prisma-style URL. Prisma's `?schema=` becomes the search_path, so
 * the history tables and unqualified migration SQL land where Prisma Migrate would put them.
 */
export function postgresSettings(url: string, connectTimeoutMs: number): SessionSettings {
  let connectionString = url;
  let options: string | undefined;
  try {
    const u = new URL(url);
    const schema = u.searchParams.get('schema');
    if (schema) {
      u.searchParams.delete('schema');
      connectionString = u.toString();
      options = `-c search_path="${schema.replace(/"/g, '""').replace(/([\\ ])/g, '\\$1')}"`;
    }
  } catch {
    // Leave malformed URLs to the connection-string parser, whose error message names the problem.
  }
  return sessionSettings(connectionString, { options, applicationName: 'orchestrate', connectTimeoutMs });
}

/** A PostgreSQL server session; the migration lock is a session-level advisory lock. */
export async function connectPostgres(url: string, lockKey: number, connectTimeoutMs: number): Promise<Driver> {
  const settings = postgresSettings(url, connectTimeoutMs);
  const session = await openSession(settings);
  // Pipelined behind the start-up: known long before anything could need cancelling.
  const backendPid = session.query('SELECT pg_backend_pid() AS pid').then(([row]) => Number(row?.pid));
  backendPid.catch(() => {});
  let locked = false;
  const driver: Driver = {
    dialect: postgresDialect,
    location: redactUrl(url),
    embedded: false,
    schema: schemaOfUrl(url),
    get alive() {
      return session.alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      return (await session.query(sql, params)) as T[];
    },
    async exec(script: string) {
      await session.query(script);
    },
    async readTables(tables: string[], columns: string[]) {
      const list = columns.map(postgresDialect.quoteIdentifier).join(', ');
      return session.copyOut(tables.map((t) => `COPY ${t} (${list}) TO STDOUT`).join(';\n'));
    },
    async transaction<T>(fn: () => Promise<T>) {
      await session.query('BEGIN');
      try {
        const value = await fn();
        await session.query('COMMIT');
        return value;
      } catch (error) {
        if (session.alive) await session.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async lock(onWait: () => void) {
      // lockKey is a validated integer: inline it and use the simple protocol (one message).
      const [row] = (await session.query(`SELECT pg_try_advisory_lock(${Math.trunc(lockKey)}) AS ok`)) as { ok: boolean }[];
      if (!row?.ok) {
        onWait();
        await session.query(`SELECT pg_advisory_lock(${Math.trunc(lockKey)})`);
      }
      locked = true;
    },
    async unlock() {
      if (!locked) return;
      locked = false;
      if (session.alive) await session.query(`SELECT pg_advisory_unlock(${Math.trunc(lockKey)})`);
    },
    async serverVersion() {
      const [row] = (await session.query('SHOW server_version')) as { server_version: string }[];
      return row?.server_version ?? 'unknown';
    },
    async cancel() {
      // What psql's Ctrl-C does, through a second short session: the server cancels the
      // statement this session is running (a lock wait included), not the session itself.
      try {
        const pid = await backendPid;
        const other = await openSession(settings);
        try {
          await other.query(`SELECT pg_cancel_backend(${Math.trunc(pid)})`);
        } finally {
          other.close();
        }
      } catch {
        // Nothing to cancel with: the caller stops anyway, and closing the session ends it.
      }
    },
    async close() {
      // Closing the session also releases the advisory lock on the server.
      session.close();
    },
  };
  return driver;
}

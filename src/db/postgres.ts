import { createRequire } from 'node:module';
import type { Client, ClientConfig } from 'pg';
import type { Driver, Row } from './driver.js';
import { postgresDialect } from './postgres-dialect.js';
import { redactUrl } from './url.js';

// node-postgres through require(): its ESM wrapper costs ~20 ms more to load, which a no-op
// `migrate` in a container entrypoint pays on every start.
const require = createRequire(import.meta.url);

/**
 * Connection settings from a Prisma-style URL. Prisma's `?schema=` becomes the search_path, so
 * the history tables and unqualified migration SQL land where Prisma Migrate would put them.
 */
export function clientConfig(url: string, connectTimeoutMs: number): ClientConfig {
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
    // Leave malformed URLs to node-postgres, whose error message names the problem.
  }
  return { connectionString, connectionTimeoutMillis: connectTimeoutMs, ...(options ? { options } : {}), application_name: 'orchestrate' };
}

type ClientClass = typeof import('pg').Client;
let loaded: ClientClass | undefined;

/**
 * node-postgres checks at load time whether it runs in a Cloudflare Worker, and on Node 20 (no
 * global `navigator`) that check constructs a `Response`, which loads the whole fetch stack
 * (~10 ms). A `navigator` present only while pg loads answers the question for free.
 */
function loadClient(): ClientClass {
  if (loaded) return loaded;
  const g = globalThis as { navigator?: unknown };
  const stub = g.navigator === undefined;
  if (stub) Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    // The client alone: the pool and the native bindings of pg's index are not needed here.
    loaded = require('pg/lib/client') as ClientClass;
  } finally {
    if (stub) delete g.navigator;
  }
  return loaded;
}

/** node-postgres connection; the migration lock is a session-level advisory lock. */
export async function connectPostgres(url: string, lockKey: number, connectTimeoutMs: number): Promise<Driver> {
  const PgClient = loadClient();
  const client: Client = new PgClient(clientConfig(url, connectTimeoutMs));
  let alive = true;
  // Without a listener, a server that drops an idle connection crashes the process.
  client.on('error', () => {
    alive = false;
  });
  client.on('end', () => {
    alive = false;
  });
  try {
    await client.connect();
  } catch (error) {
    alive = false;
    client.end().catch(() => {});
    throw error;
  }
  let locked = false;
  const driver: Driver = {
    dialect: postgresDialect,
    location: redactUrl(url),
    embedded: false,
    get alive() {
      return alive;
    },
    async query<T extends Row = Row>(sql: string, params: unknown[] = []) {
      const result = await client.query(sql, params);
      return result.rows as T[];
    },
    async exec(script: string) {
      await client.query(script);
    },
    async transaction<T>(fn: () => Promise<T>) {
      await client.query('BEGIN');
      try {
        const value = await fn();
        await client.query('COMMIT');
        return value;
      } catch (error) {
        if (alive) await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async lock(onWait: () => void) {
      // lockKey is a validated integer: inline it and use the simple protocol (one message).
      const [row] = (await client.query(`SELECT pg_try_advisory_lock(${Math.trunc(lockKey)}) AS ok`)).rows as { ok: boolean }[];
      if (!row?.ok) {
        onWait();
        await client.query(`SELECT pg_advisory_lock(${Math.trunc(lockKey)})`);
      }
      locked = true;
    },
    async unlock() {
      if (!locked) return;
      locked = false;
      if (alive) await client.query(`SELECT pg_advisory_unlock(${Math.trunc(lockKey)})`);
    },
    async serverVersion() {
      const [row] = (await client.query('SHOW server_version')).rows as { server_version: string }[];
      return row?.server_version ?? 'unknown';
    },
    async close() {
      if (!alive) return;
      // Closing the session also releases the advisory lock on the server. The Terminate
      // message is written at once; waiting for the server to close its end would only delay
      // the process exit, so the socket no longer holds the process open.
      alive = false;
      const ending = client.end().catch(() => {});
      (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      void ending;
    },
  };
  return driver;
}

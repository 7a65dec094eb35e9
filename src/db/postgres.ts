/**
 * The PostgreSQL server driver, on node-postgres (`pg`): the client the Prisma ecosystem
 * already runs (`@prisma/adapter-pg`), maintained and audited, with SCRAM, TLS and `.pgpass`.
 * Connection settings follow libpq (see pg-config.ts).
 */
import { createRequire } from 'node:module';
import type { Client, ClientConfig } from 'pg';
import { isSqlState } from '../errors.js';
import { LockTimeoutError, type Driver, type LockHolder, type LockOptions, type Row } from './driver.js';
import { pgTarget, type PgTarget } from './pg-config.js';
import { postgresDialect } from './postgres-dialect.js';
import { redactUrl } from './url.js';

const require = createRequire(import.meta.url);

/**
 * node-postgres, loaded once. At load time it checks whether it runs on Cloudflare Workers:
 * where `navigator` is missing (Node 20) by constructing a fetch `Response`, which loads
 * undici — most of pg's load time, 10-15 ms on an idle machine and over 100 ms on a busy one
 * (bench/migrate.mjs (a)). Node 21 and later have `navigator`, and pg reads its userAgent
 * instead; while pg loads, Node 20 gets the same answer.
 */
function loadPg(): typeof import('pg') {
  if ('navigator' in globalThis) return require('pg') as typeof import('pg');
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true });
  try {
    return require('pg') as typeof import('pg');
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

/** How often a waiting run says who holds the migration lock. */
export const LOCK_REPORT_INTERVAL_MS = 10_000;

export interface PostgresOptions {
  /** Key of the session-level advisory lock (settings.lockKey). */
  lockKey: number;
  /** PG* variables, HOME (for ~/.pgpass, ~/.postgresql): the process environment by default. */
  env?: NodeJS.ProcessEnv;
  /** An upper bound on each attempt's deadline, below connect_timeout (used by --wait and probes). */
  maxConnectMs?: number;
}

/** A connection attempt that outlived its deadline (connect_timeout). */
export class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer within ${Math.round(ms / 100) / 10} s (connect_timeout; the server did not complete the connection)`);
  }
}

/** Which step of an attempt an error came from: libpq's fallbacks depend on it. */
type Phase = 'connecting' | 'negotiating' | 'started';

interface AttemptError {
  error: unknown;
  phase: Phase;
}

/**
 * One connection attempt with one settings object. The deadline holds whatever the server
 * does (accepts and says nothing, sends garbage, stalls TLS): when it passes, the socket is
 * destroyed and the attempt rejects.
 */
async function attempt(config: ClientConfig, ms: number): Promise<Client> {
  const client = new (loadPg().Client)(config);
  // An error after the connection is up must not crash the process; the driver watches `end`.
  client.on('error', () => {});
  const con = (client as unknown as { connection: import('node:events').EventEmitter & { stream: import('node:net').Socket } }).connection;
  let phase: Phase = 'connecting';
  con.once('connect', () => (phase = 'negotiating'));
  con.once('sslconnect', () => (phase = 'started'));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      con.stream.destroy();
      reject({ error: new ConnectTimeoutError(ms), phase } satisfies AttemptError);
    }, ms);
  });
  try {
    await Promise.race([
      client.connect().catch((error: unknown) => {
        // A server answer (ErrorResponse) comes after the start-up message, TLS or not.
        throw { error, phase: isSqlState(codeOf(error)) ? 'started' : phase } satisfies AttemptError;
      }),
      deadline,
    ]);
    return client;
  } catch (failure) {
    con.stream.destroy();
    throw failure;
  } finally {
    clearTimeout(timer);
  }
}

const codeOf = (error: unknown) => (typeof error === 'object' && error !== null ? ((error as { code?: unknown }).code as string | undefined) : undefined);

/**
 * Whether libpq would make its second attempt after this failure of the first: with `prefer`,
 * when the server refused TLS, the TLS handshake failed, or the server rejected the TLS
 * session (pg_hba.conf `hostnossl`); with `allow`, when the server rejected the plaintext one.
 * Never after a refused or timed-out TCP connection.
 */
function shouldFallBack(target: PgTarget, failure: AttemptError): boolean {
  if (failure.error instanceof ConnectTimeoutError) return false;
  if (target.sslmode === 'prefer') return failure.phase !== 'connecting' || isSqlState(codeOf(failure.error));
  if (target.sslmode === 'allow') return isSqlState(codeOf(failure.error));
  return false;
}

/**
 * Connects as libpq would: each attempt of the target in turn (see shouldFallBack), each
 * within connect_timeout. On failure, `error` is the last attempt's error and `config` its settings.
 */
async function tryAttempts(target: PgTarget, maxConnectMs: number): Promise<{ client: Client; config: ClientConfig } | { error: unknown; config: ClientConfig }> {
  const ms = Math.max(1, Math.min(target.connectTimeoutMs, maxConnectMs));
  let last: AttemptError | undefined;
  let config = target.attempts[0]!;
  for (const [index, next] of target.attempts.entries()) {
    if (index > 0 && (!last || !shouldFallBack(target, last))) break;
    config = next;
    try {
      return { client: await attempt(config, ms), config };
    } catch (failure) {
      last = failure as AttemptError;
    }
  }
  return { error: last!.error, config };
}

/** Connects as libpq would (see tryAttempts); rejects with the error of the last attempt made. */
export async function openClient(target: PgTarget, maxConnectMs = Infinity): Promise<{ client: Client; config: ClientConfig }> {
  const result = await tryAttempts(target, maxConnectMs);
  if ('error' in result) throw result.error;
  return result;
}

/**
 * Settings for other clients of the same URL (the schema engine's `@prisma/adapter-pg` pool):
 * libpq's fallbacks are decided once, by a first connection. When that connection fails, the
 * settings of its last attempt are returned with the error, so that a caller whose own client
 * words failures (Prisma's P1003 for a missing database) can let it fail the same way.
 * `schema` is Prisma's `?schema=` when the URL has one.
 *
 * @example
 *   const { config, schema, error } = await clientConfigFor(url);
 *   if (error) throw error;
 *   new PrismaPg(config, schema ? { schema } : undefined);
 */
export async function clientConfigFor(url: string, env: NodeJS.ProcessEnv = process.env): Promise<{ config: ClientConfig; schema: string | undefined; error?: unknown }> {
  const target = pgTarget(url, env);
  const result = await tryAttempts(target, Infinity);
  if ('client' in result) await result.client.end().catch(() => {});
  const config = { ...result.config, connectionTimeoutMillis: target.connectTimeoutMs };
  return 'error' in result ? { config, schema: target.schemaParam, error: result.error } : { config, schema: target.schemaParam };
}

/** Advisory lock keys are bigints: pg_locks shows their high and low 32 bits as classid and objid. */
function holderQuery(key: bigint): string {
  const high = (key >> 32n) & 0xffffffffn;
  const low = key & 0xffffffffn;
  return `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = ${high} AND l.objid::bigint = ${low}
    LIMIT 1`;
}

/**
 * A PostgreSQL server session; the migration lock is a session-level advisory lock.
 *
 * @example
 *   const db = await connectPostgres('postgresql://app@db/app', { lockKey: 72707369 });
 */
export async function connectPostgres(url: string, options: PostgresOptions): Promise<Driver> {
  const target = pgTarget(url, options.env ?? process.env);
  const { client } = await openClient(target, options.maxConnectMs);
  const key = BigInt(Math.trunc(options.lockKey));
  let alive = true;
  client.once('end', () => (alive = false));
  client.on('error', () => (alive = false));
  const connection = client as unknown as { processID: number; secretKey: number };
  let locked = false;

  const run = async <T extends Row>(sql: string, params?: unknown[]): Promise<T[]> => {
    const result = await client.query<T>(sql, params);
    return result.rows;
  };
  const holder = async (): Promise<LockHolder | null> => {
    const [row] = await run<{ pid: number; application_name: string | null; client_addr: string | null; backend_start: Date | null }>(holderQuery(key));
    return row ? { pid: row.pid, applicationName: row.application_name || null, clientAddr: row.client_addr, since: row.backend_start } : null;
  };

  const driver: Driver = {
    dialect: postgresDialect,
    location: redactUrl(url),
    embedded: false,
    schema: target.schema,
    get alive() {
      return alive;
    },
    query: run,
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
    async lock(onWait: (holder: LockHolder | null) => void, lockOptions: LockOptions = {}) {
      const [first] = await run<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${key}) AS ok`);
      if (first?.ok) {
        locked = true;
        return;
      }
      // Waits in slices of lock_timeout (advisory locks honour it), to say every 10 s who holds
      // the lock and to give up at --lock-timeout. SET LOCAL leaves no trace in the session;
      // the session-level lock outlives the transaction it was taken in.
      const started = Date.now();
      const deadline = lockOptions.timeoutMs === undefined ? Infinity : started + lockOptions.timeoutMs;
      let current = await holder();
      onWait(current);
      for (;;) {
        const slice = Math.min(LOCK_REPORT_INTERVAL_MS, deadline - Date.now());
        if (slice <= 0) throw new LockTimeoutError(Date.now() - started, current);
        try {
          await client.query(`BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.ceil(slice))}; SELECT pg_advisory_lock(${key}); COMMIT`);
          locked = true;
          return;
        } catch (error) {
          if (alive) await client.query('ROLLBACK').catch(() => {});
          if (codeOf(error) !== '55P03') throw error; // lock_not_available: the slice ran out
        }
        current = await holder();
        if (Date.now() >= deadline) throw new LockTimeoutError(Date.now() - started, current);
        onWait(current);
      }
    },
    async unlock() {
      if (!locked) return;
      locked = false;
      if (alive) await run(`SELECT pg_advisory_unlock(${key})`);
    },
    async cancel() {
      if (!alive) return;
      // A CancelRequest on a connection of its own, as psql sends on Ctrl-C. The server checks
      // the backend's secret key, not pg_hba.conf, so plaintext is fine even for TLS sessions.
      const { Connection } = loadPg() as unknown as { Connection: new () => CancelConnection };
      const con = new Connection();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (con.stream.destroy(), resolve()), target.connectTimeoutMs);
        const done = () => (clearTimeout(timer), resolve());
        con.on('error', done);
        con.on('end', done);
        con.once('connect', () => con.cancel(connection.processID, connection.secretKey));
        if (target.host.startsWith('/')) con.connect(`${target.host}/.s.PGSQL.${target.port}`);
        else con.connect(target.port, target.host);
      });
    },
    async serverVersion() {
      const [row] = await run<{ server_version: string }>('SHOW server_version');
      return row?.server_version ?? 'unknown';
    },
    async close() {
      if (!alive) return;
      alive = false;
      // Ending the session also releases the advisory lock on the server.
      await client.end().catch(() => {});
    },
  };
  return driver;
}

interface CancelConnection {
  stream: import('node:net').Socket;
  connect(port: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
}

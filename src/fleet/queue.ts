/**
 * Fleet rollouts past one machine, on graphile-worker's PostgreSQL job queue in a control
 * database: `enqueueRollout` records a rollout and adds one job per database, any number of
 * `runWorker` processes take jobs and migrate, `rolloutStatus` reads the outcome back.
 *
 * What the queue library does: locking a job to one worker (SKIP LOCKED), LISTEN/NOTIFY
 * wake-ups, retries with exponential backoff, job keys. What this module adds: the rollout's
 * own table (graphile-worker deletes finished jobs, so outcomes are kept here), the canary gate
 * (the other databases' jobs are added when the last canary succeeds), stop-on-error, and a
 * short, configurable takeover of jobs whose worker stopped heart-beating (graphile-worker's own
 * is four hours): a live worker refreshes its heartbeat, so only a dead one's jobs move. The
 * per-database migration lock keeps a job taken over from a worker that was only slow from
 * applying anything twice.
 */
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { databaseErrorFields, isSqlState, messageOf, RuntimeError, UsageError } from '../errors.js';
import { migrateDatabase, type ProjectRef } from './migrate-one.js';
import type { OnError } from './run.js';
import { safeUrl, scrub, type Tenant } from './tenants.js';

export const TASK = 'orchestrate_fleet_migrate';

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS orchestrate_fleet;
CREATE TABLE IF NOT EXISTS orchestrate_fleet.rollouts (
  id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  on_error text NOT NULL,
  extensions text,
  canary text[] NOT NULL,
  stopped_reason text,
  stopped_database text
);
CREATE TABLE IF NOT EXISTS orchestrate_fleet.databases (
  rollout text NOT NULL REFERENCES orchestrate_fleet.rollouts (id) ON DELETE CASCADE,
  position int NOT NULL,
  name text NOT NULL,
  url text NOT NULL,
  labels text[] NOT NULL,
  canary boolean NOT NULL,
  status text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  applied text[] NOT NULL DEFAULT '{}',
  skipped int NOT NULL DEFAULT 0,
  remaining text[] NOT NULL DEFAULT '{}',
  error text,
  worker text,
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (rollout, name)
);
CREATE TABLE IF NOT EXISTS orchestrate_fleet.workers (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid int NOT NULL,
  seen_at timestamptz NOT NULL
);
`;

/** Advisory lock key serialising the creation of the tables above ("orfl"). */
const SCHEMA_LOCK = 0x6f72666c;

/** States of a database in a queued rollout. */
export type QueuedStatus = 'waiting' | 'queued' | 'running' | 'retrying' | 'applied' | 'up-to-date' | 'failed' | 'not-started';
const FINAL: QueuedStatus[] = ['applied', 'up-to-date', 'failed', 'not-started'];

const jobKey = (rollout: string, name: string) => `${rollout}/${name}`;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'orchestrate fleet' });
  try {
    await client.connect();
  } catch (error) {
    throw new RuntimeError(`Cannot connect to the control database at ${safeUrl(url)} (${messageOf(error)}); check --control-url and that the server is running.`, {
      cause: error,
    });
  }
  client.on('error', () => {}); // reported by the query in flight
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function inTransaction<T>(client: pg.Client | pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await fn();
    await client.query('COMMIT');
    return value;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Installs graphile-worker's schema and this module's tables in the control database. */
async function prepareControl(url: string): Promise<void> {
  const { runMigrations } = await import('graphile-worker');
  await runMigrations({ connectionString: url, logger: quietLogger(await import('graphile-worker')) });
  // Workers starting together on a fresh control database: one creates, the others wait.
  await withClient(url, (c) => inTransaction(c, () => c.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}); ${SCHEMA}`)));
}

/**
 * graphile-worker's log, reduced to its errors outside jobs: a job's failure is reported by the
 * task itself, in one line, without the queue's stack trace.
 */
function quietLogger(gw: typeof import('graphile-worker'), onError?: (message: string) => void) {
  return new gw.Logger(() => (level, message, meta) => {
    if (level === 'error' && !(meta as { failure?: boolean } | undefined)?.failure && onError) onError(message);
  });
}

export interface EnqueueOptions {
  controlUrl: string;
  /** Rollout id; default: `rollout-<UTC timestamp>`. */
  rollout?: string;
  canary: string[];
  onError: OnError;
  /** Attempts per job (connection errors are retried, with backoff, up to this many). */
  maxAttempts: number;
  /** Enabled extensions for the workers (as --extensions), recorded with the rollout. */
  extensions?: string;
}

export interface EnqueueResult {
  rollout: string;
  databases: number;
  /** Jobs added now: the canary group, or every database without one. */
  queued: number;
  /** Databases whose job is added once every canary succeeded. */
  waiting: number;
}

/**
 * Records a rollout and adds its jobs, all in one transaction.
 *
 * @example
 *   await enqueueRollout(tenants, { controlUrl, canary: ['acme'], onError: 'stop', maxAttempts: 10 });
 */
export async function enqueueRollout(tenants: Tenant[], options: EnqueueOptions): Promise<EnqueueResult> {
  const rollout = options.rollout ?? `rollout-${new Date().toISOString().replace(/[-:]/g, '').replace('.', '')}`;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(rollout)) throw new UsageError(`--rollout ${rollout}: use letters, digits, ".", "_" and "-" (at most 100).`);
  await prepareControl(options.controlUrl);
  const canary = new Set(options.canary);
  return withClient(options.controlUrl, (client) =>
    inTransaction(client, async () => {
      const exists = await client.query('SELECT 1 FROM orchestrate_fleet.rollouts WHERE id = $1', [rollout]);
      if (exists.rowCount) throw new UsageError(`Rollout "${rollout}" already exists in the control database; pick another --rollout (rerunning a rollout is enqueueing a new one).`);
      await client.query('INSERT INTO orchestrate_fleet.rollouts (id, on_error, extensions, canary) VALUES ($1, $2, $3, $4)', [
        rollout,
        options.onError,
        options.extensions ?? null,
        options.canary,
      ]);
      let queued = 0;
      for (const [i, t] of tenants.entries()) {
        const gated = canary.size > 0 && !canary.has(t.name);
        await client.query(
          'INSERT INTO orchestrate_fleet.databases (rollout, position, name, url, labels, canary, status) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [rollout, i, t.name, t.url, t.labels, canary.has(t.name), gated ? 'waiting' : 'queued'],
        );
        if (!gated) {
          await addJob(client, rollout, t.name, options.maxAttempts);
          queued++;
        }
      }
      return { rollout, databases: tenants.length, queued, waiting: tenants.length - queued };
    }),
  );
}

async function addJob(client: pg.Client | pg.PoolClient, rollout: string, name: string, maxAttempts: number): Promise<void> {
  await client.query('SELECT graphile_worker.add_job($1, $2::json, max_attempts => $3, job_key => $4)', [TASK, JSON.stringify({ rollout, name, maxAttempts }), maxAttempts, jobKey(rollout, name)]);
}

/**
 * Errors that waiting may fix: the database could not be reached or the connection dropped.
 * A migration the database refused (any other SQLSTATE) is final.
 */
export function isConnectionError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && !seen.has(e)) {
    seen.add(e);
    if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0];
    const { code, message } = databaseErrorFields(e);
    if (code !== undefined) {
      if (!isSqlState(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT...
      if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
      return false;
    }
    if (/connection (terminated|timeout|closed|refused)|ECONN|timeout expired/i.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export type WorkerEvent =
  | { kind: 'start'; rollout: string; name: string; attempt: number }
  | { kind: 'end'; rollout: string; name: string; status: QueuedStatus; applied: number; error?: string }
  | { kind: 'retry'; rollout: string; name: string; attempt: number; error: string }
  | { kind: 'stopped'; rollout: string; database: string }
  | { kind: 'takeover'; workers: string[] }
  | { kind: 'error'; message: string };

export interface WorkerOptions {
  controlUrl: string;
  project: Omit<ProjectRef, 'extensions'>;
  /** Jobs run at once by this process. */
  concurrency: number;
  /** A job whose worker sent no heartbeat for this long is given to another worker. */
  lockTimeoutSeconds: number;
  /** How often to look for jobs due later (retries); new jobs arrive by LISTEN/NOTIFY. */
  pollIntervalMs: number;
  /** Stop once no job of any rollout is left (rather than waiting for more). */
  untilDone: boolean;
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
}

export interface WorkerSummary {
  jobs: number;
  applied: number;
  failed: number;
  retried: number;
}

interface Payload {
  rollout: string;
  name: string;
}

/**
 * Takes jobs until stopped by `signal` (or, with `untilDone`, until the queue is empty).
 *
 * @example
 *   await runWorker({ controlUrl, project: { root }, concurrency: 4, lockTimeoutSeconds: 60, pollIntervalMs: 1000, untilDone: false, signal });
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  await prepareControl(options.controlUrl);
  const gw = await import('graphile-worker');
  const emit = options.onEvent ?? (() => {});
  const pool = new pg.Pool({ connectionString: options.controlUrl, max: options.concurrency + 3, application_name: 'orchestrate fleet worker' });
  pool.on('error', (error) => emit({ kind: 'error', message: `control database: ${messageOf(error)}` }));
  pool.on('connect', (client) => client.on('error', () => {})); // the pool's 'error' above reports it
  const summary: WorkerSummary = { jobs: 0, applied: 0, failed: 0, retried: 0 };
  /** Lock holder ids of the jobs running here, with how many jobs each holds. */
  const holders = new Map<string, number>();
  /** Every lock holder id this process used: its heartbeat rows are removed on exit. */
  const used = new Set<string>();
  const timeout = options.lockTimeoutSeconds;

  const heartbeat = async () => {
    if (holders.size === 0) return;
    await pool.query(
      `INSERT INTO orchestrate_fleet.workers (id, host, pid, seen_at) SELECT id, $2, $3, now() FROM unnest($1::text[]) AS id
       ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
      [[...holders.keys()], hostname(), process.pid],
    );
  };
  /** Unlocks the jobs of lock holders with no heartbeat for `timeout` seconds (dead workers). */
  const takeOver = async () => {
    const { rows } = await pool.query<{ holders: string[] | null }>(
      `WITH dead AS (
         SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
         WHERE j.task_identifier = $1 AND j.locked_at < now() - make_interval(secs => $2)
           AND NOT EXISTS (SELECT 1 FROM orchestrate_fleet.workers w WHERE w.id = j.locked_by AND w.seen_at > now() - make_interval(secs => $2))
       ), unlocked AS (
         SELECT graphile_worker.force_unlock_workers(array_agg(locked_by)) FROM dead HAVING count(*) > 0
       )
       SELECT (SELECT array_agg(locked_by) FROM dead) AS holders, (SELECT count(*) FROM unlocked) AS n`,
      [TASK, timeout],
    );
    const dead = rows[0]?.holders ?? [];
    if (dead.length > 0) {
      await pool.query('DELETE FROM orchestrate_fleet.workers WHERE id = ANY($1)', [dead]);
      emit({ kind: 'takeover', workers: dead });
    }
  };

  const task = async (rawPayload: unknown, helpers: { job: { attempts: number; max_attempts: number; locked_by: string | null } }) => {
    const { rollout, name } = rawPayload as Payload;
    const holder = helpers.job.locked_by ?? 'unknown';
    holders.set(holder, (holders.get(holder) ?? 0) + 1);
    used.add(holder);
    try {
      await heartbeat();
      summary.jobs++;
      const claimed = await pool.query<{ url: string; canary: boolean; stopped_reason: string | null; extensions: string | null; on_error: OnError }>(
        `UPDATE orchestrate_fleet.databases d SET status = 'running', worker = $3, started_at = now(), attempts = $4
         FROM orchestrate_fleet.rollouts r WHERE r.id = d.rollout AND d.rollout = $1 AND d.name = $2
         RETURNING d.url, d.canary, r.stopped_reason, r.extensions, r.on_error`,
        [rollout, name, `${hostname()}:${process.pid}`, helpers.job.attempts],
      );
      const row = claimed.rows[0];
      if (!row) return; // the rollout was deleted
      if (row.stopped_reason !== null) {
        await pool.query(`UPDATE orchestrate_fleet.databases SET status = 'not-started', finished_at = now() WHERE rollout = $1 AND name = $2`, [rollout, name]);
        return;
      }
      emit({ kind: 'start', rollout, name, attempt: helpers.job.attempts });
      try {
        const outcome = await migrateDatabase({ ...options.project, extensions: row.extensions ?? undefined }, row.url);
        await finish(rollout, name, row, { status: outcome.applied.length > 0 ? 'applied' : 'up-to-date', ...outcome });
        summary.applied += outcome.applied.length;
        emit({ kind: 'end', rollout, name, status: outcome.applied.length > 0 ? 'applied' : 'up-to-date', applied: outcome.applied.length });
      } catch (error) {
        const message = scrub(messageOf(error), row.url);
        if (isConnectionError(error) && helpers.job.attempts < helpers.job.max_attempts) {
          await pool.query(`UPDATE orchestrate_fleet.databases SET status = 'retrying', error = $3 WHERE rollout = $1 AND name = $2`, [rollout, name, message]);
          summary.retried++;
          emit({ kind: 'retry', rollout, name, attempt: helpers.job.attempts, error: message });
          throw new Error(message, { cause: error }); // graphile-worker retries it later, with backoff
        }
        summary.failed++;
        await finish(rollout, name, row, { status: 'failed', applied: [], skipped: 0, remaining: [], error: message });
        emit({ kind: 'end', rollout, name, status: 'failed', applied: 0, error: message });
      }
    } finally {
      const n = (holders.get(holder) ?? 1) - 1;
      if (n > 0) holders.set(holder, n);
      else holders.delete(holder);
    }
  };

  /** Records the outcome; a failure may stop the rollout, the last canary's success opens the gate. */
  const finish = async (
    rollout: string,
    name: string,
    row: { canary: boolean; on_error: OnError },
    outcome: { status: QueuedStatus; applied: string[]; skipped: number; remaining: string[]; error?: string },
  ) => {
    const client = await pool.connect();
    try {
      await inTransaction(client, async () => {
        const r = await client.query<{ stopped_reason: string | null }>('SELECT stopped_reason FROM orchestrate_fleet.rollouts WHERE id = $1 FOR UPDATE', [rollout]);
        // A job taken over from a worker that was only slow runs twice: the second run finds the
        // first one's migrations applied. What this rollout applied is kept, whichever ends last.
        await client.query(
          `UPDATE orchestrate_fleet.databases SET
             status = CASE WHEN status = 'applied' AND $3 = 'up-to-date' THEN status ELSE $3 END,
             applied = CASE WHEN status = 'applied' AND $3 = 'up-to-date' THEN applied ELSE $4 END,
             skipped = CASE WHEN status = 'applied' AND $3 = 'up-to-date' THEN skipped ELSE $5 END,
             remaining = $6, error = $7, finished_at = now()
           WHERE rollout = $1 AND name = $2`,
          [rollout, name, outcome.status, outcome.applied, outcome.skipped, outcome.remaining, outcome.error ?? null],
        );
        if (r.rows[0]?.stopped_reason != null) return;
        if (outcome.status === 'failed' && (row.canary || row.on_error === 'stop')) {
          await client.query('UPDATE orchestrate_fleet.rollouts SET stopped_reason = $2, stopped_database = $3 WHERE id = $1', [rollout, row.canary ? 'canary-failed' : 'failed', name]);
          const pending = await client.query<{ name: string }>(`SELECT name FROM orchestrate_fleet.databases WHERE rollout = $1 AND status IN ('waiting', 'queued')`, [rollout]);
          for (const p of pending.rows) await client.query('SELECT graphile_worker.remove_job($1)', [jobKey(rollout, p.name)]);
          await client.query(`UPDATE orchestrate_fleet.databases SET status = 'not-started', finished_at = now() WHERE rollout = $1 AND status IN ('waiting', 'queued')`, [rollout]);
          emit({ kind: 'stopped', rollout, database: name });
          return;
        }
        if (row.canary && outcome.status !== 'failed') {
          const open = await client.query(`SELECT 1 FROM orchestrate_fleet.databases WHERE rollout = $1 AND canary AND status NOT IN ('applied', 'up-to-date')`, [rollout]);
          if (open.rowCount === 0) {
            const waiting = await client.query<{ name: string }>(`SELECT name FROM orchestrate_fleet.databases WHERE rollout = $1 AND status = 'waiting' ORDER BY position`, [rollout]);
            const max = (await client.query<{ m: number }>(`SELECT max_attempts AS m FROM graphile_worker.jobs WHERE key = $1`, [jobKey(rollout, name)])).rows[0]?.m ?? 10;
            for (const w of waiting.rows) await addJob(client, rollout, w.name, max);
            await client.query(`UPDATE orchestrate_fleet.databases SET status = 'queued' WHERE rollout = $1 AND status = 'waiting'`, [rollout]);
          }
        }
      });
    } finally {
      client.release();
    }
  };

  const events = new EventEmitter();
  const runner = await gw.run({
    pgPool: pool,
    concurrency: options.concurrency,
    pollInterval: options.pollIntervalMs,
    noHandleSignals: true,
    taskList: { [TASK]: task as never },
    logger: quietLogger(gw, (message) => emit({ kind: 'error', message })),
    events: events as never,
  });

  const every = Math.max(200, Math.floor((timeout * 1000) / 3));
  const timer = setInterval(() => {
    heartbeat()
      .then(takeOver)
      .catch((error) => emit({ kind: 'error', message: `heartbeat: ${messageOf(error)}` }));
  }, every);
  const stop = () => void runner.stop().catch(() => {});
  options.signal?.addEventListener('abort', stop, { once: true });
  let idle: NodeJS.Timeout | undefined;
  if (options.untilDone) {
    idle = setInterval(() => {
      pool
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = $1 AND attempts < max_attempts`, [TASK])
        .then(({ rows }) => {
          if (rows[0]?.n === 0) stop();
        })
        .catch(() => {});
    }, Math.max(200, options.pollIntervalMs));
  }
  try {
    await runner.promise;
  } finally {
    clearInterval(timer);
    if (idle) clearInterval(idle);
    options.signal?.removeEventListener('abort', stop);
    if (used.size > 0) await pool.query('DELETE FROM orchestrate_fleet.workers WHERE id = ANY($1)', [[...used]]).catch(() => {});
    await pool.end().catch(() => {});
  }
  return summary;
}

export interface QueuedDatabase {
  name: string;
  url: string;
  labels: string[];
  canary: boolean;
  status: QueuedStatus;
  attempts: number;
  applied: string[];
  skipped: number;
  remaining: string[];
  error: string | null;
  worker: string | null;
  /** The database's job in the queue, while it has one (finished jobs are deleted). */
  job: { attempts: number; maxAttempts: number; runAt: string; lockedBy: string | null; lastError: string | null } | null;
}

export interface RolloutStatus {
  rollout: string;
  createdAt: string;
  onError: OnError;
  canary: string[];
  stopped: { reason: string; database: string | null } | null;
  databases: QueuedDatabase[];
  totals: Record<QueuedStatus, number> & { databases: number; migrationsApplied: number; jobs: number };
  /** Every database is in a final state. */
  finished: boolean;
  notStarted: string[];
  /** Databases in a non-final state with no job behind them: should be empty. */
  unaccounted: string[];
}

/**
 * The report of one rollout (default: the latest) as recorded in the control database.
 *
 * @example
 *   const s = await rolloutStatus(controlUrl);
 *   s.finished && s.totals.failed === 0;
 */
export async function rolloutStatus(controlUrl: string, rollout?: string): Promise<RolloutStatus> {
  return withClient(controlUrl, async (client) => {
    const present = await client.query(`SELECT to_regclass('orchestrate_fleet.rollouts') IS NOT NULL AS present`);
    if (!present.rows[0].present) throw new UsageError(`The control database at ${safeUrl(controlUrl)} has no fleet rollouts yet; run \`orchestrate fleet enqueue\` first.`);
    const r = await client.query(
      rollout === undefined ? 'SELECT * FROM orchestrate_fleet.rollouts ORDER BY created_at DESC, id DESC LIMIT 1' : 'SELECT * FROM orchestrate_fleet.rollouts WHERE id = $1',
      rollout === undefined ? [] : [rollout],
    );
    const head = r.rows[0];
    if (!head) {
      throw new UsageError(
        rollout === undefined ? `The control database at ${safeUrl(controlUrl)} has no fleet rollouts yet; run \`orchestrate fleet enqueue\` first.` : `No rollout "${rollout}" in the control database; \`orchestrate fleet status\` without --rollout shows the latest.`,
      );
    }
    const rows = await client.query(
      `SELECT d.*, j.attempts AS job_attempts, j.max_attempts AS job_max_attempts, j.run_at AS job_run_at, j.locked_by AS job_locked_by, j.last_error AS job_last_error, j.id AS job_id
       FROM orchestrate_fleet.databases d
       LEFT JOIN graphile_worker.jobs j ON j.key = d.rollout || '/' || d.name AND j.task_identifier = $2
       WHERE d.rollout = $1 ORDER BY d.position`,
      [head.id, TASK],
    );
    const databases: QueuedDatabase[] = rows.rows.map((d) => ({
      name: d.name,
      url: safeUrl(d.url),
      labels: d.labels,
      canary: d.canary,
      status: d.status,
      attempts: d.attempts,
      applied: d.applied,
      skipped: d.skipped,
      remaining: d.remaining,
      error: d.error,
      worker: d.worker,
      job:
        d.job_id === null
          ? null
          : { attempts: d.job_attempts, maxAttempts: d.job_max_attempts, runAt: new Date(d.job_run_at).toISOString(), lockedBy: d.job_locked_by, lastError: d.job_last_error },
    }));
    const statuses: QueuedStatus[] = ['waiting', 'queued', 'running', 'retrying', 'applied', 'up-to-date', 'failed', 'not-started'];
    const totals = Object.fromEntries(statuses.map((s) => [s, databases.filter((d) => d.status === s).length])) as Record<QueuedStatus, number>;
    return {
      rollout: head.id,
      createdAt: new Date(head.created_at).toISOString(),
      onError: head.on_error,
      canary: head.canary,
      stopped: head.stopped_reason ? { reason: head.stopped_reason, database: head.stopped_database } : null,
      databases,
      totals: { ...totals, databases: databases.length, migrationsApplied: databases.reduce((n, d) => n + d.applied.length, 0), jobs: databases.filter((d) => d.job).length },
      finished: databases.every((d) => FINAL.includes(d.status)),
      notStarted: databases.filter((d) => d.status === 'not-started').map((d) => d.name),
      // waiting rows get their job when the canaries pass; every other unfinished row needs one
      unaccounted: databases.filter((d) => !FINAL.includes(d.status) && d.status !== 'waiting' && (d.job === null || d.job.attempts >= d.job.maxAttempts)).map((d) => d.name),
    };
  });
}

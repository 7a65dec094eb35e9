/**
 * `fleet enqueue` / `fleet worker` / `fleet status` on graphile-worker in a real control
 * database: worker processes share the jobs, a worker killed with SIGKILL mid-job has its job
 * taken over, connection errors are retried and migration failures are final.
 *
 * Workers are processes (killed, signalled, on hosts of their own); enqueueing and reading a
 * rollout's status call the same commands in this process, and the CLI shows the status for people.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, silentReporter } from '../src/commands/context.js';
import { fleetEnqueue, fleetStatus, type EnqueueCommandOptions } from '../src/commands/fleet.js';
import { DEFAULT_LOCK_KEY } from '../src/config/settings.js';
import { createOrchestrator } from '../src/index.js';
import { CLI, createDatabase, query, runCli } from './helpers.js';
import { FAKE_PASSWORD, SAMPLE_EXTENSIONS, SAMPLE_MIGRATIONS, copySampleApp, createTenants, exec, historyCounts, inParallel, writeTenantFile, type Tenants } from './fleet-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  rollout: string;
  databases: { name: string; status: string; attempts: number; applied: string[]; skipped: number; error: string | null; worker: string | null; job: unknown }[];
  totals: Record<string, number>;
  finished: boolean;
  stopped: { reason: string; database: string | null } | null;
  notStarted: string[];
  unaccounted: string[];
}

/**
 * Workers run as separate hosts where the machine allows it: each in its own network and UTS
 * namespace (no network but a down loopback, its own host name), reaching the server only
 * through its Unix socket, as a container on another machine reaches it only through the URL.
 */
const SOCKET_DIR = '/var/run/postgresql';
const isolated = spawnSync('unshare', ['-nu', 'true']).status === 0 && existsSync(path.join(SOCKET_DIR, '.s.PGSQL.5432'));

/** The same database through the server's Unix socket (reachable from an isolated namespace). */
const viaSocket = (url: string) => {
  if (!isolated) return url;
  const u = new URL(url);
  u.hostname = 'localhost';
  u.searchParams.set('host', SOCKET_DIR);
  return u.toString();
};

let hosts = 0;
function startWorker(dir: string, control: string, extra: string[] = []) {
  const args = [CLI, 'fleet', 'worker', '--control-url', viaSocket(control), '--until-done', '--lock-timeout', '4', '--poll-interval', '0.3', '--concurrency', '2', ...extra];
  const [file, argv]: [string, string[]] = isolated
    ? ['unshare', ['-nu', 'sh', '-c', `hostname fleet-host-${++hosts} && exec "$0" "$@"`, process.execPath, ...args]]
    : [process.execPath, args];
  return execa(file, argv, {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', DATABASE_URL: '', APP_EXTENSIONS: '' },
    timeout: 50_000,
  });
}

/** The command context of a CLI run in `dir` (runCli's environment), with `--extensions`. */
const here = (dir: string, extensions?: string) =>
  makeContext({ cwd: dir, ...(extensions ? { extensions } : {}) }, silentReporter, { ...process.env, DATABASE_URL: undefined, APP_EXTENSIONS: '' });

/** `fleet status --json`, in this process: the report as printed, and the exit code. */
async function statusOf(dir: string, control: string, rollout?: string): Promise<{ status: Status; exitCode: number | undefined; text: string }> {
  const r = await fleetStatus(here(dir), { controlUrl: control, ...(rollout ? { rollout } : {}) });
  const json = JSON.stringify(r.data, null, 2);
  return { status: JSON.parse(json) as Status, exitCode: r.exitCode ?? 0, text: json };
}

/** `fleet enqueue --extensions <sample>`, in this process: what it prints. */
async function enqueue(dir: string, opts: EnqueueCommandOptions): Promise<string> {
  return (await fleetEnqueue(here(dir, SAMPLE_EXTENSIONS), opts)).text;
}

describe('fleet over a job queue', () => {
  let app: { dir: string; cleanup: () => void };
  let tenants: Tenants;
  let control: { url: string; drop: () => Promise<void> };
  let broken: Tenants;
  beforeAll(async () => {
    app = copySampleApp();
    [tenants, control, broken] = await Promise.all([createTenants(12, 'orch_fleet_q'), createDatabase('orch_fleet_ctl'), createTenants(3, 'orch_fleet_qb')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tenants?.drop(), control?.drop(), broken?.drop()]);
    app?.cleanup();
  }, 60_000);

  /** broken (labelled canary), unreachable, fresh1, fresh2 and done (migrated already), as a JSON list. */
  async function brokenList(): Promise<string> {
    // billing's first migration creates this type: on "broken" it fails
    await exec(broken.urls[0]!, `DO $$ BEGIN CREATE TYPE "billing_invoice_status" AS ENUM ('BROKEN'); EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    const orchestrator = createOrchestrator({ root: app.dir, database: tenants.urls[0]!, extensions: SAMPLE_EXTENSIONS.split(','), env: { ...process.env, DATABASE_URL: undefined } });
    try {
      const pre = await orchestrator.apply(await orchestrator.planUpgrade());
      expect(pre.error?.problem.message ?? null).toBeNull();
    } finally {
      await orchestrator.close();
    }
    const list = [
      { name: 'broken', url: viaSocket(broken.urls[0]!), labels: ['canary'] },
      { name: 'unreachable', url: `postgresql://postgres:${FAKE_PASSWORD}@127.0.0.1:1/nowhere`, labels: [] },
      { name: 'fresh1', url: viaSocket(broken.urls[1]!), labels: [] },
      { name: 'fresh2', url: viaSocket(broken.urls[2]!), labels: [] },
      { name: 'done', url: viaSocket(tenants.urls[0]!), labels: [] },
    ];
    const json = path.join(app.dir, 'tenants.json');
    writeFileSync(json, JSON.stringify(list));
    return json;
  }

  it('3 workers, one killed with SIGKILL mid-job: every tenant migrated exactly once, status accounts for every job', async () => {
    const file = writeTenantFile(app.dir, tenants.urls.map(viaSocket));
    // Tenant 5's migration lock is held here: the worker that takes its job waits inside it.
    const blocked = tenants.names[4]!;
    const holder = new pg.Client({ connectionString: tenants.urls[4] });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${DEFAULT_LOCK_KEY})`);
    let released = false;
    try {
      expect(await enqueue(app.dir, { file, controlUrl: control.url, rollout: 'r1' })).toContain('Rollout r1: 12 jobs queued for 12 databases.');
      const workers = [startWorker(app.dir, control.url), startWorker(app.dir, control.url), startWorker(app.dir, control.url)];

      // find the worker process running the blocked tenant's job, and kill it
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const [row] = await query<{ status: string; worker: string | null }>(control.url, `SELECT status, worker FROM orchestrate_fleet.databases WHERE rollout = 'r1' AND name = $1`, [blocked]);
        if (row?.status === 'running' && row.worker) pid = Number(row.worker.split(':').pop());
        else await sleep(100);
      }
      const victim = workers.find((w) => w.pid === pid);
      expect(victim, `worker ${pid} runs ${blocked}`).toBeDefined();
      victim!.kill('SIGKILL');
      const killed = await victim!;
      expect(killed.signal).toBe('SIGKILL');
      await holder.end();
      released = true;

      const others = await Promise.all(workers.filter((w) => w !== victim));
      for (const w of others) {
        expect(w.exitCode, w.stderr).toBe(0);
        expect(w.stderr).not.toContain(FAKE_PASSWORD);
      }
      expect(others.map((w) => w.stderr).join('')).toContain('Took over the jobs of 1 worker with no heartbeat');

      await inParallel(tenants.urls, 6, async (url) => {
        const counts = await historyCounts(url);
        expect(counts.size, url).toBe(SAMPLE_MIGRATIONS);
        expect([...counts.values()].every((n) => n === 1), url).toBe(true);
      });

      const { status, exitCode, text } = await statusOf(app.dir, control.url);
      expect(exitCode).toBe(0);
      expect(text).not.toContain(FAKE_PASSWORD);
      expect(status).toMatchObject({ rollout: 'r1', finished: true, unaccounted: [], notStarted: [], stopped: null });
      expect(status.totals).toMatchObject({ databases: 12, failed: 0, jobs: 0 });
      // The killed worker may have been in the middle of a second database: the run that finished
      // it counts what the killed one committed as already applied (skipped).
      expect(status.totals.applied + status.totals['up-to-date']).toBe(12);
      for (const d of status.databases) expect(d.applied.length + d.skipped, d.name).toBe(SAMPLE_MIGRATIONS);
      expect(status.databases.find((d) => d.name === blocked)).toMatchObject({ status: 'applied', attempts: 2 });
      expect(status.databases.every((d) => d.job === null)).toBe(true);
      const left = await query<{ n: number }>(control.url, `SELECT count(*)::int AS n FROM graphile_worker.jobs`);
      expect(left[0]!.n).toBe(0);
      // the surviving workers removed their heartbeats on exit, the takeover the killed one's
      expect(await query(control.url, 'SELECT id FROM orchestrate_fleet.workers')).toEqual([]);
      if (isolated) {
        // the work was shared by the separate hosts, the killed one included
        const ran = new Set(status.databases.map((d) => d.worker!.split(':')[0]));
        expect(ran.size).toBeGreaterThan(1);
        for (const h of ran) expect(h).toMatch(/^fleet-host-\d+$/);
      }
    } finally {
      if (!released) await holder.end();
    }
  }, 60_000);

  it('a failed canary, or with --on-error stop any failure, takes the rest off the queue', async () => {
    const json = await brokenList();
    // a failed canary: nothing else is queued
    expect(await enqueue(app.dir, { file: json, controlUrl: control.url, rollout: 'r2', canary: 'canary' })).toContain('Rollout r2: 1 job queued for 5 databases; 4 more databases queued once the 1 canary succeed.');
    const w1 = await startWorker(app.dir, control.url);
    expect(w1.exitCode, w1.stderr).toBe(0);
    const s1 = await statusOf(app.dir, control.url, 'r2');
    expect(s1.exitCode).toBe(1);
    expect(s1.status.stopped).toEqual({ reason: 'canary-failed', database: 'broken' });
    expect(s1.status.databases[0]).toMatchObject({ name: 'broken', status: 'failed', attempts: 1, error: expect.stringContaining('billing_invoice_status') });
    expect(s1.status.notStarted).toEqual(['unreachable', 'fresh1', 'fresh2', 'done']);
    expect(s1.status.totals).toMatchObject({ jobs: 0, failed: 1, 'not-started': 4 });
    const human = await runCli(app.dir, ['fleet', 'status', '--control-url', control.url, '--rollout', 'r2'], {});
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain('Stopped: broken failed (canary); fix it and enqueue a new rollout to resume.');
    expect(human.stdout).toContain('Not started: unreachable, fresh1, fresh2, done.');
    expect((await historyCounts(broken.urls[1]!)).size).toBe(0);

    // --on-error stop without a canary, one job at a time: the failure takes the rest off the queue
    expect(await enqueue(app.dir, { file: json, controlUrl: control.url, rollout: 'r2b' })).toMatch(/^Rollout r2b: 5 jobs queued/);
    const w1b = await startWorker(app.dir, control.url, ['--concurrency', '1']);
    expect(w1b.stderr).toContain('[r2b] stopped: broken failed; the databases not started yet are taken off the queue.');
    const s1b = await statusOf(app.dir, control.url, 'r2b');
    expect(s1b.status).toMatchObject({ stopped: { reason: 'failed', database: 'broken' }, finished: true, unaccounted: [], notStarted: ['unreachable', 'fresh1', 'fresh2', 'done'] });
    expect(s1b.status.totals.jobs).toBe(0);
  }, 60_000);

  it('retries a database it cannot reach, a failed migration is final; a new rollout resumes once fixed', async () => {
    const json = await brokenList();
    const list = JSON.parse(readFileSync(json, 'utf8')) as { name: string }[];
    // --on-error continue, 2 attempts: the unreachable one is retried once, the broken one is not
    expect(await enqueue(app.dir, { file: json, controlUrl: control.url, rollout: 'r3', onError: 'continue', maxAttempts: 2 })).toMatch(/^Rollout r3: 5 jobs queued/);
    const w2 = await startWorker(app.dir, control.url);
    expect(w2.exitCode, w2.stderr).toBe(0);
    expect(w2.stderr).toContain('[r3] unreachable: attempt 1 could not reach the database');
    expect(w2.stderr).not.toContain(FAKE_PASSWORD);
    const s2 = await statusOf(app.dir, control.url, 'r3');
    const by = Object.fromEntries(s2.status.databases.map((d) => [d.name, d]));
    expect(by.unreachable).toMatchObject({ status: 'failed', attempts: 2, error: expect.stringContaining('Cannot connect to the database') });
    expect(by.broken).toMatchObject({ status: 'failed', attempts: 1 });
    expect(by.fresh1).toMatchObject({ status: 'applied' });
    expect(by.done).toMatchObject({ status: 'up-to-date' });
    expect(s2.status).toMatchObject({ finished: true, unaccounted: [] });
    expect(s2.text).not.toContain(FAKE_PASSWORD);

    // fixed: a new rollout over the reachable ones completes; what was done stays done
    await exec(broken.urls[0]!, `DROP TYPE "billing_invoice_status"`);
    writeFileSync(json, JSON.stringify(list.filter((l) => l.name !== 'unreachable')));
    expect(await enqueue(app.dir, { file: json, controlUrl: control.url, canary: 'canary' })).toMatch(/^Rollout \S+: 1 job queued for 4 databases/);
    const w3 = await startWorker(app.dir, control.url);
    expect(w3.exitCode, w3.stderr).toBe(0);
    const s3 = await statusOf(app.dir, control.url);
    expect(s3.exitCode).toBe(0);
    expect(s3.status.totals).toMatchObject({ databases: 4, applied: 1, 'up-to-date': 3, failed: 0, jobs: 0 });
    for (const url of broken.urls) expect([...(await historyCounts(url)).values()]).toEqual(Array(SAMPLE_MIGRATIONS).fill(1));
  }, 60_000);

  it('a worker waiting for jobs stops on SIGTERM and reports what it did', async () => {
    const w = execa(process.execPath, [CLI, 'fleet', 'worker', '--control-url', control.url, '--poll-interval', '0.3'], {
      cwd: app.dir,
      reject: false,
      env: { NO_COLOR: '1', DATABASE_URL: '' },
      timeout: 30_000,
      // Not execa's SIGKILL 5 s after the SIGTERM: the graceful stop is what is examined.
      forceKillAfterDelay: false,
    });
    // the worker is up once its queue connection is open
    for (let i = 0; i < 100; i++) {
      const rows = await query(control.url, `SELECT 1 FROM pg_stat_activity WHERE application_name = 'orchestrate fleet worker' AND datname = current_database()`);
      if (rows.length > 0) break;
      await sleep(100);
    }
    w.kill('SIGTERM');
    const r = await w;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('SIGTERM: taking no more jobs, finishing the running ones');
    expect(r.stdout).toBe('Worker done: 0 jobs, 0 migrations applied, 0 failed, 0 retried.');
  }, 60_000);
});

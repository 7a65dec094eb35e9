/**
 * `orchestrate fleet` on the real server: many tenant databases migrated from the sample app,
 * each migration exactly once; reruns apply nothing; a broken tenant stops the rollout at the
 * canary or at itself; Ctrl-C stops it and the rerun resumes.
 *
 * The CLI runs where its output (progress lines, the report for people, the SQL, refusals),
 * exit codes and signals are the subject; the other runs call the same command in this
 * process and read its report (what --json prints) and exit code.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers.js';
import { fleet, type FleetOptions } from '../src/commands/fleet.js';
import { makeContext } from '../src/commands/context.js';
import { DEFAULT_LOCK_KEY, prepareSettings } from '../src/config/settings.js';
import { OrchestrateError } from '../src/errors.js';
import { FAKE_PASSWORD, SAMPLE_EXTENSIONS, SAMPLE_MIGRATIONS, copySampleApp, createTenants, exec, historyCounts, inParallel, writeTenantFile, type Tenants } from './fleet-helpers.js';

/** 200 (the figure) takes longer than a test may on two shared cores; bench/fleet.mjs runs 200. */
const N = Number(process.env.FLEET_TEST_TENANTS ?? 40);
const ENV = { APP_EXTENSIONS: SAMPLE_EXTENSIONS };

interface Report {
  databases: { name: string; status: string; applied: string[]; error?: { message: string } }[];
  totals: Record<string, number>;
  stopped: { reason: string; database?: string } | null;
  notStarted: string[];
}

const parse = (stdout: string) => JSON.parse(stdout) as Report;

/** `fleet` in this process, as the CLI runs it in `dir` with ENV: its report as --json prints it, exit code and progress lines. */
async function fleetHere(dir: string, opts: FleetOptions): Promise<{ report: Report; exitCode: number; output: string }> {
  const lines: string[] = [];
  const ctx = makeContext({ cwd: dir }, { info: (l) => lines.push(l), warn: (l) => lines.push(l) }, { ...process.env, DATABASE_URL: undefined, ...ENV });
  await prepareSettings(ctx.root);
  const result = await fleet(ctx, opts);
  const json = JSON.stringify(result.data, null, 2);
  return { report: parse(json), exitCode: result.exitCode ?? 0, output: `${json}\n${lines.join('\n')}` };
}

/** The error `fleet` refuses these options with in this process (the CLI prints its message, exits with its code). */
async function fleetRefusal(dir: string, opts: FleetOptions): Promise<OrchestrateError> {
  const error = await fleetHere(dir, opts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OrchestrateError);
  return error as OrchestrateError;
}

/** Every tenant has each of the sample app's migrations recorded exactly once. */
async function expectMigratedOnce(urls: string[]): Promise<void> {
  await inParallel(urls, 8, async (url) => {
    const counts = await historyCounts(url);
    expect(counts.size, url).toBe(SAMPLE_MIGRATIONS);
    expect([...counts.values()].every((n) => n === 1), url).toBe(true);
  });
}

describe(`fleet over ${N} tenant databases`, () => {
  let app: { dir: string; cleanup: () => void };
  let tenants: Tenants;
  beforeAll(async () => {
    app = copySampleApp();
    tenants = await createTenants(N);
  }, 60_000);
  afterAll(async () => {
    await tenants?.drop();
    app?.cleanup();
  }, 60_000);

  it('migrates all with --concurrency 8, each migration exactly once; a second run applies nothing', async () => {
    const file = writeTenantFile(app.dir, tenants.urls);
    const first = await runCli(app.dir, ['fleet', '--file', file, '--concurrency', '8', '--json'], ENV, { timeout: 50_000 });
    expect(first.stderr).not.toContain(FAKE_PASSWORD);
    expect(first.stdout).not.toContain(FAKE_PASSWORD);
    expect(first.exitCode, first.stderr).toBe(0);
    const report = parse(first.stdout);
    expect(report.totals).toMatchObject({ databases: N, applied: N, failed: 0, notStarted: 0, migrationsApplied: N * SAMPLE_MIGRATIONS });
    // one line as each database starts and one as it ends, with a running count
    expect(first.stderr).toContain(`[started 1/${N}] ${tenants.names[0]}`);
    expect(first.stderr).toMatch(new RegExp(`\\[done ${N}/${N}\\] orch_fleet_\\w+: applied ${SAMPLE_MIGRATIONS} migrations`));
    await expectMigratedOnce(tenants.urls);

    const again = await fleetHere(app.dir, { file, concurrency: 8 });
    expect(again.exitCode).toBe(0);
    expect(again.report.totals).toMatchObject({ applied: 0, upToDate: N, migrationsApplied: 0 });
    await expectMigratedOnce(tenants.urls);
  }, 60_000);
});

describe('fleet with a broken tenant', () => {
  let app: { dir: string; cleanup: () => void };
  let tenants: Tenants;
  beforeAll(async () => {
    app = copySampleApp();
    tenants = await createTenants(6, 'orch_fleet_broken');
  }, 60_000);
  afterAll(async () => {
    await tenants?.drop();
    app?.cleanup();
  }, 60_000);

  // billing's first migration creates this type: on that tenant it fails (core stays applied).
  const breakTenant = (url: string) => exec(url, `CREATE TYPE "billing_invoice_status" AS ENUM ('BROKEN')`);
  const fixTenant = (url: string) => exec(url, `DROP TYPE "billing_invoice_status"`);

  it('a failing canary stops the rollout; --on-error stop stops at the tenant; fixing and rerunning completes', async () => {
    const [a, b, c, d, e, f] = tenants.names;
    // JSON list with names and labels; the broken tenant is the labelled canary
    const list = tenants.urls.map((url, i) => ({ name: tenants.names[i], url, labels: i === 2 ? ['canary', 'eu'] : ['eu'] }));
    const json = path.join(app.dir, 'tenants.json');
    writeFileSync(json, JSON.stringify({ tenants: list }));
    await breakTenant(tenants.urls[2]!);

    const canaryRun = await fleetHere(app.dir, { file: json, canary: 'canary', concurrency: 2 });
    expect(canaryRun.exitCode).toBe(1);
    const r1 = canaryRun.report;
    expect(r1.stopped).toEqual({ reason: 'canary-failed', database: c });
    // what ran before the failing migration is in the report
    expect(r1.databases.find((x) => x.name === c)).toMatchObject({
      status: 'failed',
      applied: [expect.stringMatching(/^core\//)],
      error: { message: expect.stringContaining('billing_invoice_status') },
    });
    expect(r1.notStarted).toEqual([a, b, d, e, f]);
    expect(canaryRun.output).not.toContain(FAKE_PASSWORD);

    // without a canary, one at a time, stop at the failing tenant: the ones after it never start
    const stopRun = await runCli(app.dir, ['fleet', '--file', json, '--concurrency', '1', '--on-error', 'stop'], ENV, { timeout: 30_000 });
    expect(stopRun.exitCode).toBe(1);
    expect(stopRun.stdout).toContain(`Stopped at ${c} (--on-error stop); fix it and rerun to resume.`);
    expect(stopRun.stdout).toContain(`Not started: ${d}, ${e}, ${f}.`);
    expect(stopRun.stdout).toMatch(new RegExp(`${c}\\s+failed\\s+0\\s+\\d+\\s+.*billing_invoice_status`));
    expect((await historyCounts(tenants.urls[0]!)).size).toBe(SAMPLE_MIGRATIONS);
    expect((await historyCounts(tenants.urls[3]!)).size).toBe(0);

    // --on-error continue: every other tenant is migrated; the report still names the failure
    const goOn = await fleetHere(app.dir, { file: json, concurrency: 3, onError: 'continue' });
    expect(goOn.exitCode).toBe(1);
    const r3 = goOn.report;
    expect(r3.totals).toMatchObject({ failed: 1, notStarted: 0 });
    expect(r3.databases.filter((x) => x.status === 'applied').map((x) => x.name)).toEqual([d, e, f]);

    await fixTenant(tenants.urls[2]!);
    const rerun = await fleetHere(app.dir, { file: json, canary: 'canary' });
    expect(rerun.exitCode).toBe(0);
    const r4 = rerun.report;
    expect(r4.databases.find((x) => x.name === c)!.applied).toHaveLength(SAMPLE_MIGRATIONS - 1); // core was applied before billing failed
    expect(r4.totals).toMatchObject({ applied: 1, upToDate: 5, failed: 0 });
    await expectMigratedOnce(tenants.urls);
  }, 60_000);
});

describe('fleet interrupted, --plan and input errors', () => {
  let app: { dir: string; cleanup: () => void };
  let tenants: Tenants;
  beforeAll(async () => {
    app = copySampleApp();
    tenants = await createTenants(4, 'orch_fleet_int');
  }, 60_000);
  afterAll(async () => {
    await tenants?.drop();
    app?.cleanup();
  }, 60_000);

  it('--plan reports what each database would get and touches nothing', async () => {
    const file = writeTenantFile(app.dir, tenants.urls);
    const plan = await fleetHere(app.dir, { file, plan: true });
    expect(plan.exitCode).toBe(0);
    expect(plan.report.totals).toMatchObject({ pending: 4, applied: 0, migrationsApplied: 0 });
    const sql = await runCli(app.dir, ['fleet', '--file', file, '--sql'], ENV, { timeout: 30_000 });
    expect(sql.stdout).toContain(`-- ===== ${tenants.names[1]} (`);
    expect(sql.stdout).toContain('CREATE TABLE "billing_invoices"');
    expect(sql.stdout).not.toContain(FAKE_PASSWORD);
    for (const url of tenants.urls) expect((await historyCounts(url)).size).toBe(0);
  }, 60_000);

  it('Ctrl-C stops starting databases, ends the running one, reports it; a rerun resumes', async () => {
    const file = writeTenantFile(app.dir, tenants.urls);
    // The first tenant's migration lock is held here, so its migrate waits until interrupted.
    const holder = new pg.Client({ connectionString: tenants.urls[0] });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${DEFAULT_LOCK_KEY})`);
    try {
      const child = execa(process.execPath, [CLI, 'fleet', '--file', file, '--concurrency', '1', '--json'], {
        cwd: app.dir,
        reject: false,
        env: { ...ENV, NO_COLOR: '1', DATABASE_URL: '' },
        timeout: 30_000,
      });
      let seen = '';
      await new Promise<void>((resolve) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes(`[started 1/4] ${tenants.names[0]}`)) resolve();
        });
      });
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, result.stderr).toBe(130);
      const r = parse(result.stdout);
      expect(r.stopped).toEqual({ reason: 'interrupted' });
      expect(r.databases[0]).toMatchObject({ name: tenants.names[0], status: 'interrupted' });
      expect(r.notStarted).toEqual(tenants.names.slice(1));
    } finally {
      await holder.end();
    }
    const rerun = await fleetHere(app.dir, { file });
    expect(rerun.exitCode).toBe(0);
    expect(rerun.report.totals).toMatchObject({ applied: 4 });
    await expectMigratedOnce(tenants.urls);
  }, 60_000);

  it('rejects bad tenant lists and flags with one sentence, exit 2', async () => {
    const none = await runCli(app.dir, ['fleet'], ENV);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('fleet needs a tenant list: --file <path>, --command <cmd> or --query <sql>');
    // Flags are parsed by the CLI alone.
    const dup = writeTenantFile(app.dir, [tenants.urls[0]!, tenants.urls[0]!], 'dup.txt');
    const conc = await runCli(app.dir, ['fleet', '--file', dup, '--concurrency', '0'], ENV);
    expect(conc.exitCode).toBe(2);
    for (const r of [none, conc]) expect(r.stderr + r.stdout).not.toContain(FAKE_PASSWORD);
    // The tenant lists, read by the command.
    const missing = await fleetRefusal(app.dir, { file: 'nope.txt' });
    expect(missing.exitCode).toBe(2);
    expect(missing.message).toMatch(/--file nope\.txt: cannot read .*nope\.txt \(ENOENT\)/);
    const twice = await fleetRefusal(app.dir, { file: dup });
    expect(twice.exitCode).toBe(2);
    expect(twice.message).toContain(`line 3 of ${dup}: tenant "${tenants.names[0]}" is listed twice (first at line 2 of ${dup})`);
    const label = await fleetRefusal(app.dir, { command: `printf '%s\\n' '${tenants.urls[0]}'`, canary: 'eu' });
    expect(label.exitCode).toBe(2);
    expect(label.message).toContain('--canary eu: no tenant has the label "eu" (the list has no labels)');
    for (const e of [missing, twice, label]) expect(e.message).not.toContain(FAKE_PASSWORD);
  }, 60_000);
});

/**
 * The main flow on the embedded database (PGlite in .orchestrate/pglite), which is what a
 * developer gets with no DATABASE_URL. Each CLI process opens the folder on its own, serialised
 * by the lock file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, SAMPLE, SAMPLE_ENV, sha256, writeMigration, writeSample } from './apply-fixtures.js';
import { makeContext, silentReporter } from '../src/commands/context.js';
import { history } from '../src/commands/history.js';
import { status } from '../src/commands/status.js';
import { acquireFileLock } from '../src/db/file-lock.js';
import { createOrchestrator, type Orchestrator } from '../src/index.js';
import { runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
const ANNOUNCE = 'Using the embedded PostgreSQL database in .orchestrate/pglite (set DATABASE_URL or --url to use a server).';

beforeAll(() => {
  project = tempDir('orch-pglite-');
  writeSample(project.dir);
});

afterAll(async () => {
  await closeLibrary();
  project.cleanup();
});

/** The environment of the CLI runs (runCli's, with SAMPLE_ENV), for the same work in this process. */
const env = (): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: undefined, ...SAMPLE_ENV });

/** What the CLI's read commands compute (the data of their --json, their text), in this process. */
const commandContext = () => makeContext({ cwd: project.dir }, silentReporter, env());

/**
 * The library on the same project and embedded database, kept open across steps (a PGlite start
 * costs seconds) and closed before a CLI run needs the database.
 */
let library: Orchestrator | null = null;
const lib = (): Orchestrator => (library ??= createOrchestrator({ root: project.dir, env: env() }));
async function closeLibrary(): Promise<void> {
  const open = library;
  library = null;
  await open?.close();
}

const outcome = (results: { owner: string; migration: string; direction: string; status: string }[]) => results.map((r) => [r.owner, r.migration, r.direction, r.status]);

// One project through a sequence of steps: a cold PGlite start costs seconds, so the steps share it.
// The CLI runs where its wording or processes are the subject; the data is read in this process.
describe('migrate on the embedded database (PGlite)', () => {
  const bad = '20240120000000_bad';

  it('several processes at once: each migration is applied exactly once', async () => {
    const runs = await Promise.all([0, 1, 2].map(() => runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV)));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    for (const r of runs) expect(r.stderr.split('\n')[0]).toBe(ANNOUNCE);
    expect(runs.filter((r) => r.stdout.startsWith('Applied 5 migrations (core: 2, billing: 2, crm: 1)'))).toHaveLength(1);
    expect(runs.filter((r) => r.stdout === 'Nothing to apply: 3 owners up to date.')).toHaveLength(2);
    expect(runs.some((r) => r.stderr.includes('which is using the embedded database...'))).toBe(true);
    expect(existsSync(path.join(project.dir, '.orchestrate/pglite/PG_VERSION'))).toBe(true);
    // No lock file is left behind; the folder ignores itself, so `git status` stays clean.
    expect(readdirSync(path.join(project.dir, '.orchestrate')).sort()).toEqual(['.gitignore', 'pglite']);
    expect(readFileSync(path.join(project.dir, '.orchestrate/.gitignore'), 'utf8')).toMatch(/^\*$/m);

    const { data: recorded } = await history(commandContext(), {});
    expect(recorded.database).toBe('.orchestrate/pglite');
    expect(recorded.owners.map((o) => [o.owner, o.entries.map((e) => [e.migration, e.checksum, e.appliedStepsCount])])).toEqual([
      ['core', [CORE_INIT, CORE_NAME].map((m) => [m, sha256(SAMPLE.core![m]!.sql), 1])],
      ['billing', [BILLING_INIT, BILLING_PLAN].map((m) => [m, sha256(SAMPLE.billing![m]!.sql), 1])],
      ['crm', [[CRM_INIT, sha256(SAMPLE.crm![CRM_INIT]!.sql), 1]]],
    ]);
  });

  it('a second run applies nothing and says so; status is up to date', async () => {
    const r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('Nothing to apply: 3 owners up to date.');
    expect(r.stderr).toBe(ANNOUNCE);
    // `status --exit-code`: its exit code and its last line.
    const up = await status(commandContext(), { exitCode: true });
    expect(up.exitCode).toBe(0);
    expect(up.text.split('\n').at(-1)).toBe('Up to date: 3 owners, 5 applied.');
  });

  it('a failing migration is rolled back and named; earlier ones stay', async () => {
    const dir = writeMigration(project.dir, 'crm', bad, { sql: 'CREATE TABLE "crm_note" ("id" INTEGER);\nINSERT INTO "crm_missing" VALUES (1);\n' });
    const r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n').slice(1)).toEqual([
      `Applying crm/${bad} …`,
      `error: crm/${bad} failed and was rolled back, so nothing of it remains: line 2 of ${path.join(dir, 'migration.sql')}, \`INSERT INTO "crm_missing" VALUES (1);\`: relation "crm_missing" does not exist [SQLSTATE 42P01]; migrations applied before it stay applied; fix the migration and run migrate again. Nothing was applied before it in this run.`,
    ]);
    const o = lib();
    const crm = await o.status({ owners: ['crm'] });
    expect(crm.owners.map((x) => x.owner)).toEqual(['crm']);
    expect(crm.owners[0]!.migrations.map((m) => [m.migration, m.status])).toEqual([
      [CRM_INIT, 'applied'],
      [bad, 'pending'],
    ]);
    writeFileSync(path.join(dir, 'migration.sql'), 'CREATE TABLE "crm_note" ("id" INTEGER);\n');
    writeFileSync(path.join(dir, 'down.sql'), 'DROP TABLE "crm_note";\n');
    const fixed = await o.apply(await o.planUpgrade());
    expect(fixed.ok).toBe(true);
    expect(outcome(fixed.results)).toEqual([['crm', bad, 'Up', 'Success']]);
  });

  it('downgrade uninstalls an extension and --target moves one owner', async () => {
    const crm = await lib().apply(await lib().planDowngrade({ owners: ['crm'], target: 'base' }));
    expect(crm.ok).toBe(true);
    expect(outcome(crm.results)).toEqual([
      ['crm', bad, 'Down', 'Success'],
      ['crm', CRM_INIT, 'Down', 'Success'],
    ]);
    await closeLibrary();
    const core = await runCli(project.dir, ['downgrade', '--core', '--target', CORE_INIT, '--cascade'], SAMPLE_ENV);
    expect(core.exitCode).toBe(0);
    expect(core.stdout).toMatch(/^Rolled back 2 migrations \(billing: 1, core: 1\) in .*; cascaded to billing\.$/);
    const o = lib();
    // What `current` reports: per owner the latest applied migration and how many are pending.
    const now = await o.status();
    expect(now.owners.map((x) => [x.owner, x.migrations.filter((m) => m.status === 'applied').at(-1)?.migration ?? null, x.counts.pending])).toEqual([
      ['core', CORE_INIT, 1],
      ['billing', BILLING_INIT, 1],
      ['crm', null, 2],
    ]);
    const moved = await o.apply(await o.planUpgrade({ owners: ['core'], target: CORE_NAME }));
    expect(outcome(moved.results)).toEqual([['core', CORE_NAME, 'Up', 'Success']]);
  });
});

describe('--lock-timeout on the embedded database', () => {
  it('gives up after the timeout while another process holds the database, and says which', async () => {
    const t = tempDir('orch-pglite-lock-');
    try {
      writeSample(t.dir);
      mkdirSync(path.join(t.dir, '.orchestrate'), { recursive: true });
      // This test's process holds the lock, as a running migrate would.
      const held = await acquireFileLock(path.join(t.dir, '.orchestrate/pglite.lock'), () => {});
      try {
        const started = Date.now();
        const r = await runCli(t.dir, ['migrate', '--all', '--lock-timeout', '1'], SAMPLE_ENV);
        expect(r.exitCode).toBe(1);
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(r.stderr.split('\n').at(-1)).toMatch(
          new RegExp(`^error: Gave up waiting for the embedded database after \\d+\\.\\d s: .*pglite\\.lock is held by process ${process.pid} on \\S+; let that run finish, or allow a longer wait`),
        );
        expect(existsSync(path.join(t.dir, '.orchestrate/pglite'))).toBe(false);
      } finally {
        held.release();
      }
    } finally {
      t.cleanup();
    }
  });
});

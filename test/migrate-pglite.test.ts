/**
 * The main flow on the embedded database (PGlite in .orchestrate/pglite), which is what a
 * developer gets with no DATABASE_URL. Each CLI process opens the folder on its own, serialised
 * by the lock file.
 */
import type { CurrentData } from '../src/commands/current.js';
import type { HistoryData } from '../src/commands/history.js';
import type { StatusData } from '../src/commands/status.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, SAMPLE, SAMPLE_ENV, sha256, writeMigration, writeSample } from './apply-fixtures.js';
import { acquireFileLock } from '../src/db/file-lock.js';
import { runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
const ANNOUNCE = 'Using the embedded PostgreSQL database in .orchestrate/pglite (set DATABASE_URL or --url to use a server).';

beforeAll(() => {
  project = tempDir('orch-pglite-');
  writeSample(project.dir);
});

afterAll(() => project.cleanup());

/** The CLI's JSON output, typed as the command's data type. */
const json = <T = Record<string, unknown>>(stdout: string) => JSON.parse(stdout) as T;

// One project through a sequence of steps: a cold PGlite start costs seconds, so the steps share it.
describe('migrate on the embedded database (PGlite)', () => {
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

    const history = json<HistoryData>((await runCli(project.dir, ['--json', 'history'], SAMPLE_ENV)).stdout);
    expect(history.database).toBe('.orchestrate/pglite');
    expect(history.owners.map((o) => [o.owner, o.entries.map((e) => [e.migration, e.checksum, e.appliedStepsCount])])).toEqual([
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
    const status = await runCli(project.dir, ['status', '--exit-code'], SAMPLE_ENV);
    expect(status.exitCode).toBe(0);
    expect(status.stdout.split('\n').at(-1)).toBe('Up to date: 3 owners, 5 applied.');
  });

  it('a failing migration is rolled back and named; earlier ones stay', async () => {
    const bad = '20240120000000_bad';
    const dir = writeMigration(project.dir, 'crm', bad, { sql: 'CREATE TABLE "crm_note" ("id" INTEGER);\nINSERT INTO "crm_missing" VALUES (1);\n' });
    const r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n').slice(1)).toEqual([
      `Applying crm/${bad} …`,
      `error: crm/${bad} failed and was rolled back, so nothing of it remains: line 2 of ${path.join(dir, 'migration.sql')}, \`INSERT INTO "crm_missing" VALUES (1);\`: relation "crm_missing" does not exist [SQLSTATE 42P01]; migrations applied before it stay applied; fix the migration and run migrate again. Nothing was applied before it in this run.`,
    ]);
    const status = json<StatusData>((await runCli(project.dir, ['--json', 'status', '--extension', 'crm'], SAMPLE_ENV)).stdout);
    expect(status.owners[0].migrations.map((m) => [m.migration, m.status])).toEqual([
      [CRM_INIT, 'applied'],
      [bad, 'pending'],
    ]);
    writeFileSync(path.join(dir, 'migration.sql'), 'CREATE TABLE "crm_note" ("id" INTEGER);\n');
    writeFileSync(path.join(dir, 'down.sql'), 'DROP TABLE "crm_note";\n');
    expect((await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV)).stdout).toMatch(/^Applied 1 migration \(crm: 1\)/);
  });

  it('downgrade uninstalls an extension and --target moves one owner', async () => {
    const crm = await runCli(project.dir, ['downgrade', '--extension', 'crm', '--target', 'base'], SAMPLE_ENV);
    expect(crm.exitCode).toBe(0);
    expect(crm.stdout).toMatch(/^Rolled back 2 migrations \(crm: 2\)/);
    const core = await runCli(project.dir, ['downgrade', '--core', '--target', CORE_INIT, '--cascade'], SAMPLE_ENV);
    expect(core.exitCode).toBe(0);
    expect(core.stdout).toMatch(/^Rolled back 2 migrations \(billing: 1, core: 1\) in .*; cascaded to billing\.$/);
    const current = json<CurrentData>((await runCli(project.dir, ['--json', 'current'], SAMPLE_ENV)).stdout);
    expect(current.owners.map((o) => [o.owner, o.current, o.pending])).toEqual([
      ['core', CORE_INIT, 1],
      ['billing', BILLING_INIT, 1],
      ['crm', null, 2],
    ]);
    expect((await runCli(project.dir, ['migrate', '--core', '--target', CORE_NAME], SAMPLE_ENV)).stdout).toMatch(/^Applied 1 migration \(core: 1\)/);
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

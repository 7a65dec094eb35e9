import type { CurrentData } from '../src/commands/current.js';
import type { HistoryData } from '../src/commands/history.js';
import type { StatusData } from '../src/commands/status.js';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, SAMPLE, SAMPLE_ENV, historyRows, sha256, useSampleOnPostgres } from './apply-fixtures.js';
import { query, runCli } from './helpers.js';

const sample = useSampleOnPostgres('orch-status-');

/** The CLI's JSON output, typed as the command's data type. */
const json = <T = Record<string, unknown>>(stdout: string) => JSON.parse(stdout) as T;
const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g;

describe('status', () => {
  it('lists pending migrations per owner; --exit-code exits 3 until everything is applied', async () => {
    await runCli(sample.dir, ['migrate', '--core', '--target', CORE_INIT], sample.env);
    const r = await runCli(sample.dir, ['status'], sample.env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.replace(TIME, '<time>')).toBe(
      [
        'core (_prisma_migrations): 1 applied, 1 pending',
        '  MIGRATION                 STATUS   APPLIED AT',
        `  ${CORE_INIT}       applied  <time>`,
        `  ${CORE_NAME}  pending`,
        '',
        'billing (_prisma_migrations_billing): 2 pending',
        '  MIGRATION                 STATUS   APPLIED AT',
        `  ${BILLING_INIT}       pending`,
        `  ${BILLING_PLAN}  pending`,
        '',
        'crm (_prisma_migrations_crm): 1 pending',
        '  MIGRATION            STATUS   APPLIED AT',
        `  ${CRM_INIT}  pending`,
        '',
        'Not up to date: 1 applied, 4 pending.',
      ].join('\n'),
    );
    expect((await runCli(sample.dir, ['status', '--exit-code'], sample.env)).exitCode).toBe(3);

    const data = json<StatusData>((await runCli(sample.dir, ['status', '--json', '--extension', 'billing'], sample.env)).stdout);
    expect(data.owners).toEqual([
      {
        owner: 'billing',
        historyTable: '_prisma_migrations_billing',
        historyTableExists: false,
        migrations: [
          { migration: BILLING_INIT, status: 'pending', appliedAt: null },
          { migration: BILLING_PLAN, status: 'pending', appliedAt: null },
        ],
        counts: { applied: 0, pending: 2, failed: 0, modified: 0, missing: 0 },
      },
    ]);
    expect(data.upToDate).toBe(false);

    await runCli(sample.dir, ['migrate', '--all'], sample.env);
    const done = await runCli(sample.dir, ['status', '--exit-code'], sample.env);
    expect(done.exitCode).toBe(0);
    expect(done.stdout.split('\n').at(-1)).toBe('Up to date: 3 owners, 5 applied.');
  });

  it('reports edited applied migrations as modified (exit 3 with --exit-code)', async () => {
    await runCli(sample.dir, ['migrate', '--all'], sample.env);
    const file = path.join(sample.dir, 'extensions/billing/migrations', BILLING_INIT, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"amount"', '"total"'));
    const r = await runCli(sample.dir, ['--json', 'status', '--exit-code'], sample.env);
    expect(r.exitCode).toBe(3);
    const data = json<StatusData>(r.stdout);
    expect(data.counts).toEqual({ applied: 4, pending: 0, failed: 0, modified: 1, missing: 0 });
    expect(data.owners[1].migrations[0]).toMatchObject({ migration: BILLING_INIT, status: 'modified' });
  });

  it('reads the embedded database without creating it', async () => {
    const r = await runCli(sample.dir, ['--json', 'status', '--exit-code'], SAMPLE_ENV);
    expect(r.exitCode).toBe(3);
    expect(json<StatusData>(r.stdout).counts.pending).toBe(5);
    expect(json<StatusData>(r.stdout).database).toBe('the embedded database (not created yet)');
  });
});

describe('history and current', () => {
  it('show rows oldest first and the latest applied migration per owner', async () => {
    await runCli(sample.dir, ['migrate', '--all'], sample.env);
    await runCli(sample.dir, ['downgrade', '--extension', 'billing', '--target', BILLING_INIT], sample.env);

    const h = await runCli(sample.dir, ['history', 'core'], sample.env);
    expect(h.exitCode).toBe(0);
    expect(h.stdout.replace(TIME, '<time>').replace(/\d+ ms|\d+\.\d s/g, '<ms>')).toBe(
      [
        'core (_prisma_migrations)',
        '  MIGRATION                 STATE    STARTED AT               DURATION',
        `  ${CORE_INIT}       applied  <time>  <ms>`,
        `  ${CORE_NAME}  applied  <time>  <ms>`,
      ].join('\n'),
    );
    const all = json<HistoryData>((await runCli(sample.dir, ['history', '--json'], sample.env)).stdout);
    expect(all.owners.map((o) => [o.owner, o.entries.map((e) => e.migration)])).toEqual([
      ['core', [CORE_INIT, CORE_NAME]],
      ['billing', [BILLING_INIT]],
      ['crm', [CRM_INIT]],
    ]);
    expect(all.owners[0].entries[0]).toMatchObject({ state: 'applied', checksum: sha256(SAMPLE.core![CORE_INIT]!.sql), appliedStepsCount: 1, logs: null, rolledBackAt: null });

    const c = await runCli(sample.dir, ['current'], sample.env);
    expect(c.stdout.replace(TIME, '<time>')).toBe(
      [
        'OWNER    CURRENT                   APPLIED AT               PENDING',
        `core     ${CORE_NAME}  <time>  0`,
        `billing  ${BILLING_INIT}       <time>  1`,
        `crm      ${CRM_INIT}       <time>  0`,
      ].join('\n'),
    );
    const one = json<CurrentData>((await runCli(sample.dir, ['--json', 'current', 'billing'], sample.env)).stdout);
    expect(one.owners).toEqual([{ owner: 'billing', current: BILLING_INIT, appliedAt: expect.any(String), pending: 1 }]);
  });

  it('reject an unknown owner with the list of valid ones', async () => {
    const r = await runCli(sample.dir, ['history', 'nope'], sample.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('error: history: unknown owner "nope"; valid owners are core, billing, crm.');
    const disabled = await runCli(sample.dir, ['current', 'crm'], { ...sample.env, APP_EXTENSIONS: 'billing' });
    expect(disabled.exitCode).toBe(2);
    expect(disabled.stderr).toBe('error: current: extension "crm" exists but is not enabled; add it to APP_EXTENSIONS or --extensions (enabled owners: core, billing).');
  });
});

describe('stamp', () => {
  it('records a migration and the earlier unapplied ones as applied without running them', async () => {
    // A database whose core schema was created by other means.
    await query(sample.url, SAMPLE.core![CORE_INIT]!.sql + SAMPLE.core![CORE_NAME]!.sql);
    const r = await runCli(sample.dir, ['stamp', 'core', CORE_NAME], sample.env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`Recorded 2 migrations of core as applied without running them: ${CORE_INIT}, ${CORE_NAME}.`);
    expect(await historyRows(sample.url, '_prisma_migrations')).toEqual([
      { migration_name: CORE_INIT, checksum: sha256(SAMPLE.core![CORE_INIT]!.sql), finished: true, rolled_back: false, applied_steps_count: 0, logs: null },
      { migration_name: CORE_NAME, checksum: sha256(SAMPLE.core![CORE_NAME]!.sql), finished: true, rolled_back: false, applied_steps_count: 0, logs: null },
    ]);
    const m = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(m.exitCode).toBe(0);
    expect(m.stdout).toMatch(/^Applied 3 migrations \(billing: 2, crm: 1\)/);

    const again = json((await runCli(sample.dir, ['--json', 'stamp', 'core', CORE_INIT], sample.env)).stdout);
    expect(again).toEqual({ database: sample.url, owner: 'core', historyTable: '_prisma_migrations', stamped: [] });
  });

  it('rejects an unknown owner or migration with the valid names (exit 2), also as JSON', async () => {
    const owner = await runCli(sample.dir, ['stamp', 'shop', CORE_INIT], sample.env);
    expect(owner.exitCode).toBe(2);
    expect(owner.stderr).toBe('error: stamp: unknown owner "shop"; valid owners are core, billing, crm.');
    const migration = await runCli(sample.dir, ['--json', 'stamp', 'billing', '20240101000000_nope'], sample.env);
    expect(migration.exitCode).toBe(2);
    const message = `stamp: billing has no migration 20240101000000_nope in ${path.join(sample.dir, 'extensions/billing/migrations')}; valid names: ${BILLING_INIT}, ${BILLING_PLAN}.`;
    expect(json(migration.stdout)).toEqual({ error: { message, exitCode: 2 } });
    expect(migration.stderr).toBe(`error: ${message}`);
  });
});

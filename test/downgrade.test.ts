import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, columns, historyRows, stackLines, tables, useSampleOnPostgres } from './apply-fixtures.js';
import { catalogSnapshot, query, runCli } from './helpers.js';

const sample = useSampleOnPostgres('orch-downgrade-', async (s) => {
  const r = await runCli(s.dir, ['migrate', '--all'], s.env);
  expect(r.exitCode).toBe(0);
});

const rolledBack = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Rolled back ')).map((l) => l.replace(/ \((\d+ ms|\d+\.\d s)\)$/, ''));

describe('downgrade', () => {
  it('moves one owner back to a target and leaves the others alone', async () => {
    const coreBefore = await historyRows(sample.url, '_prisma_migrations');
    const r = await runCli(sample.dir, ['downgrade', '--extension', 'billing', '--target', BILLING_INIT], sample.env);
    expect(r.exitCode).toBe(0);
    expect(rolledBack(r.stderr)).toEqual([`Rolled back billing/${BILLING_PLAN}`]);
    expect(r.stdout).toMatch(/^Rolled back 1 migration \(billing: 1\) in (\d+ ms|\d+\.\d s)\.$/);
    expect(await columns(sample.url, 'User')).toEqual(['id', 'email', 'name']);
    expect((await historyRows(sample.url, '_prisma_migrations_billing')).map((r) => r.migration_name)).toEqual([BILLING_INIT]);
    expect(await historyRows(sample.url, '_prisma_migrations')).toEqual(coreBefore);

    const again = await runCli(sample.dir, ['downgrade', '--extension', 'billing', '--target', BILLING_INIT], sample.env);
    expect(again.stdout).toBe(`Nothing to roll back: billing is at ${BILLING_INIT} already.`);

    // And forward again.
    const up = await runCli(sample.dir, ['migrate', '--extension', 'billing'], sample.env);
    expect(up.stdout).toMatch(/^Applied 1 migration \(billing: 1\)/);
    expect(await columns(sample.url, 'User')).toEqual(['id', 'email', 'name', 'billing_plan']);
  });

  it('--extension E --target base uninstalls E: its tables, columns and history table go, other owners stay', async () => {
    // crm depends on billing: take crm away first, then billing.
    const others = async () => ({
      core: await historyRows(sample.url, '_prisma_migrations'),
      billing: await historyRows(sample.url, '_prisma_migrations_billing'),
      user: await columns(sample.url, 'User'),
      invoice: await columns(sample.url, 'billing_invoice'),
    });
    const othersBefore = await others();
    const crm = await runCli(sample.dir, ['downgrade', '--extension', 'crm', '--target', 'base'], sample.env);
    expect(crm.exitCode).toBe(0);
    expect(crm.stderr.split('\n')).toEqual([
      'This downgrade drops:',
      `  table crm_contact (0 rows), by crm/${CRM_INIT}`,
      `Rolling back crm/${CRM_INIT} …`,
      `Rolled back crm/${CRM_INIT} (${crm.stderr.match(/\((\d+ ms|\d+\.\d s)\)/)![1]})`,
      'Dropped the empty history table _prisma_migrations_crm of crm',
    ]);
    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations', '_prisma_migrations_billing', 'billing_invoice']);
    expect(await others()).toEqual(othersBefore);

    const billing = await runCli(sample.dir, ['--json', 'downgrade', '--extension', 'billing', '--target', 'base'], sample.env);
    expect(billing.exitCode).toBe(0);
    const data = JSON.parse(billing.stdout);
    expect(data.owners).toEqual([
      {
        owner: 'billing',
        historyTable: '_prisma_migrations_billing',
        rolledBack: [
          { migration: BILLING_PLAN, durationMs: expect.any(Number) },
          { migration: BILLING_INIT, durationMs: expect.any(Number) },
        ],
        remaining: [],
        failed: null,
        historyTableDropped: true,
      },
    ]);
    expect(data.cascaded).toEqual([]);
    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations']);
    expect(await columns(sample.url, 'User')).toEqual(['id', 'email', 'name']);
    expect((await historyRows(sample.url, '_prisma_migrations')).map((r) => r.migration_name)).toEqual([CORE_INIT, CORE_NAME]);

    // Reinstalling works from scratch.
    expect((await runCli(sample.dir, ['migrate', '--all'], sample.env)).stdout).toMatch(/^Applied 3 migrations \(billing: 2, crm: 1\)/);
  });

  it('refuses to go below a migration that an applied extension migration requires, naming them', async () => {
    const before = await catalogSnapshot(sample.url);
    const r = await runCli(sample.dir, ['downgrade', '--core', '--target', CORE_INIT], sample.env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `error: Cannot roll back core/${CORE_NAME}: applied migration billing/${BILLING_PLAN} requires it; roll that back first or pass --cascade to do it in the same run.`,
    );
    const base = await runCli(sample.dir, ['downgrade', '--extension', 'billing', '--target', 'base'], sample.env);
    expect(base.exitCode).toBe(3);
    expect(base.stderr).toBe(
      `error: Cannot roll back billing/${BILLING_INIT}: applied migration crm/${CRM_INIT} requires it; roll that back first or pass --cascade to do it in the same run.`,
    );
    expect(await catalogSnapshot(sample.url)).toBe(before);
  });

  it('--cascade first rolls back the dependents, in reverse dependency order, just far enough', async () => {
    const r = await runCli(sample.dir, ['downgrade', '--core', '--target', CORE_INIT, '--cascade'], sample.env);
    expect(r.exitCode).toBe(0);
    expect(rolledBack(r.stderr)).toEqual([`Rolled back billing/${BILLING_PLAN}`, `Rolled back core/${CORE_NAME}`]);
    expect(r.stdout).toMatch(/^Rolled back 2 migrations \(billing: 1, core: 1\) in (\d+ ms|\d+\.\d s); cascaded to billing\.$/);
    expect((await historyRows(sample.url, '_prisma_migrations_billing')).map((r) => r.migration_name)).toEqual([BILLING_INIT]);
    expect((await historyRows(sample.url, '_prisma_migrations_crm')).map((r) => r.migration_name)).toEqual([CRM_INIT]);

    // Everything: crm before billing before core.
    const all = await runCli(sample.dir, ['downgrade', '--core', '--target', 'base', '--cascade'], sample.env);
    expect(all.exitCode).toBe(0);
    expect(rolledBack(all.stderr)).toEqual([`Rolled back crm/${CRM_INIT}`, `Rolled back billing/${BILLING_INIT}`, `Rolled back core/${CORE_INIT}`]);
    expect(await tables(sample.url)).toEqual(['_prisma_migrations']);
    expect(await historyRows(sample.url, '_prisma_migrations')).toEqual([]);
  });

  it('refuses before anything runs when a down.sql is missing', async () => {
    rmSync(path.join(sample.dir, 'prisma/migrations', CORE_NAME, 'down.sql'));
    const before = await catalogSnapshot(sample.url);
    const r = await runCli(sample.dir, ['downgrade', '--all', '--target', 'base'], sample.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error: Cannot roll back core/${CORE_NAME}: ${path.join(sample.dir, 'prisma/migrations', CORE_NAME, 'down.sql')} does not exist; write the SQL that reverses migration.sql there and run downgrade again.`,
    );
    expect(await catalogSnapshot(sample.url)).toBe(before);
  });

  it('rolls back a failing down.sql, keeps the migration applied and names the statement', async () => {
    const file = path.join(sample.dir, 'extensions/crm/migrations', CRM_INIT, 'down.sql');
    writeFileSync(file, 'DROP TABLE "crm_contact";\nDROP TABLE "crm_not_there";\n');
    const r = await runCli(sample.dir, ['downgrade', '--extension', 'crm', '--target', 'base'], sample.env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      'This downgrade drops:',
      `  table crm_contact (0 rows), by crm/${CRM_INIT}`,
      `Rolling back crm/${CRM_INIT} …`,
      `error: Rolling back crm/${CRM_INIT} failed and was undone, so it stays applied: line 2 of ${file}, \`DROP TABLE "crm_not_there";\`: table "crm_not_there" does not exist [SQLSTATE 42P01]; fix its down.sql and run downgrade again. Nothing was rolled back before it in this run.`,
    ]);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(await tables(sample.url)).toContain('crm_contact');
    expect((await historyRows(sample.url, '_prisma_migrations_crm')).map((r) => r.migration_name)).toEqual([CRM_INIT]);
  });

  it('asks for an explicit selection before rolling everything back', async () => {
    const r = await runCli(sample.dir, ['downgrade', '--target', 'base'], sample.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('error: downgrade --target base rolls back every migration of the owners you name: add --core, --extension <name> or --all.');
    const [{ n }] = (await query<{ n: number }>(sample.url, 'SELECT count(*)::int AS n FROM _prisma_migrations')) as [{ n: number }];
    expect(n).toBe(2);
  });

  it('refuses when an extension that is not enabled has applied migrations requiring what would go', async () => {
    const r = await runCli(sample.dir, ['downgrade', '--extension', 'billing', '--target', 'base'], { ...sample.env, APP_EXTENSIONS: 'billing' });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `error: Cannot roll back: extension "crm" is not enabled but has applied migrations that need what would be removed (crm/${CRM_INIT} requires billing/${BILLING_INIT}); enable it for this command (\`orchestrate --extensions billing,crm downgrade ... --cascade\`) or uninstall it first.`,
    );
    expect(await tables(sample.url)).toContain('billing_invoice');
  });
});

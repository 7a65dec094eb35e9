import { appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, runCli } from './helpers.js';
import { BILLING, makeProject, useCleanups } from './fixtures.js';
import { reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

/**
 * Runs a command with --json and returns its one JSON document: stdout must parse as a whole
 * (nothing before or after it), whatever the exit code.
 */
async function jsonOf(dir: string, args: string[], env: Record<string, string>, exitCode = 0): Promise<Record<string, unknown>> {
  const r = await runCli(dir, [...args, '--json'], env);
  expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(exitCode);
  const stdout = r.stdout as string;
  expect(stdout.startsWith('{'), `${args.join(' ')} stdout: ${stdout.slice(0, 200)}`).toBe(true);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const keys = (o: Record<string, unknown>) => Object.keys(o).sort();

describe('--json prints one JSON document on stdout and nothing else', () => {
  it('for every command, on PostgreSQL', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING } } });
    const off = { APP_EXTENSIONS: 'billing' };
    const on = { APP_EXTENSIONS: 'billing', DATABASE_URL: db.url };

    const revision = await jsonOf(dir, ['revision', '--all', '-m', 'init'], off);
    expect(keys(revision)).toEqual(['check', 'owners', 'problems', 'warnings']);
    expect(revision.owners).toEqual([
      expect.objectContaining({ owner: 'core', status: 'created', statements: expect.any(Number) }),
      expect.objectContaining({ owner: 'billing', status: 'created' }),
    ]);
    expect(keys(await jsonOf(dir, ['revision', '--check'], off))).toEqual(['check', 'owners', 'problems', 'warnings']);

    const sql = await jsonOf(dir, ['migrate', '--sql'], on);
    expect(keys(sql)).toEqual(['applied', 'database', 'durationMs', 'owners', 'schemaChanges', 'sql', 'warnings']);
    expect(sql.sql).toContain('CREATE TABLE "billing_invoices"');
    const migrate = await jsonOf(dir, ['migrate'], on);
    expect(keys(migrate)).toEqual(['applied', 'database', 'durationMs', 'owners', 'schemaChanges', 'warnings']);
    expect(migrate.applied).toBe(2);

    expect(keys(await jsonOf(dir, ['status'], on))).toEqual(['counts', 'database', 'owners', 'schemaChanges', 'upToDate', 'warnings']);
    expect(keys(await jsonOf(dir, ['history'], on))).toEqual(['database', 'owners']);
    expect(keys(await jsonOf(dir, ['history', 'billing'], on))).toEqual(['database', 'owners']);
    expect(keys(await jsonOf(dir, ['current'], on))).toEqual(['database', 'owners']);

    const create = await jsonOf(dir, ['create', 'loyalty'], on);
    expect(keys(create)).toEqual(['command', 'enableWith', 'enabled', 'extension', 'files', 'folder', 'migrate', 'migration', 'model', 'revision']);
    expect(create).toMatchObject({ command: 'create', extension: 'loyalty', enabled: false, enableWith: 'APP_EXTENSIONS=billing,loyalty', model: { name: 'LoyaltyItem', table: 'loyalty_items' } });
    expect((create.migrate as { applied: number }).applied).toBe(1);

    // A core migration recorded without running it (made in this process: only stamp's output is examined).
    appendFileSync(path.join(dir, 'prisma/schema.prisma'), '\nmodel Tag {\n  id Int @id\n}\n');
    await reviseInProcess(dir, ['billing'], { owners: ['core'], name: 'tags' });
    const tags = readdirSync(path.join(dir, 'prisma/migrations')).filter((n) => n.endsWith('_tags'))[0]!;
    const stamp = await jsonOf(dir, ['stamp', 'core', tags], on);
    expect(stamp).toEqual({ database: db.url, owner: 'core', historyTable: '_prisma_migrations', stamped: [tags] });

    const all = { ...on, APP_EXTENSIONS: 'billing,loyalty' };
    const downgrade = await jsonOf(dir, ['downgrade', '--extension', 'loyalty', '--target', 'base'], all);
    expect(keys(downgrade)).toEqual(['cascaded', 'database', 'drops', 'durationMs', 'owners', 'rolledBack']);
    expect(downgrade.owners).toEqual([{ owner: 'loyalty', historyTable: '_prisma_migrations_loyalty', rolledBack: [expect.objectContaining({ migration: expect.stringMatching(/_init$/) })], remaining: [], failed: null, historyTableDropped: true }]);

    const check = await jsonOf(dir, ['check'], on);
    expect(keys(check)).toEqual(['baselines', 'database', 'migrations', 'ok', 'owners', 'problems', 'warnings']);
    expect(check.ok).toBe(true);
    const debug = await jsonOf(dir, ['debug'], on);
    expect(keys(debug)).toEqual(['config', 'database', 'environment', 'extensions', 'paths', 'versions']);
  });

  it('for errors and failed checks too: an error document, or the data with exit 3', async () => {
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING } } });
    const error = await jsonOf(dir, ['create', 'a;drop table x'], {}, 2);
    expect(error).toEqual({
      error: {
        message: 'create: invalid extension name "a;drop table x"; names must match ^[a-z][a-z0-9_]{0,39}$ (lowercase letter, then lowercase letters, digits or underscores).',
        exitCode: 2,
      },
    });
    const pending = await jsonOf(dir, ['revision', '--check'], { APP_EXTENSIONS: 'billing' }, 3);
    expect(pending).toEqual({
      check: true,
      owners: [{ owner: 'core', status: 'pending' }, { owner: 'billing', status: 'pending' }],
      warnings: [],
      problems: [expect.objectContaining({ code: 'pending-changes', owner: 'core' }), expect.objectContaining({ code: 'pending-changes', owner: 'billing' })],
    });
    const check = await jsonOf(dir, ['check'], { APP_EXTENSIONS: 'billing' }, 3);
    expect((check.problems as { code: string }[]).map((p) => p.code)).toEqual(['pending-changes', 'pending-changes']);
  });
});

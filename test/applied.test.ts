import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOrchestrator } from '../src/index.js';
import { createDatabase, query, runCli } from './helpers.js';
import { BILLING, makeProject, oneErrorLine, useCleanups } from './fixtures.js';
import { reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

const billingMigrations = (dir: string) => readdirSync(path.join(dir, 'extensions/billing/migrations')).filter((n) => n !== 'migration_lock.toml').sort();

describe('revision --regenerate and the migrations applied in the target database', () => {
  it('refuses while a migration is applied, and allows it once it is rolled back (PostgreSQL)', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING } } });
    const env = { APP_EXTENSIONS: 'billing', DATABASE_URL: db.url };
    // The migrations and the database they are applied to are made in this process: what is
    // examined is what the CLI's revision says about them.
    await reviseInProcess(dir, ['billing'], { name: 'init' });
    const orchestrator = createOrchestrator({ root: dir, extensions: ['billing'], database: db.url, env: {} });
    try {
      expect((await orchestrator.apply(await orchestrator.planUpgrade())).ok).toBe(true);
    } finally {
      await orchestrator.close();
    }
    const [init] = billingMigrations(dir);

    const refused = await runCli(dir, ['revision', '--extension', 'billing', '--regenerate', '-m', 'init'], env);
    expect(refused.exitCode).toBe(3);
    expect(oneErrorLine(refused.stderr as string)).toBe(
      `Refusing to regenerate billing: 1 of its migrations (${init}) are applied in the target database; roll them back first (\`orchestrate downgrade --extension billing --target base\`) or pass --force if you will rebuild that database.`,
    );
    expect(billingMigrations(dir)).toEqual([init]);

    // A row marked rolled back (as `prisma migrate resolve --rolled-back` leaves it) does not count.
    await query(db.url, 'UPDATE "_prisma_migrations_billing" SET rolled_back_at = now()');
    const allowed = await runCli(dir, ['revision', '--extension', 'billing', '--regenerate', '-m', 'init'], env);
    expect(allowed.exitCode, allowed.stderr as string).toBe(0);
    expect(allowed.stdout).toMatch(/^billing: created extensions\/billing\/migrations\/\d{14}_init \(\d+ statements\), replacing 1 migration\(s\)$/);
  });

  it('treats an embedded database that was never created as "nothing applied", without creating it', async () => {
    // No database is given (no DATABASE_URL, no prisma.config.ts): the embedded one is the target.
    const dir = makeProject(onCleanup);
    const [init] = (await reviseInProcess(dir, [], { owners: ['core'], name: 'init' })).owners;
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
    const r = await reviseInProcess(dir, [], { owners: ['core'], regenerate: true, name: 'init' });
    expect(r.owners).toEqual([expect.objectContaining({ owner: 'core', status: 'created', replaced: [init!.migration] })]);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });
});

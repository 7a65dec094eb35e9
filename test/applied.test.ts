import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, query, runCli } from './helpers.js';
import { BILLING, makeProject, oneErrorLine, useCleanups } from './fixtures.js';

const onCleanup = useCleanups();

const billingMigrations = (dir: string) => readdirSync(path.join(dir, 'extensions/billing/migrations')).filter((n) => n !== 'migration_lock.toml').sort();

describe('revision --regenerate and the migrations applied in the target database', () => {
  it('refuses while a migration is applied, and allows it once it is rolled back (PostgreSQL)', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING } } });
    const env = { APP_EXTENSIONS: 'billing', DATABASE_URL: db.url };
    expect((await runCli(dir, ['revision', '--all', '-m', 'init'], { APP_EXTENSIONS: 'billing' })).exitCode).toBe(0);
    expect((await runCli(dir, ['migrate', '--all'], env)).exitCode).toBe(0);
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
    const dir = makeProject(onCleanup);
    expect((await runCli(dir, ['revision', '--core', '-m', 'init'])).exitCode).toBe(0);
    const r = await runCli(dir, ['revision', '--core', '--regenerate', '-m', 'init']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/replacing 1 migration\(s\)$/);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });
});

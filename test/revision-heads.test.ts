/**
 * Two branches each add a migration to the same owner from the same parent; after the merge
 * the owner has two heads. revision, check and migrate say so; `revision --merge` joins them
 * once both branches together give the schema.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BILLING, makeProject, useCleanups } from './fixtures.js';
import { createDatabase, runCli } from './helpers.js';

const ENV = { APP_EXTENSIONS: 'billing' };
const REFUND = '\nmodel Refund {\n  id     Int @id @default(autoincrement())\n  amount Int\n\n  @@map("billing_refunds")\n}\n';

const git = (dir: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: dir });
const billingSchema = (dir: string) => path.join(dir, 'extensions/billing/schema.prisma');
const billingMigrations = (dir: string) =>
  readdirSync(path.join(dir, 'extensions/billing/migrations'))
    .filter((n) => /^\d{14}_/.test(n))
    .sort();

/** core + billing with one migration each, then branch a (a column) and branch b (a table), merged. */
async function mergedBranches(onCleanup: (fn: () => unknown) => void): Promise<{ dir: string; init: string; paid: string; refunds: string }> {
  const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING } } });
  expect((await runCli(dir, ['revision', '--all', '-m', 'init'], ENV)).exitCode).toBe(0);
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'init');

  await git(dir, 'checkout', '-q', '-b', 'a');
  writeFileSync(billingSchema(dir), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime?\n'));
  expect((await runCli(dir, ['revision', '--extension', 'billing', '-m', 'paid'], ENV)).exitCode).toBe(0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'paid');

  await git(dir, 'checkout', '-q', 'main');
  await git(dir, 'checkout', '-q', '-b', 'b');
  writeFileSync(billingSchema(dir), BILLING + REFUND);
  // Made a second later on the other branch, as a teammate would.
  await new Promise((r) => setTimeout(r, 1100));
  expect((await runCli(dir, ['revision', '--extension', 'billing', '-m', 'refunds'], ENV)).exitCode).toBe(0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'refunds');

  await git(dir, 'checkout', '-q', 'a');
  await git(dir, 'merge', '-q', '--no-edit', 'b');
  expect(readFileSync(billingSchema(dir), 'utf8')).toContain('paidAt');
  expect(readFileSync(billingSchema(dir), 'utf8')).toContain('model Refund');
  const [init, paid, refunds] = billingMigrations(dir) as [string, string, string];
  return { dir, init, paid, refunds };
}

describe('two heads after a merge of two branches', () => {
  const onCleanup = useCleanups();

  it('are reported by revision, check and migrate, and joined by revision --merge', { timeout: 60_000 }, async () => {
    const { dir, init, paid, refunds } = await mergedBranches(onCleanup);
    expect(readFileSync(path.join(dir, 'extensions/billing/migrations', paid, 'migration.sql'), 'utf8')).toContain(`-- orchestrate:parent ${init}\n`);
    const sentence = `billing has 2 heads, ${paid} and ${refunds} (each made from ${init} on its own branch); join them with \`orchestrate revision --extension billing --merge -m merge\` before generating or applying anything else.`;

    const revision = await runCli(dir, ['revision', '--all'], ENV);
    expect(revision.exitCode).toBe(3);
    expect(revision.stderr).toContain(`error: ${sentence}`);
    expect(billingMigrations(dir)).toHaveLength(3);

    const db = await createDatabase('orch_heads');
    onCleanup(db.drop);
    const migrate = await runCli(dir, ['migrate', '--all'], { ...ENV, DATABASE_URL: db.url });
    expect(migrate.exitCode).toBe(3);
    expect(migrate.stderr).toContain(sentence);
    const check = await runCli(dir, ['check', '--json'], { ...ENV, DATABASE_URL: db.url });
    expect(check.exitCode).toBe(3);
    expect(JSON.parse(check.stdout).problems).toEqual([{ code: 'multiple-heads', owner: 'billing', message: sentence }]);

    const merge = await runCli(dir, ['revision', '--extension', 'billing', '--merge', '-m', 'merge'], ENV);
    expect(merge.exitCode, merge.stderr).toBe(0);
    const [, , , merged] = billingMigrations(dir);
    expect(merge.stdout).toBe(`billing: merged ${paid} and ${refunds} in extensions/billing/migrations/${merged}`);
    const sql = readFileSync(path.join(dir, 'extensions/billing/migrations', merged!, 'migration.sql'), 'utf8');
    expect(sql).toMatch(new RegExp(`^-- orchestrate:requires core \\d{14}_init\\n-- orchestrate:parent ${paid}\\n-- orchestrate:parent ${refunds}\\n`));
    expect(readFileSync(path.join(dir, 'extensions/billing/migrations', merged!, 'snapshot.prisma'), 'utf8')).toBe(readFileSync(billingSchema(dir), 'utf8'));

    // Nothing is repeated: no pending change, everything applies, the project checks clean.
    expect((await runCli(dir, ['revision', '--all', '--check'], ENV)).exitCode).toBe(0);
    const applied = await runCli(dir, ['migrate', '--all'], { ...ENV, DATABASE_URL: db.url });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^Applied 5 migrations \(core: 1, billing: 4\)/);
    const clean = await runCli(dir, ['check'], { ...ENV, DATABASE_URL: db.url });
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);

    // The next migration follows the merge.
    writeFileSync(billingSchema(dir), readFileSync(billingSchema(dir), 'utf8').replace('  amount Int\n', '  amount Int\n  reason String?\n'));
    expect((await runCli(dir, ['revision', '--extension', 'billing', '-m', 'reason'], ENV)).exitCode).toBe(0);
    expect(readFileSync(path.join(dir, 'extensions/billing/migrations', billingMigrations(dir)[4]!, 'migration.sql'), 'utf8')).toContain(`-- orchestrate:parent ${merged}\n`);
  });

  it('refuses a merge when the schema is not what the two branches give together', { timeout: 60_000 }, async () => {
    const { dir, paid, refunds } = await mergedBranches(onCleanup);
    writeFileSync(billingSchema(dir), readFileSync(billingSchema(dir), 'utf8').replace('  amount Int\n', '  amount Int\n  reason String?\n'));
    const merge = await runCli(dir, ['revision', '--extension', 'billing', '--merge'], ENV);
    expect(merge.exitCode).toBe(3);
    expect(merge.stderr).toContain(
      `error: Cannot merge billing's heads ${paid} and ${refunds}: extensions/billing/schema.prisma is not what the two branches give together (it has changes of its own, or both branches changed the same objects);`,
    );
    expect(billingMigrations(dir)).toHaveLength(3);
    const nothing = await runCli(dir, ['revision', '--core', '--merge'], ENV);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stderr).toContain('error: Nothing to merge: core has one head; run `orchestrate revision` without --merge to generate a migration.');
  });
});

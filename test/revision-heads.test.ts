/**
 * Two branches each add a migration to the same owner from the same parent; after the merge
 * the owner has two heads. revision, check and migrate say so; `revision --merge` joins them
 * once both branches together give the schema.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrator } from '../src/index.js';
import { BILLING, CORE, useCleanups } from './fixtures.js';
import { createDatabase, runCli, tempDir, writeProject } from './helpers.js';
import { reviseInProcess } from './in-process.js';

const ENV = { APP_EXTENSIONS: 'billing' };
const REFUND = '\nmodel Refund {\n  id     Int @id @default(autoincrement())\n  amount Int\n\n  @@map("billing_refunds")\n}\n';

const git = (dir: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: dir });
const billingSchema = (dir: string) => path.join(dir, 'extensions/billing/schema.prisma');
const billingMigrations = (dir: string) =>
  readdirSync(path.join(dir, 'extensions/billing/migrations'))
    .filter((n) => /^\d{14}_/.test(n))
    .sort();

/**
 * core + billing with one migration each, then branch a (a column) and branch b (a table), merged.
 * The migrations of the branches are made in this process: what the tests examine starts after
 * the merge.
 */
async function mergedBranches(dir: string): Promise<{ init: string; paid: string; refunds: string }> {
  writeProject(dir, { core: CORE, extensions: { billing: { schema: BILLING } } });
  await reviseInProcess(dir, ['billing'], { name: 'init' });
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'init');

  await git(dir, 'checkout', '-q', '-b', 'a');
  writeFileSync(billingSchema(dir), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime?\n'));
  await reviseInProcess(dir, ['billing'], { owners: ['billing'], name: 'paid' });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'paid');

  await git(dir, 'checkout', '-q', 'main');
  await git(dir, 'checkout', '-q', '-b', 'b');
  writeFileSync(billingSchema(dir), BILLING + REFUND);
  // Made a second later on the other branch, as a teammate would.
  await new Promise((r) => setTimeout(r, 1100));
  await reviseInProcess(dir, ['billing'], { owners: ['billing'], name: 'refunds' });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'refunds');

  await git(dir, 'checkout', '-q', 'a');
  await git(dir, 'merge', '-q', '--no-edit', 'b');
  expect(readFileSync(billingSchema(dir), 'utf8')).toContain('paidAt');
  expect(readFileSync(billingSchema(dir), 'utf8')).toContain('model Refund');
  const [init, paid, refunds] = billingMigrations(dir) as [string, string, string];
  return { init, paid, refunds };
}

describe('two heads after a merge of two branches', () => {
  const onCleanup = useCleanups();

  // The merged repository is made once; each test works on a copy.
  let merged: { template: string; init: string; paid: string; refunds: string };
  let removeTemplate = () => {};
  beforeAll(async () => {
    const t = tempDir();
    removeTemplate = t.cleanup;
    merged = { template: t.dir, ...(await mergedBranches(t.dir)) };
  });
  afterAll(() => removeTemplate());
  function copy(): { dir: string; init: string; paid: string; refunds: string } {
    const t = tempDir();
    onCleanup(t.cleanup);
    cpSync(merged.template, t.dir, { recursive: true });
    return { ...merged, dir: t.dir };
  }

  it('are reported by revision, check and migrate, and joined by revision --merge', { timeout: 60_000 }, async () => {
    const { dir, init, paid, refunds } = copy();
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
    // check's report is data: read in this process, on the same database.
    const orchestrator = createOrchestrator({ root: dir, extensions: ['billing'], database: db.url, env: {} });
    onCleanup(() => orchestrator.close());
    const check = await orchestrator.check();
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([{ code: 'multiple-heads', owner: 'billing', message: sentence }]);

    const merge = await runCli(dir, ['revision', '--extension', 'billing', '--merge', '-m', 'merge'], ENV);
    expect(merge.exitCode, merge.stderr).toBe(0);
    const [, , , mergeMigration] = billingMigrations(dir);
    expect(merge.stdout).toBe(`billing: merged ${paid} and ${refunds} in extensions/billing/migrations/${mergeMigration}`);
    const sql = readFileSync(path.join(dir, 'extensions/billing/migrations', mergeMigration!, 'migration.sql'), 'utf8');
    expect(sql).toMatch(new RegExp(`^-- orchestrate:requires core \\d{14}_init\\n-- orchestrate:parent ${paid}\\n-- orchestrate:parent ${refunds}\\n`));
    expect(readFileSync(path.join(dir, 'extensions/billing/migrations', mergeMigration!, 'snapshot.prisma'), 'utf8')).toBe(readFileSync(billingSchema(dir), 'utf8'));

    // Nothing is repeated: no pending change, everything applies, the project checks clean.
    expect((await orchestrator.planRevision()).owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['core: unchanged', 'billing: unchanged']);
    const applied = await orchestrator.apply(await orchestrator.planUpgrade());
    expect(applied.ok, applied.error?.problem.message).toBe(true);
    expect(applied.results.map((r) => `${r.owner} ${r.status}`)).toEqual(['core Success', ...Array<string>(4).fill('billing Success')]);
    const clean = await orchestrator.check();
    expect(clean.problems).toEqual([]);
    expect(clean.ok).toBe(true);

    // The next migration follows the merge.
    writeFileSync(billingSchema(dir), readFileSync(billingSchema(dir), 'utf8').replace('  amount Int\n', '  amount Int\n  reason String?\n'));
    await reviseInProcess(dir, ['billing'], { owners: ['billing'], name: 'reason' });
    expect(readFileSync(path.join(dir, 'extensions/billing/migrations', billingMigrations(dir)[4]!, 'migration.sql'), 'utf8')).toContain(`-- orchestrate:parent ${mergeMigration}\n`);
  });

  it('refuses a merge when the schema is not what the two branches give together', { timeout: 60_000 }, async () => {
    const { dir, paid, refunds } = copy();
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

/**
 * Deploys that cannot go silently wrong, through the built CLI: extensions left out of
 * APP_EXTENSIONS are named (and refused with --strict), nothing is written outside the project,
 * misnamed migration folders are refused, progress names a migration before it runs, failures
 * keep what was applied in --json, one owner selection everywhere, and downgrades that drop
 * rows need a confirmation.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, historyRows, stackLines, tables, useSampleOnPostgres, writeMigration } from './apply-fixtures.js';
import { checkData, migrateInProcess } from './in-process.js';
import { CLI, query, runCli, tempDir } from './helpers.js';
import type { CheckData } from '../src/commands/check.js';
import type { MigrateData } from '../src/commands/migrate.js';

const sample = useSampleOnPostgres('orch-deploy-');
const cli = (args: string[], env: Record<string, string> = {}) => runCli(sample.dir, args, { ...sample.env, ...env });
/** A --json document; error documents carry the partial result beside `error`. */
const json = <T = Record<string, unknown>>(stdout: string) => JSON.parse(stdout) as T;
type Failed<T> = T & { error: { message: string; exitCode: number } };
const oneLine = (stderr: string) => {
  expect(stackLines(stderr)).toEqual([]);
  return stderr.split('\n').filter((l) => l.startsWith('error: '));
};

describe('extensions that are not enabled', () => {
  it('migrate, status, check and generate name them with their counts; --strict and ORCHESTRATE_STRICT=1 exit 3 before anything is applied', async () => {
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);
    const coreOnly = { APP_EXTENSIONS: '' };
    const crmLine =
      'warning: Extension "crm" is not enabled (enabled: (none)), but extensions/crm holds 1 migration and the database\'s _prisma_migrations_crm records 1 applied migration; enable it (APP_EXTENSIONS=billing,crm), or uninstall it first (`orchestrate --extensions billing,crm downgrade --extension crm --target base`).';

    const migrate = await cli(['migrate', '--all'], coreOnly);
    expect(migrate.exitCode).toBe(0);
    expect(migrate.stdout).toBe('Nothing to apply: 1 owner up to date.');
    expect(migrate.stderr.split('\n')).toEqual([expect.stringMatching(/^warning: Extension "billing" is not enabled .*holds 2 migrations .*records 2 applied migrations/), crmLine]);

    const status = await cli(['--json', 'status'], coreOnly);
    expect(json(status.stdout).warnings).toEqual([
      expect.objectContaining({ kind: 'disabled-extension', extension: 'billing', folder: 'extensions/billing', migrations: 2, historyTable: '_prisma_migrations_billing', applied: 2 }),
      expect.objectContaining({ extension: 'crm', migrations: 1, applied: 1 }),
    ]);
    expect(status.stderr.split('\n')).toHaveLength(2);

    // A new core migration: strict mode refuses before applying it.
    writeMigration(sample.dir, 'core', '20240301000000_tag', { sql: 'CREATE TABLE "Tag" ("id" INTEGER);\n', down: 'DROP TABLE "Tag";\n' });
    for (const strict of [['--strict'], []]) {
      const r = await cli(['--json', 'migrate', '--all', ...strict], { ...coreOnly, ...(strict.length ? {} : { ORCHESTRATE_STRICT: '1' }) });
      expect(r.exitCode).toBe(3);
      const doc = json<Failed<MigrateData>>(r.stdout);
      expect(doc.error.message).toMatch(/^Refusing to continue in strict mode \(--strict or ORCHESTRATE_STRICT=1\), nothing was changed: Extension "billing" is not enabled/);
      expect(doc.owners).toEqual([{ owner: 'core', historyTable: '_prisma_migrations', applied: [], skipped: [CORE_INIT, CORE_NAME], remaining: ['20240301000000_tag'], failed: null }]);
    }
    expect(await tables(sample.url)).not.toContain('Tag');
    // generate warns too, and with --strict stops before running prisma generate.
    const generate = await cli(['--json', 'generate', '--strict'], coreOnly);
    expect(generate.exitCode).toBe(3);
    expect(json<Failed<object>>(generate.stdout).error.message).toMatch(/^Refusing to continue in strict mode .*Extension "billing" is not enabled \(enabled: \(none\)\), but extensions\/billing holds 2 migrations; enable it/);
    const badStrict = await cli(['migrate'], { ORCHESTRATE_STRICT: 'yes' });
    expect(badStrict.exitCode).toBe(2);

  }, 60_000);

  it('check puts "enable it" first, warns about folders (problems with --strict), and its uninstall command works for an extension with a dependency', async () => {
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);
    const coreOnly = { APP_EXTENSIONS: '' };
    mkdirSync(path.join(sample.dir, 'extensions/loyalty'));
    writeFileSync(path.join(sample.dir, 'extensions/loyalty/schema.prisma'), '// loyalty\n');
    // The report as data in-process; the CLI run below keeps --strict.
    const data = await checkData(sample.dir, ['billing'], { database: sample.url });
    expect(data.problems.filter((p) => p.code === 'orphan-history').map((p) => p.message)).toEqual([
      'History table "_prisma_migrations_crm" records 1 applied migration(s) of extension "crm", which is not enabled, so its tables are still in the database; enable it (APP_EXTENSIONS=billing,crm), or uninstall it with `orchestrate --extensions billing,crm downgrade --extension crm --target base`.',
    ]);
    expect(data.warnings).toEqual([expect.objectContaining({ extension: 'loyalty', migrations: 0, historyTable: null })]);
    const strictCheck = json<CheckData>((await cli(['--json', 'check', '--strict'], { APP_EXTENSIONS: 'billing,crm' })).stdout);
    expect(strictCheck.problems.map((p) => [p.code, p.owner])).toContainEqual(['disabled-extension', 'loyalty']);

    // The uninstall command check gives works: crm depends on billing, both enabled by it.
    const uninstall = await cli(['--extensions', 'billing,crm', 'downgrade', '--extension', 'crm', '--target', 'base', '--yes'], coreOnly);
    expect(uninstall.exitCode).toBe(0);
    expect(await tables(sample.url)).not.toContain('crm_contact');
  }, 60_000);
});

describe('nothing is written outside the project, misnamed migration folders are refused', () => {
  it('a symlinked migrations folder leading outside, and config paths outside, get one sentence and exit 2', async () => {
    const outside = tempDir('orch-outside-');
    try {
      // billing's migrations live outside the project, reached through a symlink.
      const real = path.join(outside.dir, 'migrations');
      writeFileSync(path.join(sample.dir, 'extensions/billing/migrations', BILLING_PLAN, 'snapshot.prisma'), '// billing fragment\n');
      copyFileSync(path.join(sample.dir, 'prisma/schema.prisma'), path.join(sample.dir, 'prisma/migrations', CORE_NAME, 'snapshot.prisma'));
      renameSync(path.join(sample.dir, 'extensions/billing/migrations'), real);
      symlinkSync(real, path.join(sample.dir, 'extensions/billing/migrations'));
      writeFileSync(path.join(sample.dir, 'extensions/billing/schema.prisma'), 'model billing_thing {\n  id Int @id\n}\n');
      const before = readdirSync(real).sort();
      const r = await cli(['revision', '--extension', 'billing', '-m', 'thing']);
      expect(r.exitCode).toBe(2);
      expect(oneLine(r.stderr)).toEqual([
        `error: The migrations folder of billing (extensions/billing/migrations) leads outside the project root ${sample.dir}, to ${real}; orchestrate writes only inside the project, so replace the symlink with a folder inside it (copy the files over) and run the command again.`,
      ]);
      expect(readdirSync(real).sort()).toEqual(before);

      writeFileSync(path.join(sample.dir, 'orchestrate.config.json'), JSON.stringify({ extensionsDir: '../outside' }));
      const create = await cli(['create', 'loyalty']);
      expect(create.exitCode).toBe(2);
      expect(oneLine(create.stderr)).toEqual([
        `error: ${path.join(sample.dir, 'orchestrate.config.json')}: "extensionsDir": "../outside" leads outside the project root ${sample.dir}; orchestrate only writes inside the project, so give a path inside it, e.g. "extensions".`,
      ]);
      expect(existsSync(path.join(path.dirname(sample.dir), 'outside', 'loyalty'))).toBe(false);
    } finally {
      outside.cleanup();
    }
  });

  it('check flags folders not named <timestamp>_<slug>; migrate refuses them, applying nothing', async () => {
    for (const name of ['zzz', 'add users', 'x\ny']) writeMigration(sample.dir, 'crm', name, { sql: 'CREATE TABLE "crm_bad" ("id" INTEGER);\n' });
    const check = await checkData(sample.dir, ['billing', 'crm'], { database: sample.url });
    expect(check.problems.filter((p) => p.code === 'migration-name')).toEqual([
      {
        code: 'migration-name',
        owner: 'crm',
        message: expect.stringContaining(`extensions/crm/migrations holds folders not named like a migration (<UTC YYYYMMDDHHMMSS>_<name>, letters, digits, _ and -): "add users", "x\\ny", "zzz"; rename each`),
      },
    ]);
    const r = await cli(['migrate', '--all']);
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(await tables(sample.url)).toEqual([]);
  }, 60_000);
});

describe('progress, partial results', () => {
  it('names each migration before it runs and its duration after, on stderr; a failure keeps what was applied in --json and in the sentence', async () => {
    writeMigration(sample.dir, 'crm', '20240120000000_bad', { sql: 'CREATE TABLE "crm_note" ("id" INTEGER);\nINSERT INTO "crm_missing" VALUES (1);\n' });
    const r = await cli(['--json', 'migrate', '--all']);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, 4)).toEqual([`Applying core/${CORE_INIT} …`, expect.stringMatching(new RegExp(`^Applied core/${CORE_INIT} \\((\\d+ ms|\\d+\\.\\d s)\\)$`)), `Applying core/${CORE_NAME} …`, expect.stringMatching(/^Applied core/)]);
    expect(lines.at(-2)).toBe('Applying crm/20240120000000_bad …');
    const doc = json<Failed<MigrateData>>(r.stdout);
    expect(doc.error.message).toMatch(/^crm\/20240120000000_bad failed and was rolled back, .* Applied before it in this run, and still applied: 5 migrations \(core: 2, billing: 2, crm: 1\)\.$/);
    expect(doc.applied).toBe(5);
    expect(doc.owners.map((o) => [o.owner, o.applied.map((a) => a.migration), o.skipped, o.remaining, o.failed])).toEqual([
      ['core', [CORE_INIT, CORE_NAME], [], [], null],
      ['billing', [BILLING_INIT, BILLING_PLAN], [], [], null],
      ['crm', [CRM_INIT], [], [], '20240120000000_bad'],
    ]);
    expect(lines.at(-1)).toBe(`error: ${doc.error.message}`);
  });
});

describe('one owner selection, friendlier --target', () => {
  it('history and current take --core, --extension (repeatable) and --all, and the positional shorthand', async () => {
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);
    const owners = async (args: string[]) => json<{ owners: { owner: string }[] }>((await cli(['--json', ...args])).stdout).owners.map((o) => o.owner);
    expect(await owners(['history', '--extension', 'billing'])).toEqual(['billing']);
    expect(await owners(['history', '--all'])).toEqual(['core', 'billing', 'crm']);
    expect(await owners(['history', 'crm'])).toEqual(['crm']);
    expect(await owners(['current', '--core', '--extension', 'crm'])).toEqual(['core', 'crm']);
    expect(await owners(['status', '--extension', 'billing', '--extension', 'crm'])).toEqual(['billing', 'crm']);
    const both = await cli(['history', 'crm', '--core']);
    expect(both.exitCode).toBe(2);
    expect(oneLine(both.stderr)).toHaveLength(1);
    const check = json<CheckData>((await cli(['--json', 'check', '--extension', 'crm'])).stdout);
    expect(check.problems.every((p) => p.owner === 'crm' || p.owner === null)).toBe(true);
  }, 60_000);

  it('--target takes a unique prefix of a timestamp or slug, -N and zero; ambiguous or backward targets get one sentence', async () => {
    const m = await cli(['migrate', '--target', 'user_na']);
    expect(m.exitCode).toBe(0);
    expect(m.stdout).toMatch(/^Applied 2 migrations \(core: 2\)/);
    const ambiguous = await cli(['migrate', '--target', '2024']);
    expect(ambiguous.exitCode).toBe(2);
    expect(oneLine(ambiguous.stderr)[0]).toMatch(/^error: --target 2024 is ambiguous: it matches core\/20240101000000_init, .*; give more of the name\.$/);
    expect((await cli(['migrate', '--target', '-1'])).exitCode).toBe(2);
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);

    const back = await cli(['downgrade', '--extension', 'billing', '--target', '-1', '--yes']);
    expect(back.stdout).toMatch(/^Rolled back 1 migration \(billing: 1\)/);
    expect((await historyRows(sample.url, '_prisma_migrations_billing')).filter((r) => !r.rolled_back).map((r) => r.migration_name)).toEqual([BILLING_INIT]);
    const tooFar = await cli(['downgrade', '--extension', 'billing', '--target', '-2']);
    expect(tooFar.exitCode).toBe(2);
    expect(oneLine(tooFar.stderr)).toEqual(['error: downgrade --target -2: billing has only 1 applied migration; give at most -1, or --target base to roll back all of them.']);
    expect((await cli(['downgrade', '--target', '-1'])).exitCode).toBe(2);
    const zero = await cli(['downgrade', '--extension', 'crm', '--target', 'zero', '--yes']);
    expect(zero.exitCode).toBe(0);
    expect(await tables(sample.url)).not.toContain('crm_contact');
  }, 60_000);
});

/** Runs the CLI on a pseudo-terminal (script(1)) and answers its first question. */
async function onTerminal(args: string[], answer: string): Promise<{ output: string; exitCode: number | undefined }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const child = execa('script', ['-qec', command, '/dev/null'], {
    cwd: sample.dir,
    reject: false,
    env: { ...sample.env, NO_COLOR: '1' },
    stdin: 'pipe',
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('[y/N]') && !child.stdin!.writableEnded) child.stdin!.end(`${answer}\n`);
  });
  const r = await child;
  return { output: output.replace(/\r/g, ''), exitCode: r.exitCode };
}

describe('destructive downgrades', () => {
  it('lists what is dropped with row counts; without a terminal, --yes is needed when rows would be lost', async () => {
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);
    await query(sample.url, `INSERT INTO "User" ("email", "billing_plan") VALUES ('a@example.com', 'pro')`);
    const refused = await cli(['downgrade', '--extension', 'billing', '--target', BILLING_INIT]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.split('\n')).toEqual([
      'This downgrade drops:',
      `  column User.billing_plan (1 row), by billing/${BILLING_PLAN}`,
      'error: Refusing to drop data without confirmation, nothing was rolled back: column User.billing_plan (1 row); back it up if you need it, then run the same command with --yes.',
    ]);
    expect((await historyRows(sample.url, '_prisma_migrations_billing')).filter((r) => !r.rolled_back)).toHaveLength(2);

    // Empty tables go without asking; with rows, --yes.
    const crm = await cli(['--json', 'downgrade', '--extension', 'crm', '--target', 'base']);
    expect(crm.exitCode).toBe(0);
    expect(json(crm.stdout).drops).toEqual([{ owner: 'crm', migration: CRM_INIT, table: 'crm_contact', column: null, rows: 0 }]);
    // On a terminal (a pty from script(1)) it asks; "n" keeps everything.
    const asked = await onTerminal(['downgrade', '--extension', 'billing', '--target', BILLING_INIT], 'n');
    expect(asked.output).toContain('Drop column User.billing_plan (1 row)? This cannot be undone. [y/N]');
    expect(asked.output).toContain('error: Downgrade cancelled, nothing was rolled back.');
    expect(asked.exitCode).toBe(2);
    expect((await historyRows(sample.url, '_prisma_migrations_billing')).filter((r) => !r.rolled_back)).toHaveLength(2);

    const yes = await cli(['downgrade', '--extension', 'billing', '--target', BILLING_INIT, '--yes']);
    expect(yes.exitCode).toBe(0);
    expect(yes.stderr).toContain('column User.billing_plan (1 row)');
    expect(await query(sample.url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'User' AND column_name = 'billing_plan'`)).toEqual([]);
  }, 60_000);
});

describe('schema changes without a migration', () => {
  it('status and migrate name the owner and the revision command; status --exit-code exits 3; a comment is not a change', async () => {
    const snapshot = path.join(sample.dir, 'extensions/billing/migrations', BILLING_PLAN, 'snapshot.prisma');
    writeFileSync(snapshot, '// billing fragment\n');
    await migrateInProcess(sample.dir, ['billing', 'crm'], sample.url);
    // A reworded comment and blank lines: not a change.
    writeFileSync(path.join(sample.dir, 'extensions/billing/schema.prisma'), '// the billing fragment, reworded\n\n');
    const quiet = await cli(['status', '--exit-code']);
    expect(quiet.exitCode).toBe(0);

    writeFileSync(path.join(sample.dir, 'extensions/billing/schema.prisma'), '// billing fragment\nmodel Coupon {\n  id Int @id\n  @@map("billing_coupons")\n}\n');
    const status = await cli(['status', '--exit-code']);
    expect(status.exitCode).toBe(3);
    expect(status.stdout.split('\n').slice(-2)).toEqual([
      'Up to date: 3 owners, 5 applied.',
      'billing: extensions/billing/schema.prisma has schema changes without a migration; write one with `orchestrate revision --extension billing -m <name>`.',
    ]);
    const data = json((await cli(['--json', 'status'])).stdout);
    expect(data.schemaChanges).toEqual([{ owner: 'billing', reason: 'changed', schema: 'extensions/billing/schema.prisma', command: 'orchestrate revision --extension billing -m <name>' }]);
    const migrate = await cli(['migrate']);
    expect(migrate.exitCode).toBe(0);
    expect(migrate.stderr).toBe(
      'warning: billing: extensions/billing/schema.prisma has schema changes without a migration, so the database does not have them; write one with `orchestrate revision --extension billing -m <name>`.',
    );
  }, 60_000);
});

describe('50 owners and more', () => {
  it('status lists only the owners with work, then counts the others', async () => {
    const names = Array.from({ length: 52 }, (_, i) => `ext${String(i).padStart(2, '0')}`);
    for (const name of names) {
      mkdirSync(path.join(sample.dir, 'extensions', name), { recursive: true });
      writeFileSync(path.join(sample.dir, 'extensions', name, 'schema.prisma'), `// ${name}\n`);
      writeMigration(sample.dir, name, '20240105000000_init', { sql: `CREATE TABLE "${name}_item" ("id" INTEGER);\n`, down: `DROP TABLE "${name}_item";\n` });
    }
    const env = { APP_EXTENSIONS: ['billing', 'crm', ...names].join(',') };
    const first = await cli(['migrate'], env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^Applied 57 migrations to 55 of 55 owners in [\d.]+ m?s\.$/);
    writeMigration(sample.dir, 'ext07', '20240106000000_more', { sql: 'SELECT 1;\n', down: '' });
    const status = await cli(['status'], env);
    const blocks = status.stdout.split('\n\n');
    expect(blocks[0]).toMatch(/^ext07 \(_prisma_migrations_ext07\): 1 applied, 1 pending\n/);
    expect(blocks[1]).toBe('54 other owners up to date (56 applied); `orchestrate status --extension <name>` shows one.');
    expect(blocks[2]).toBe('Not up to date: 57 applied, 1 pending.');
  }, 60_000);
});

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, catalogSnapshot, createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';
import { CORE, makeProject, oneErrorLine, useCleanups } from './fixtures.js';

const onCleanup = useCleanups();

function migrationDirs(dir: string, owner: string): string[] {
  const folder = path.join(dir, 'extensions', owner, 'migrations');
  if (!existsSync(folder)) return [];
  return readdirSync(folder).filter((n) => n !== 'migration_lock.toml').sort();
}

function migrationFile(dir: string, owner: string, index: number, file: string): string {
  return readFileSync(path.join(dir, 'extensions', owner, 'migrations', migrationDirs(dir, owner)[index]!, file), 'utf8');
}

/** The fragment after the user related the sample model to core's User. */
const RELATED = `model LoyaltyItem {
  id        Int      @id @default(autoincrement())
  name      String
  createdAt DateTime @default(now())
  userId    Int?
  user      User?    @relation(fields: [userId], references: [id])

  @@map("loyalty_items")
}

extend model User {
  loyaltyItems LoyaltyItem[]
}
`;

async function json<T>(dir: string, args: string[], env: Record<string, string>): Promise<T> {
  const r = await runCli(dir, ['--json', ...args], env);
  expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout as string) as T;
}

type Status = { owners: { owner: string; historyTableExists: boolean; counts: { applied: number; pending: number } }[] };

describe.each([
  { label: 'embedded database (PGlite)', real: false },
  { label: 'PostgreSQL', real: true },
])('create, relate, migrate and uninstall an extension on the $label', ({ real }) => {
  // One story in three steps (each a few CLI runs), sharing the project; a step fails when an
  // earlier one did.
  const project: { dir: string; env: Record<string, string>; coreOnly: string | null } = { dir: '', env: {}, coreOnly: null };
  const afterStory: (() => unknown)[] = [];
  beforeAll(async () => {
    const t = tempDir();
    afterStory.push(t.cleanup);
    writeProject(t.dir, { core: CORE });
    project.dir = t.dir;
    if (real) {
      const db = await createDatabase();
      afterStory.push(db.drop);
      project.env.DATABASE_URL = db.url;
    }
    // Core with its migration applied. Revisions need no database; `create` runs one against
    // the target database itself.
    expect((await runCli(t.dir, ['revision', '--core', '-m', 'init'])).exitCode).toBe(0);
    expect((await runCli(t.dir, ['migrate'], project.env)).exitCode).toBe(0);
    project.coreOnly = real ? await catalogSnapshot(project.env.DATABASE_URL!) : null;
  });
  afterAll(async () => {
    while (afterStory.length) await afterStory.pop()!();
  });

  it('scaffolds loyalty next to core, with its initial migration applied', async () => {
    const { dir, env } = project;
    // create: scaffold, initial migration, applied; not yet in APP_EXTENSIONS, so say how.
    const created = await runCli(dir, ['create', 'loyalty'], env);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout.split('\n')).toEqual([
      'Created extensions/loyalty/: extension.json, schema.prisma (model LoyaltyItem, table loyalty_items).',
      expect.stringMatching(/^loyalty: created extensions\/loyalty\/migrations\/\d{14}_init \(1 statement\)$/),
      expect.stringMatching(/^Applied 1 migration \(loyalty: 1\) in \S+ m?s\.$/),
      '"loyalty" is not enabled yet: add this line to the environment (.env, Docker, CI):',
      '  APP_EXTENSIONS=loyalty',
    ]);
    expect(JSON.parse(readFileSync(path.join(dir, 'extensions/loyalty/extension.json'), 'utf8'))).toEqual({ dependsOn: [], description: 'The loyalty extension.' });
    expect(readFileSync(path.join(dir, 'extensions/loyalty/schema.prisma'), 'utf8')).toContain('@@map("loyalty_items")');
    expect(migrationDirs(dir, 'loyalty')).toHaveLength(1);
    const init = migrationFile(dir, 'loyalty', 0, 'migration.sql');
    expect(init).toMatch(/^-- orchestrate:requires core \d{14}_init\n/);
    expect(init).toContain('CREATE TABLE "loyalty_items"');
    expect(migrationFile(dir, 'loyalty', 0, 'down.sql')).toContain('DROP TABLE "loyalty_items"');
  });

  it('relates it to core\'s User with `extend model`, in a migration of its own', async () => {
    const { dir } = project;
    writeFileSync(path.join(dir, 'extensions/loyalty/schema.prisma'), RELATED);
    const rev = await runCli(dir, ['revision', '--extension', 'loyalty', '-m', 'link users'], { APP_EXTENSIONS: 'loyalty' });
    expect(rev.exitCode, rev.stderr).toBe(0);
    expect(migrationDirs(dir, 'loyalty')[1]).toMatch(/^\d{14}_link_users$/);
    const link = migrationFile(dir, 'loyalty', 1, 'migration.sql');
    expect(link).toContain('ALTER TABLE "loyalty_items" ADD COLUMN     "userId" INTEGER;');
    expect(link).toContain('FOREIGN KEY ("userId") REFERENCES "User"("id")');
    expect(link).not.toMatch(/(CREATE|ALTER|DROP) TABLE "User"/);
    expect(migrationFile(dir, 'loyalty', 1, 'down.sql')).toContain('DROP COLUMN "userId"');
  });

  it('migrates it, then uninstalls it leaving core as it was', async () => {
    const { dir, env } = project;
    const enabled = { ...env, APP_EXTENSIONS: 'loyalty' };
    const migrated = await json<{ owners: { owner: string; applied: unknown[]; skipped: string[] }[] }>(dir, ['migrate', '--all'], enabled);
    expect(migrated.owners.map((o) => [o.owner, o.skipped.length, o.applied.length])).toEqual([['core', 1, 0], ['loyalty', 1, 1]]);
    if (real) {
      const fk = await query(env.DATABASE_URL!, `SELECT conname FROM pg_constraint WHERE conrelid = 'loyalty_items'::regclass AND contype = 'f'`);
      expect(fk.map((r) => r.conname)).toEqual(['loyalty_items_userId_fkey']);
    }

    // Uninstall: its tables and history go, core stays exactly as it was.
    const down = await runCli(dir, ['downgrade', '--extension', 'loyalty', '--target', 'base'], enabled);
    expect(down.exitCode, down.stderr).toBe(0);
    const status = await json<Status>(dir, ['status'], enabled);
    expect(status.owners.map((o) => [o.owner, o.counts.applied, o.counts.pending, o.historyTableExists])).toEqual([
      ['core', 1, 0, true],
      ['loyalty', 0, 2, false],
    ]);
    if (real) expect(await catalogSnapshot(env.DATABASE_URL!)).toBe(project.coreOnly);
  });
});

describe('create: bad input is refused before anything is written', () => {
  it.each([
    ['a;drop table x'],
    ['Loyalty'],
    ['1st'],
    ['core'],
    ['with-dash'],
    ['x'.repeat(41)],
  ])('refuses the name %j with exit 2 and one sentence', async (name) => {
    const dir = makeProject(onCleanup);
    const r = await runCli(dir, ['create', name]);
    expect(r.exitCode).toBe(2);
    const message = oneErrorLine(r.stderr as string);
    expect(message).toMatch(name === 'core' ? /^create: "core" is reserved/ : /^create: invalid extension name .*; names must match \^\[a-z\]\[a-z0-9_\]\{0,39\}\$/);
    expect(existsSync(path.join(dir, 'extensions'))).toBe(false);
    expect(r.stdout).toBe('');
  });

  it('refuses an existing folder and points at init', async () => {
    const dir = makeProject(onCleanup, { extensions: { loyalty: { schema: '// mine\n' } } });
    const r = await runCli(dir, ['create', 'loyalty']);
    expect(r.exitCode).toBe(2);
    expect(oneErrorLine(r.stderr as string)).toBe(
      'create loyalty: extensions/loyalty already exists; choose another name, or run `orchestrate init loyalty` to add migrations to that folder.',
    );
    expect(readFileSync(path.join(dir, 'extensions/loyalty/schema.prisma'), 'utf8')).toBe('// mine\n');
  });

  it('removes everything it wrote when composition fails', async () => {
    // Core already declares the sample model's name: composition fails after the folder exists.
    const dir = makeProject(onCleanup, { core: 'model LoyaltyItem {\n  id Int @id\n}\n' });
    const r = await runCli(dir, ['create', 'loyalty']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('model "LoyaltyItem" is already declared in prisma/schema.prisma:');
    expect(r.stderr).toContain('create removed extensions/loyalty/ again, so fix the cause and run `orchestrate create loyalty` again.');
    expect(existsSync(path.join(dir, 'extensions'))).toBe(false);
  });

  it('removes everything it wrote when its migration cannot be applied', async () => {
    // Core has a migration that is not applied: the extension's requires it, so migrate refuses.
    const other = makeProject(onCleanup, { extensions: { billing: { schema: '// empty\n' } } });
    expect((await runCli(other, ['revision', '--core', '-m', 'init'])).exitCode).toBe(0);
    const failed = await runCli(other, ['create', 'loyalty']);
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain('loyalty/');
    expect(failed.stderr).toContain('requires core/');
    expect(readdirSync(path.join(other, 'extensions'))).toEqual(['billing']);
  });
});

describe('create interrupted', () => {
  it('removes the folder it was writing when stopped with Ctrl-C (SIGINT)', async () => {
    const dir = makeProject(onCleanup);
    const child = execa(process.execPath, [CLI, 'create', 'loyalty'], { cwd: dir, reject: false, env: { APP_EXTENSIONS: '', DATABASE_URL: undefined } });
    const folder = path.join(dir, 'extensions/loyalty');
    // Stop it as soon as the scaffold exists, while the migration is being generated.
    for (let i = 0; i < 500 && !existsSync(folder); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(existsSync(folder)).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.signal ?? result.exitCode).not.toBe(0);
    expect(existsSync(path.join(dir, 'extensions'))).toBe(false);
  });
});

describe('create options', () => {
  /** A project whose core has its migration: an extension migration requires the one it was made against. */
  async function withCoreMigration(): Promise<string> {
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: '// nothing yet\n' } } });
    expect((await runCli(dir, ['revision', '--core', '-m', 'init'], { APP_EXTENSIONS: 'billing' })).exitCode).toBe(0);
    return dir;
  }

  it('--skip-model writes an empty fragment and no migration', async () => {
    const dir = await withCoreMigration();
    const empty = await runCli(dir, ['create', 'notes', '--skip-model'], { APP_EXTENSIONS: 'billing' });
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('schema.prisma (no model: --skip-model)');
    expect(empty.stdout).toContain('notes: the fragment declares nothing yet, so there is no initial migration');
    expect(empty.stdout).toContain('  APP_EXTENSIONS=billing,notes');
    expect(readFileSync(path.join(dir, 'extensions/notes/schema.prisma'), 'utf8')).toMatch(/^\/\/ Extension "notes"/);
    expect(existsSync(path.join(dir, 'extensions/notes/migrations'))).toBe(false);
  });

  it('--skip-migrate writes the migration without applying it', async () => {
    const dir = await withCoreMigration();
    const skip = await runCli(dir, ['create', 'loyalty', '--skip-migrate'], { APP_EXTENSIONS: 'billing,loyalty' });
    expect(skip.exitCode, skip.stderr).toBe(0);
    expect(skip.stdout).toContain('Not applied (--skip-migrate); once "loyalty" is enabled, apply it with `orchestrate migrate --extension loyalty` (or now: `orchestrate --extensions billing,loyalty migrate --extension loyalty`).');
    expect(skip.stdout).not.toContain('APP_EXTENSIONS=');
    expect(migrationDirs(dir, 'loyalty')).toHaveLength(1);
    // Nothing was applied: the embedded database was not even created.
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });
});


describe('init', () => {
  it('generates and applies the initial migration of a hand-written extension folder', async () => {
    const env = {};
    const dir = makeProject(onCleanup, {
      extensions: { tags: { schema: 'model Tag {\n  id    Int    @id @default(autoincrement())\n  label String\n\n  @@map("tags_tags")\n}\n' } },
    });
    expect((await runCli(dir, ['revision', '--core', '-m', 'init'], env)).exitCode).toBe(0);
    expect((await runCli(dir, ['migrate', '--core'], env)).exitCode).toBe(0);
    const r = await runCli(dir, ['init', 'tags'], env);
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/^tags: created extensions\/tags\/migrations\/\d{14}_init \(1 statement\)$/m);
    expect(r.stdout).toContain('  APP_EXTENSIONS=tags');
    const history = await json<{ owners: { owner: string; entries: { migration: string; state: string }[] }[] }>(dir, ['history', 'tags'], { APP_EXTENSIONS: 'tags' });
    expect(history.owners).toEqual([{ owner: 'tags', historyTable: '_prisma_migrations_tags', entries: [expect.objectContaining({ migration: migrationDirs(dir, 'tags')[0], state: 'applied' })] }]);

    const again = await runCli(dir, ['init', 'tags'], env);
    expect(again.exitCode).toBe(2);
    expect(oneErrorLine(again.stderr as string)).toBe(
      'init tags: extensions/tags/migrations already holds 1 migration; add new ones with `orchestrate revision --extension tags -m <name>`.',
    );
  });

  it('refuses a missing folder (listing the discovered ones) and a folder without fragment', async () => {
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: '// empty\n' }, crm: { manifest: {} } } });
    const missing = await runCli(dir, ['init', 'nope']);
    expect(missing.exitCode).toBe(2);
    expect(oneErrorLine(missing.stderr as string)).toBe(
      'init nope: there is no folder extensions/nope (discovered: billing, crm); check the name, or scaffold a new extension with `orchestrate create nope`.',
    );
    const noFragment = await runCli(dir, ['init', 'crm']);
    expect(noFragment.exitCode).toBe(2);
    expect(oneErrorLine(noFragment.stderr as string)).toBe(
      'init crm: extensions/crm/schema.prisma does not exist; write the extension\'s models there (no datasource or generator block), then run `orchestrate init crm` again.',
    );
    expect(existsSync(path.join(dir, 'extensions/crm/migrations'))).toBe(false);
  });
});

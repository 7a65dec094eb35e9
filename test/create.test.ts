import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, catalogSnapshot, createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';
import { CORE, makeProject, oneErrorLine, useCleanups } from './fixtures.js';
import { reviseInProcess } from './in-process.js';
import { createOrchestrator, type Orchestrator } from '../src/index.js';
import { UsageError } from '../src/errors.js';
import { validateExtensionName } from '../src/project/project.js';

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

/** An orchestrator on the project's database (its embedded one when `url` is undefined). */
function orchestrator(dir: string, extensions: string[], url: string | undefined): Orchestrator {
  return createOrchestrator({ root: dir, extensions, env: {}, ...(url !== undefined ? { database: url } : {}) });
}

describe.each([
  { label: 'embedded database (PGlite)', real: false },
  { label: 'PostgreSQL', real: true },
])('create, relate, migrate and uninstall an extension on the $label', ({ real }) => {
  // One story in three steps, sharing the project; a step fails when an earlier one did. Only
  // \`create\` runs as a process (its output is what users read); the steps around it are data,
  // checked in-process.
  const project: { dir: string; env: Record<string, string>; url: string | undefined; coreOnly: string | null } = { dir: '', env: {}, url: undefined, coreOnly: null };
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
      project.url = db.url;
    }
    // Core with its migration applied. Revisions need no database; \`create\` runs one against
    // the target database itself.
    await reviseInProcess(t.dir, [], { name: 'init' });
    const o = orchestrator(t.dir, [], project.url);
    try {
      expect((await o.apply(await o.planUpgrade())).ok).toBe(true);
    } finally {
      await o.close();
    }
    project.coreOnly = real ? await catalogSnapshot(project.url!) : null;
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
    await reviseInProcess(dir, ['loyalty'], { owners: ['loyalty'], name: 'link users' });
    expect(migrationDirs(dir, 'loyalty')[1]).toMatch(/^\d{14}_link_users$/);
    const link = migrationFile(dir, 'loyalty', 1, 'migration.sql');
    expect(link).toContain('ALTER TABLE "loyalty_items" ADD COLUMN     "userId" INTEGER;');
    expect(link).toContain('FOREIGN KEY ("userId") REFERENCES "User"("id")');
    expect(link).not.toMatch(/(CREATE|ALTER|DROP) TABLE "User"/);
    expect(migrationFile(dir, 'loyalty', 1, 'down.sql')).toContain('DROP COLUMN "userId"');
  });

  it('migrates it, then uninstalls it leaving core as it was', async () => {
    const { dir, url } = project;
    const o = orchestrator(dir, ['loyalty'], url);
    try {
      // Core and loyalty's first migration are applied already: only the new one runs.
      const migrated = await o.apply(await o.planUpgrade());
      expect(migrated.ok).toBe(true);
      expect(migrated.results.map((r) => [r.owner, r.migration, r.status])).toEqual([['loyalty', migrationDirs(dir, 'loyalty')[1], 'Success']]);
      if (real) {
        const fk = await query(url!, `SELECT conname FROM pg_constraint WHERE conrelid = 'loyalty_items'::regclass AND contype = 'f'`);
        expect(fk.map((r) => r.conname)).toEqual(['loyalty_items_userId_fkey']);
      }

      // Uninstall: its tables and history go, core stays exactly as it was.
      expect((await o.apply(await o.planDowngrade({ owners: ['loyalty'], target: 'base' }))).ok).toBe(true);
      const status = await o.status();
      expect(status.owners.map((s) => [s.owner, s.counts.applied, s.counts.pending, s.historyTableExists])).toEqual([
        ['core', 1, 0, true],
        ['loyalty', 0, 2, false],
      ]);
    } finally {
      await o.close();
    }
    if (real) expect(await catalogSnapshot(url!)).toBe(project.coreOnly);
  });
});

describe('create: bad input is refused before anything is written', () => {
  // The rule and its two sentences, for every kind of bad name; it runs before anything else.
  it.each([
    ['a;drop table x'],
    ['Loyalty'],
    ['1st'],
    ['core'],
    ['with-dash'],
    ['x'.repeat(41)],
  ])('refuses the name %j with one sentence', (name) => {
    let message = '';
    try {
      validateExtensionName(name, 'create');
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      message = (error as Error).message;
    }
    expect(message).toMatch(name === 'core' ? /^create: "core" is reserved/ : /^create: invalid extension name .*; names must match \^\[a-z\]\[a-z0-9_\]\{0,39\}\$/);
  });

  // A process for each of the two sentences: exit 2, nothing written, nothing on stdout.
  it.each([['a;drop table x'], ['core']])('create %j exits 2 with that one sentence and writes nothing', async (name) => {
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
    await reviseInProcess(other, [], { owners: ['core'], name: 'init' });
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
    await reviseInProcess(dir, ['billing'], { owners: ['core'], name: 'init' });
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
    // A real server: the embedded database's start is paid once per process, and the stories
    // above already run create's apply on it.
    const db = await createDatabase();
    onCleanup(db.drop);
    const env = { DATABASE_URL: db.url };
    const dir = makeProject(onCleanup, {
      extensions: { tags: { schema: 'model Tag {\n  id    Int    @id @default(autoincrement())\n  label String\n\n  @@map("tags_tags")\n}\n' } },
    });
    // Core's migration applied, in-process: what is tested starts with `init`.
    await reviseInProcess(dir, [], { owners: ['core'], name: 'init' });
    const before = orchestrator(dir, [], db.url);
    try {
      expect((await before.apply(await before.planUpgrade())).ok).toBe(true);
    } finally {
      await before.close();
    }
    const r = await runCli(dir, ['init', 'tags'], env);
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/^tags: created extensions\/tags\/migrations\/\d{14}_init \(1 statement\)$/m);
    expect(r.stdout).toContain('  APP_EXTENSIONS=tags');
    const after = orchestrator(dir, ['tags'], db.url);
    try {
      const status = await after.status({ owners: ['tags'] });
      expect(status.owners).toEqual([
        expect.objectContaining({ owner: 'tags', historyTable: '_prisma_migrations_tags', migrations: [expect.objectContaining({ migration: migrationDirs(dir, 'tags')[0], status: 'applied' })] }),
      ]);
    } finally {
      await after.close();
    }

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

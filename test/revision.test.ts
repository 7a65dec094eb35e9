import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrator, UsageError, type RevisionRequest, type RevisionWritten } from '../src/index.js';
import { CORE } from './fixtures.js';
import { PG_ADMIN_URL, catalogSnapshot, createDatabase, runCli, tempDir, writeProject } from './helpers.js';
import { reviseInProcess } from './in-process.js';
import pg from 'pg';

const BILLING = `// braces in comments { and strings must not confuse composition }
model Invoice {
  id     Int    @id @default(autoincrement())
  number String @default("INV-{0}")
  userId Int
  user   User   @relation(fields: [userId], references: [id])

  @@map("billing_invoices")
}

extend model User {
  invoices          Invoice[]
  billingCustomerId String?   @map("billing_customer_id")
}
`;

const REPORTS = `model Report {
  id        Int     @id @default(autoincrement())
  invoiceId Int
  invoice   Invoice @relation(fields: [invoiceId], references: [id])

  @@map("reports_reports")
}

extend model Invoice {
  reports Report[]
}
`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const cleanupsAfterAll: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanupsAfterAll.length) await cleanupsAfterAll.pop()!();
});

function project(spec: Parameters<typeof writeProject>[1] = {}) {
  const t = tempDir();
  cleanups.push(t.cleanup);
  writeProject(t.dir, {
    core: CORE,
    extensions: {
      billing: { schema: BILLING },
      reports: { schema: REPORTS, manifest: { dependsOn: ['billing'] } },
    },
    ...spec,
  });
  return t.dir;
}

// A server answers the engine's version query faster than an in-memory database starts;
// the engine only reads from it. One test below runs without any database.
const ALL = { APP_EXTENSIONS: 'billing,reports', DATABASE_URL: PG_ADMIN_URL };

/**
 * `revision` in this process, as the CLI runs it with ALL (or with `extensions` and no database):
 * for the migrations a test starts from or examines as files, where no process output is checked.
 */
function revise(dir: string, request: RevisionRequest, extensions = ['billing', 'reports'], database: string | undefined = PG_ADMIN_URL): Promise<RevisionWritten> {
  return reviseInProcess(dir, extensions, request, database);
}

/** Each owner's status in a revision plan: all `unchanged` is what `revision --check` exits 0 on. */
async function unchanged(dir: string): Promise<string[]> {
  const o = createOrchestrator({ root: dir, extensions: ['billing', 'reports'], database: PG_ADMIN_URL, env: {} });
  try {
    return (await o.planRevision()).owners.map((p) => `${p.owner}: ${p.status}`);
  } finally {
    await o.close();
  }
}

// The default project with its first migrations (`revision --all -m init`), made once: most tests
// start from it and examine what comes next.
let initialized: string;
beforeAll(async () => {
  const t = tempDir();
  cleanupsAfterAll.push(t.cleanup);
  writeProject(t.dir, { core: CORE, extensions: { billing: { schema: BILLING }, reports: { schema: REPORTS, manifest: { dependsOn: ['billing'] } } } });
  await revise(t.dir, { name: 'init' });
  initialized = t.dir;
});

/** A copy of the default project after its first migrations. */
function initializedProject(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  cpSync(initialized, t.dir, { recursive: true });
  return t.dir;
}

function migrationsOf(dir: string, owner: string): string[] {
  const folder = owner === 'core' ? path.join(dir, 'prisma/migrations') : path.join(dir, 'extensions', owner, 'migrations');
  if (!existsSync(folder)) return [];
  return readdirSync(folder).filter((n) => n !== 'migration_lock.toml').sort();
}

function read(dir: string, owner: string, index: number, file: string): string {
  const folder = owner === 'core' ? path.join(dir, 'prisma/migrations') : path.join(dir, 'extensions', owner, 'migrations');
  return readFileSync(path.join(folder, migrationsOf(dir, owner)[index]!, file), 'utf8');
}

async function gitStatus(dir: string): Promise<string> {
  return (await execa('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: dir })).stdout;
}

async function gitInit(dir: string): Promise<void> {
  await execa('git', ['init', '-q'], { cwd: dir });
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init'], { cwd: dir });
}

/** stderr without the progress lines (`Diffing 3 owners ...`, `[2/3] billing: 4 statements (12 ms)`). */
function withoutProgress(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/^(\[\s*\d+\/\d+\] |Diffing \d+ owners? )/.test(l))
    .join('\n');
}

describe('revision', () => {
  it('writes per-owner migrations that only touch their own objects', async () => {
    const dir = project();
    const r = await runCli(dir, ['revision', '--all', '-m', 'init'], ALL);
    expect(withoutProgress(r.stderr)).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^core: created prisma\/migrations\/\d{14}_init \(\d+ statements\)$/m);

    const core = read(dir, 'core', 0, 'migration.sql');
    expect(core).toContain('CREATE TABLE "Organization"');
    expect(core).toContain('CREATE TABLE "User"');
    expect(core).not.toMatch(/billing|Invoice|Report/);
    // Core snapshot is the core schema as it was at that migration.
    expect(read(dir, 'core', 0, 'snapshot.prisma')).toBe(readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8'));

    const billing = read(dir, 'billing', 0, 'migration.sql');
    expect(billing).toMatch(/^-- orchestrate:requires core \d{14}_init\n/);
    expect(billing).toContain('CREATE TABLE "billing_invoices"');
    expect(billing).toContain('ALTER TABLE "User" ADD COLUMN     "billing_customer_id" TEXT;');
    expect(billing).not.toMatch(/CREATE TABLE "User"|DROP TABLE "User"|CREATE TABLE "Organization"/);
    expect(read(dir, 'billing', 0, 'snapshot.prisma')).toBe(BILLING);

    const reports = read(dir, 'reports', 0, 'migration.sql');
    expect(reports).toMatch(/-- orchestrate:requires billing \d{14}_init\n/);
    expect(reports).toContain('CREATE TABLE "reports_reports"');
    expect(reports).toContain('REFERENCES "billing_invoices"("id")');
    expect(reports).not.toMatch(/CREATE TABLE "billing_invoices"|DROP TABLE/);

    for (const folder of ['prisma/migrations', 'extensions/billing/migrations', 'extensions/reports/migrations']) {
      expect(readFileSync(path.join(dir, folder, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
    }
  });

  it('is idempotent and a change to one fragment gives exactly one new migration in that owner', async () => {
    const dir = initializedProject();
    await gitInit(dir);
    const again = await runCli(dir, ['revision', '--all'], ALL);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('No changes: the migrations of 3 owner(s) match their schemas.');
    expect(await gitStatus(dir)).toBe('');

    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime?\n'));
    await revise(dir, { name: 'add paid at' });
    expect(migrationsOf(dir, 'core')).toHaveLength(1);
    expect(migrationsOf(dir, 'reports')).toHaveLength(1);
    expect(migrationsOf(dir, 'billing')).toHaveLength(2);
    expect(migrationsOf(dir, 'billing')[1]).toMatch(/^\d{14}_add_paid_at$/);
    const status = (await gitStatus(dir)).split('\n').sort();
    expect(status).toEqual([
      `?? extensions/billing/migrations/${migrationsOf(dir, 'billing')[1]}/down.sql`,
      `?? extensions/billing/migrations/${migrationsOf(dir, 'billing')[1]}/migration.sql`,
      `?? extensions/billing/migrations/${migrationsOf(dir, 'billing')[1]}/snapshot.prisma`,
      ` M extensions/billing/schema.prisma`,
    ].sort());
  });

  it("writes exactly the SQL Prisma's engine writes for the change", async () => {
    const dir = initializedProject();
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime?\n  total  Decimal  @default(0) @db.Decimal(12, 2)\n'));
    await revise(dir, { owners: ['billing'], name: 'amounts' });
    const up = read(dir, 'billing', 1, 'migration.sql').replace(/^-- orchestrate:(requires|parent) .*\n/gm, '');
    expect(up).toBe('-- AlterTable\nALTER TABLE "billing_invoices" ADD COLUMN     "paidAt" TIMESTAMP(3),\nADD COLUMN     "total" DECIMAL(12,2) NOT NULL DEFAULT 0;\n');
    expect(read(dir, 'billing', 1, 'down.sql')).toBe('-- AlterTable\nALTER TABLE "billing_invoices" DROP COLUMN "paidAt",\nDROP COLUMN "total";\n');

    writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8') + '\nenum Plan {\n  FREE\n  PRO\n}\n');
    await revise(dir, { owners: ['core'], name: 'plan enum' });
    // The new migration names the one it was generated from (covered by the checksum, like `requires`).
    expect(read(dir, 'core', 1, 'migration.sql')).toBe(`-- orchestrate:parent ${migrationsOf(dir, 'core')[0]}\n-- CreateEnum\nCREATE TYPE "Plan" AS ENUM ('FREE', 'PRO');\n`);
    expect(read(dir, 'core', 1, 'down.sql')).toBe('-- DropEnum\nDROP TYPE "Plan";\n');
  });

  it('down.sql returns a real PostgreSQL database to its previous schema', async () => {
    const dir = initializedProject();
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime? @unique\n'));
    await revise(dir, { name: 'paid' });
    const db = await createDatabase();
    cleanups.push(db.drop);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());
    const empty = await catalogSnapshot(db.url);
    await client.query(read(dir, 'core', 0, 'migration.sql'));
    const coreOnly = await catalogSnapshot(db.url);
    await client.query(read(dir, 'billing', 0, 'migration.sql'));
    const billing1 = await catalogSnapshot(db.url);
    await client.query(read(dir, 'reports', 0, 'migration.sql'));
    const withReports = await catalogSnapshot(db.url);
    await client.query(read(dir, 'billing', 1, 'migration.sql'));
    expect(await catalogSnapshot(db.url)).not.toBe(withReports);
    await client.query(read(dir, 'billing', 1, 'down.sql'));
    expect(await catalogSnapshot(db.url)).toBe(withReports);
    await client.query(read(dir, 'reports', 0, 'down.sql'));
    expect(await catalogSnapshot(db.url)).toBe(billing1);
    await client.query(read(dir, 'billing', 0, 'down.sql'));
    expect(await catalogSnapshot(db.url)).toBe(coreOnly);
    await client.query(read(dir, 'core', 0, 'down.sql'));
    expect(await catalogSnapshot(db.url)).toBe(empty);
  });

  it('--check writes nothing and exits 3 while a change has no migration (no database at all)', async () => {
    const dir = project();
    await gitInit(dir);
    const r = await runCli(dir, ['revision', '--all', '--check'], { APP_EXTENSIONS: 'billing,reports' });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain('core: prisma/schema.prisma has changes without a migration');
    expect(await gitStatus(dir)).toBe('');
    await revise(dir, {});
    const ok = await runCli(dir, ['revision', '--all', '--check', '--json'], ALL);
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ check: true, owners: [
      { owner: 'core', status: 'unchanged' },
      { owner: 'billing', status: 'unchanged' },
      { owner: 'reports', status: 'unchanged' },
    ], warnings: [], problems: [] });
  });

  it('--empty writes a blank migration and --regenerate replaces history with one initial migration', async () => {
    const dir = initializedProject();
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  paidAt DateTime?\n'));
    await revise(dir, { owners: ['billing'], name: 'paid' });
    const empty = await revise(dir, { owners: ['billing'], empty: true, name: 'backfill' });
    expect(empty.owners).toEqual([expect.objectContaining({ owner: 'billing', status: 'created' })]);
    expect(migrationsOf(dir, 'billing')).toHaveLength(3);
    expect(read(dir, 'billing', 2, 'migration.sql')).toContain('-- This is an empty migration.');
    // The empty migration keeps the snapshot, so nothing is pending afterwards.
    expect(await unchanged(dir)).toEqual(['core: unchanged', 'billing: unchanged', 'reports: unchanged']);

    const regen = await runCli(dir, ['revision', '--extension', 'billing', '--extension', 'reports', '--regenerate', '-m', 'init'], ALL);
    expect(withoutProgress(regen.stderr)).toBe('');
    expect(regen.exitCode).toBe(0);
    expect(migrationsOf(dir, 'billing')).toHaveLength(1);
    expect(read(dir, 'billing', 0, 'migration.sql')).toContain('"paidAt" TIMESTAMP(3)');
    expect(read(dir, 'billing', 0, 'migration.sql')).toContain('CREATE TABLE "billing_invoices"');
  });

  it('refuses a migration that would change another owner\'s objects', async () => {
    const dir = project({
      core: CORE,
      extensions: { billing: { schema: BILLING.replace('extend model User {\n', 'extend model User {\n  @@map("people")\n') } },
    });
    await revise(dir, { owners: ['core'], name: 'init' }, ['billing'], undefined);
    await gitInit(dir);
    const r = await runCli(dir, ['revision', '--extension', 'billing', '-m', 'x'], { APP_EXTENSIONS: 'billing' });
    expect(r.exitCode).toBe(3);
    expect(withoutProgress(r.stderr)).toMatch(/^error: The migration for extension "billing" would change table "User", which belongs to core \(statement: /);
    expect(withoutProgress(r.stderr).trim().split('\n')).toHaveLength(1);
    expect(await gitStatus(dir)).toBe('');
  });
});

describe('revision: ownership across owners', () => {
  it('refuses a core change that would drop a table other extensions add columns to', async () => {
    const dir = initializedProject();
    const core = readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8');
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), core.replace('  organization   Organization @relation(fields: [organizationId], references: [id])\n', '  organization   Organization @relation(fields: [organizationId], references: [id])\n\n  @@map("users")\n'));
    await gitInit(dir);
    const r = await runCli(dir, ['revision', '--core', '-m', 'rename'], ALL);
    expect(r.exitCode).toBe(3);
    expect(withoutProgress(r.stderr)).toMatch(/^error: The migration for core would drop table "User", and with it the columns extension "billing" adds to it \(statement: DROP TABLE "User"\); /);
    expect(await gitStatus(dir)).toBe('');
  });

  it('allows an implicit many-to-many relation between an extension model and a core model', async () => {
    const tags = 'model Tag {\n  id    Int    @id @default(autoincrement())\n  label String\n  users User[]\n\n  @@map("billing_tags")\n}\n\nextend model User {\n  tags Tag[]\n}\n';
    const dir = project({ core: CORE, extensions: { billing: { schema: tags } } });
    const r = await revise(dir, { name: 'init' }, ['billing']);
    expect(r.owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['core: created', 'billing: created']);
    expect(r.warnings).toEqual([]);
    expect(read(dir, 'billing', 0, 'migration.sql')).toContain('CREATE TABLE "_TagToUser"');
  });

  it('a comment ending in "extend" is not the extend keyword', async () => {
    const dir = project({
      core: '/// Users; billing and crm extend\n' + CORE.replace('model Organization', '// organizations we may later extend\nmodel Organization'),
      extensions: { billing: { schema: BILLING } },
    });
    const r = await revise(dir, { name: 'init' }, ['billing']);
    expect(r.owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['core: created', 'billing: created']);
    expect(r.warnings).toEqual([]);
  });

  it('refuses an extension migration generated against unmigrated changes of a dependency', async () => {
    const dir = initializedProject();
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  code   String? @unique\n'));
    writeFileSync(path.join(dir, 'extensions/reports/schema.prisma'), REPORTS.replace('  invoiceId Int\n', '  invoiceId Int\n  note      String?\n'));
    await gitInit(dir);
    const r = await runCli(dir, ['revision', '--extension', 'reports', '-m', 'note'], ALL);
    expect(r.exitCode).toBe(3);
    expect(withoutProgress(r.stderr)).toMatch(/^error: billing has schema changes without a migration, and reports's new migration would be generated against them; include it/);
    expect(await gitStatus(dir)).toBe('');
    const both = await revise(dir, { owners: ['billing', 'reports'], name: 'code' });
    expect(both.owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['billing: created', 'reports: created']);
    expect(read(dir, 'reports', 1, 'migration.sql')).toContain(`-- orchestrate:requires billing ${migrationsOf(dir, 'billing')[1]}`);
  });

  it('--regenerate of a dependency refuses while dependents require its migrations, and works with them', async () => {
    const dir = initializedProject();
    await gitInit(dir);
    const alone = await runCli(dir, ['revision', '--extension', 'billing', '--regenerate', '-m', 'init'], ALL);
    expect(alone.exitCode).toBe(2);
    expect(withoutProgress(alone.stderr)).toMatch(/^error: Cannot regenerate: extensions\/reports\/migrations\/\d{14}_init\/migration\.sql requires billing\/\d{14}_init, which would no longer exist; regenerate the dependents in the same run \(--extension reports --regenerate\)/);
    expect(await gitStatus(dir)).toBe('');
    await new Promise((r) => setTimeout(r, 1100));
    const both = await revise(dir, { owners: ['billing', 'reports'], regenerate: true, name: 'init' });
    expect(both.owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['billing: created', 'reports: created']);
    expect(read(dir, 'reports', 0, 'migration.sql')).toContain(`-- orchestrate:requires billing ${migrationsOf(dir, 'billing')[0]}`);
  });

  it("refuses removing values of an enum other owners' columns use", async () => {
    const enumBlock = 'enum InvoiceStatus {\n  DRAFT\n  PAID\n  VOID\n\n  @@map("billing_status")\n}\n';
    const dir = project({
      core: CORE,
      extensions: {
        billing: { schema: BILLING + enumBlock },
        reports: { schema: REPORTS.replace('  invoiceId Int\n', '  invoiceId Int\n  status    InvoiceStatus @default(PAID)\n'), manifest: { dependsOn: ['billing'] } },
      },
    });
    await revise(dir, { name: 'init' });
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING + enumBlock.replace('  VOID\n', ''));
    await gitInit(dir);
    const r = await runCli(dir, ['revision', '--all', '-m', 'drop_void'], ALL);
    expect(r.exitCode).toBe(3);
    expect(withoutProgress(r.stderr)).toMatch(/^error: The migration for extension "billing" would recreate enum "billing_status" \(removing values does that\), but columns of extension "reports" use it/);
    expect(await gitStatus(dir)).toBe('');
    // Adding a value is fine.
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING + enumBlock.replace('  VOID\n', '  VOID\n  REFUNDED\n'));
    const add = await revise(dir, { name: 'refunded' });
    expect(add.owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['core: unchanged', 'billing: created', 'reports: unchanged']);
    expect(add.warnings).toEqual([]);
  });

  it('refuses a model mapped onto a history table', async () => {
    const dir = project({ core: CORE, extensions: { billing: { schema: 'model Hist {\n  id Int @id\n\n  @@map("_prisma_migrations_crm")\n}\n' } } });
    const r = await runCli(dir, ['revision', '--all'], { APP_EXTENSIONS: 'billing', DATABASE_URL: PG_ADMIN_URL });
    expect(r.exitCode).toBe(2);
    expect(withoutProgress(r.stderr)).toBe('error: extensions/billing/schema.prisma: a model of billing is mapped to the table "_prisma_migrations_crm", which is reserved for migration history (prefix "_prisma_migrations"); choose another @@map name.');
  });
});

describe('revision: bad input (exit 2, one sentence, nothing written)', () => {
  // Each message is checked on the error the library throws: a UsageError is what the CLI prints
  // as `error: <message>` with exit 2 and no stack. `cli` cases also run the CLI, one per kind of
  // source the error comes from (the environment, the fragment parser, composition across owners
  // with a message of several lines, Prisma's validation).
  const cases: { name: string; spec: Parameters<typeof writeProject>[1]; env?: Record<string, string>; cli?: boolean; message: RegExp }[] = [
    {
      name: 'fragment syntax error',
      cli: true,
      spec: { core: CORE, extensions: { billing: { schema: 'model Invoice {\n  id Int @id\n  total Int Int Int @@\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:3:\d+: syntax error, unexpected end of line; fix the schema/,
    },
    {
      name: 'datasource in a fragment',
      spec: { core: CORE, extensions: { billing: { schema: 'datasource db {\n  provider = "postgresql"\n}\n' + BILLING } } },
      message: /^error: extensions\/billing\/schema\.prisma:1: a datasource block is not allowed in an extension fragment; remove it/,
    },
    {
      name: 'generator in a fragment',
      spec: { core: CORE, extensions: { billing: { schema: BILLING + '\ngenerator client {\n  provider = "prisma-client"\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:\d+: a generator block is not allowed/,
    },
    {
      name: 'model declared in two owners',
      spec: { core: CORE, extensions: { billing: { schema: 'model User {\n  id Int @id\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:1: model "User" is already declared in prisma\/schema\.prisma:\d+ \(core\)/,
    },
    {
      name: 'extend of an unknown model',
      spec: { core: CORE, extensions: { billing: { schema: 'extend model Customer {\n  x Int?\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:1: `extend model Customer` names no model of core or of the dependencies of extension "billing"/,
    },
    {
      name: 'extend of a model owned by a non-dependency',
      spec: { core: CORE, extensions: { billing: { schema: BILLING }, reports: { schema: REPORTS } } },
      env: { APP_EXTENSIONS: 'billing,reports' },
      cli: true,
      message: /^extensions\/reports\/schema\.prisma:4: field "invoice" refers to Invoice, owned by extension "billing", which extension "reports" does not depend on; add "billing" to dependsOn in extensions\/reports\/extension\.json\.$/m,
    },
    {
      name: 'a field added twice',
      spec: { core: CORE, extensions: { billing: { schema: 'extend model User {\n  email String?\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:2: field "email" is added to model User twice \(already declared at prisma\/schema\.prisma:\d+ \(core\)\)/,
    },
    {
      name: 'invalid extension name',
      spec: { core: CORE },
      env: { APP_EXTENSIONS: 'a;drop table x' },
      cli: true,
      message: /^error: APP_EXTENSIONS: invalid extension name "a;drop table x"; names must match/,
    },
    {
      name: 'unknown extension',
      spec: { core: CORE, extensions: { billing: { schema: BILLING } } },
      env: { APP_EXTENSIONS: 'billing,shipping' },
      message: /^error: APP_EXTENSIONS names "shipping", but there is no such folder under .* \(discovered: billing\)/,
    },
    {
      name: 'dependency cycle',
      spec: { core: CORE, extensions: { a: { schema: '', manifest: { dependsOn: ['b'] } }, b: { schema: '', manifest: { dependsOn: ['a'] } } } },
      env: { APP_EXTENSIONS: 'a,b' },
      message: /^error: Dependency cycle between extensions: a -> b -> a; remove one of these dependsOn entries\.$/,
    },
    {
      name: 'Prisma validation error at the original line',
      cli: true,
      spec: { core: CORE, extensions: { billing: { schema: 'model Invoice {\n  id Int @id\n  owner Usr\n}\n' } } },
      message: /^error: extensions\/billing\/schema\.prisma:3: Type "Usr" is neither a built-in type/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      writeProject(t.dir, c.spec);
      await gitInit(t.dir);
      const env = c.env ?? { APP_EXTENSIONS: 'billing' };
      const o = createOrchestrator({ root: t.dir, env });
      const error: unknown = await o.planRevision({ name: 'x' }).then(
        () => null,
        (e: unknown) => e,
      );
      await o.close();
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect(`error: ${(error as UsageError).message}`).toMatch(c.message);
      expect(await gitStatus(t.dir)).toBe('');
      if (!c.cli) return;
      const r = await runCli(t.dir, ['revision', '--all', '-m', 'x'], env);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(withoutProgress(r.stderr)).toMatch(c.message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await gitStatus(t.dir)).toBe('');
    });
  }

  it('Ctrl-C while diffing leaves the project untouched', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeProject(t.dir, { core: CORE, extensions: { billing: { schema: BILLING } } });
    await gitInit(t.dir);
    const { CLI } = await import('./helpers.js');
    // The child says when it has read the last schema file (a preload watching readFileSync), so
    // the signal lands inside the revision — after reading, while the engine starts and diffs.
    const announce = `import fs from 'node:fs'; import { syncBuiltinESMExports } from 'node:module';
const read = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  const text = read.call(this, file, ...rest);
  if (String(file).endsWith('billing/schema.prisma')) process.stderr.write('read-fragment\\n');
  return text;
};
syncBuiltinESMExports();`;
    const child = execa(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(announce)}`, CLI, 'revision', '--all'], {
      cwd: t.dir,
      reject: false,
      env: { APP_EXTENSIONS: 'billing', DATABASE_URL: undefined },
    });
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('read-fragment')) resolve();
      });
      child.once('exit', () => reject(new Error('the revision ended before it read the fragment')));
    });
    child.kill('SIGINT');
    const result = await child;
    // Stopped by the signal, not finished: a finished revision would have written migrations.
    expect(result.signal === 'SIGINT' || result.exitCode === 130).toBe(true);
    expect(await gitStatus(t.dir)).toBe('');
  });
});

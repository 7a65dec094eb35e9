/**
 * Replay on SQLite: a history is run into a shadow SQLite file (never the project's database),
 * read back by Prisma's schema engine through @prisma/adapter-libsql, and compared with the
 * snapshot or schema — for `check`'s drift, `revision` on an adopted history and `diff --from
 * migrations`. Expected SQL is what the engine writes for the same change between two schemas.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { writeMigration } from './apply-fixtures.js';
import { useCleanups } from './fixtures.js';
import { CLI, REPO, runCli, tempDir } from './helpers.js';
import { checkData, reviseInProcess } from './in-process.js';
import { startWasmEngine, type DiffSide } from '../src/engine/engine.js';
import { readOnlyFactory } from '../src/engine/adapters.js';
import { loadSettings } from '../src/config/settings.js';
import { createOrchestrator } from '../src/index.js';
import { loadProject } from '../src/project/project.js';
import { openShadow } from '../src/shadow/database.js';
import { replayedSnapshots } from '../src/shadow/produce.js';

const SQLITE = 'datasource db {\n  provider = "sqlite"\n}\n';
const INIT = '20240101000000_init';
const SHADOW_PREFIX = 'orchestrate-shadow-';
const EXTENSIONS = ['analytics', 'billing', 'crm'];

const USER = `model User {
  id    Int     @id @default(autoincrement())
  email String
  name  String?

  @@index([email])
}
`;

/** What Prisma Migrate wrote for USER, but without the index: a history that drifted. */
const USER_NO_INDEX_SQL = `-- CreateTable
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "email" TEXT NOT NULL,
    "name" TEXT
);
`;

const BILLING = `model Invoice {
  id     Int  @id @default(autoincrement())
  userId Int
  user   User @relation(fields: [userId], references: [id])

  @@map("billing_invoices")
}

extend model User {
  billingCustomerId String?   @map("billing_customer_id")
  invoices          Invoice[]
}
`;

const onCleanup = useCleanups();

/** An SQLite project (core, optional extensions) in a temp folder, without migrations. */
function project(core: string, extensions: Record<string, string> = {}): string {
  const t = tempDir('orch-sqlite-drift-');
  onCleanup(t.cleanup);
  mkdirSync(path.join(t.dir, 'prisma'));
  writeFileSync(path.join(t.dir, 'prisma/schema.prisma'), `${SQLITE}\n${core}`);
  for (const [name, schema] of Object.entries(extensions)) {
    mkdirSync(path.join(t.dir, 'extensions', name), { recursive: true });
    writeFileSync(path.join(t.dir, 'extensions', name, 'schema.prisma'), schema);
  }
  return t.dir;
}

/** A core history as Prisma Migrate leaves it: migration.sql only, no down.sql, no snapshot. */
function adopt(dir: string, migrations: Record<string, string>): void {
  for (const [name, sql] of Object.entries(migrations)) writeMigration(dir, 'core', name, { sql });
  writeFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "sqlite"\n');
}

/** A temporary folder for the shadow, so that what it leaves behind can be looked at. */
function tmp(): string {
  const t = tempDir('orch-sqlite-drift-tmp-');
  onCleanup(t.cleanup);
  return t.dir;
}

const shadowsIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(SHADOW_PREFIX));

/** Runs `fn` with os.tmpdir() pointing at `dir`. */
async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}

/** The SQL Prisma's engine writes between two SQLite schemas (core only, or core + fragments). */
async function engineSql(from: DiffSide, to: DiffSide): Promise<string> {
  const engine = await startWasmEngine({ provider: 'sqlite' });
  try {
    return await engine.diff(from, to);
  } finally {
    await engine.close();
  }
}

const coreFile = (body: string) => [{ path: 'prisma/schema.prisma', content: `${SQLITE}\n${body}` }];

/** migration.sql without orchestrate's directive lines (`-- orchestrate:parent ...`). */
const statementsOf = (sql: string) =>
  sql
    .split('\n')
    .filter((l) => !l.startsWith('-- orchestrate:'))
    .join('\n')
    .trim();

describe('SQLite shadow database', () => {
  it('is a private temporary file, removed on close, and the engine reads it on a connection that refuses writes', async () => {
    const dir = tmp();
    // What killed processes left: removed when the pid is gone, kept while it runs.
    const exited = execa(process.execPath, ['-e', '']);
    const gone = `${SHADOW_PREFIX}${exited.pid!}-abc123`;
    await exited;
    const running = `${SHADOW_PREFIX}${process.ppid}-def456`;
    for (const left of [gone, running]) mkdirSync(path.join(dir, left, 'x'), { recursive: true });
    const shadow = await withTmpdir(dir, () => openShadow('sqlite', []));
    let folder: string;
    try {
      expect(shadowsIn(dir).filter((n) => n === gone || n === running)).toEqual([running]);
      rmSync(path.join(dir, running), { recursive: true });
      const [name] = shadowsIn(dir);
      expect(name).toMatch(new RegExp(`^${SHADOW_PREFIX}${process.pid}-`));
      folder = path.join(dir, name!);
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      await shadow.driver.exec('CREATE TABLE "A" ("id" INTEGER NOT NULL PRIMARY KEY, "x" TEXT); CREATE INDEX "A_x_idx" ON "A"("x"); CREATE VIEW "V" AS SELECT 1;');
      expect([...(await shadow.objects())].sort()).toEqual(['A', 'A.id', 'A.x']);

      const raw = await shadow.engineAdapter();
      const adapter = await raw.connect();
      try {
        await expect(adapter.queryRaw({ sql: 'INSERT INTO "A" ("id") VALUES (1)', args: [], argTypes: [] })).rejects.toThrow();
        await expect(adapter.queryRaw({ sql: 'CREATE TABLE "B" ("id" INTEGER)', args: [], argTypes: [] })).rejects.toThrow();
        const read = await adapter.queryRaw({ sql: 'SELECT count(*) AS n FROM "A"', args: [], argTypes: [] });
        expect(read.rows).toEqual([[0]]);
      } finally {
        await adapter.dispose();
      }
      // The guard the engine gets: reads pass, everything else is refused before SQLite sees it.
      const guarded = readOnlyFactory(await shadow.engineAdapter());
      const engineSide = await guarded.connect();
      await expect(engineSide.executeScript('DROP TABLE "A"')).rejects.toThrow(/refused a database write from the schema engine/);
      await guarded.disposeAll();
      expect(await shadow.driver.query('SELECT name FROM sqlite_master WHERE name = \'B\'')).toEqual([]);

      await shadow.reset();
      expect(await shadow.driver.query('SELECT type, name FROM sqlite_master')).toEqual([]);
    } finally {
      await shadow.close();
    }
    expect(existsSync(folder)).toBe(false);
    expect(shadowsIn(dir)).toEqual([]);
  });
});

describe('check on SQLite', () => {
  it('reports an adopted history that never creates a declared index as drift, with the engine\'s SQL, and touches no database', async () => {
    const dir = project(USER);
    adopt(dir, { [INIT]: USER_NO_INDEX_SQL });
    const expected = await engineSql(coreFile(USER.replace('\n  @@index([email])\n', '')), coreFile(USER));
    expect(expected).toBe('-- CreateIndex\nCREATE INDEX "User_email_idx" ON "User"("email");\n');

    const shadowDir = tmp();
    const report = await withTmpdir(shadowDir, () => checkData(dir, []));
    expect(report.problems.filter((p) => p.code === 'drift')).toEqual([
      {
        code: 'drift',
        owner: 'core',
        file: 'prisma/schema.prisma',
        sql: expected,
        message:
          "core's 1 migration(s), replayed in a shadow database, do not produce what prisma/schema.prisma describes; reconciling them takes: " +
          'CREATE INDEX "User_email_idx" ON "User"("email"); — `orchestrate revision --core -m <name>` writes that migration ' +
          '(review it first with `orchestrate diff --owner core --from migrations --to schema`).',
      },
    ]);
    expect(report.problems.filter((p) => p.code === 'pending-changes')).toEqual([]);
    expect(report.notes.filter((n) => /drift/i.test(n))).toEqual([]);
    // The shadow is gone, and check created no database of the project's.
    expect(shadowsIn(shadowDir)).toEqual([]);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);

    const diff = await runCli(dir, ['diff', '--owner', 'core', '--from', 'migrations', '--to', 'schema'], { TMPDIR: shadowDir });
    expect(diff.stderr).toBe('');
    expect(diff.exitCode).toBe(0);
    expect(`${diff.stdout}\n`).toBe(expected);
    expect(shadowsIn(shadowDir)).toEqual([]);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });

  it('passes a project whose snapshots and histories match', async () => {
    const dir = project(USER, { billing: BILLING });
    await reviseInProcess(dir, ['billing'], { name: 'init' });
    const report = await checkData(dir, ['billing']);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.notes.filter((n) => /drift/i.test(n))).toEqual([]);
  });

  it("reports an extension's history that does not build its `extend model` column as the extension's drift, not core's", async () => {
    const dir = project(USER, { billing: BILLING });
    await reviseInProcess(dir, ['billing'], { name: 'init' });
    const migrations = path.join(dir, 'extensions/billing/migrations');
    const name = readdirSync(migrations).find((n) => n.endsWith('_init'))!;
    const file = path.join(migrations, name, 'migration.sql');
    const up = readFileSync(file, 'utf8');
    // A hand edit that loses the column billing adds to core's User.
    const added = /^ALTER TABLE "User" ADD COLUMN .*"billing_customer_id".*\n/m;
    expect(up).toMatch(added);
    writeFileSync(file, up.replace(added, ''));

    // The same change in one plain Prisma schema (the engine knows no `extend model`).
    const merged = (field: string) => coreFile(`${USER.replace('  name  String?\n', `  name  String?\n${field}  invoices Invoice[]\n`)}\n${BILLING.slice(0, BILLING.indexOf('extend model'))}`);
    const expected = await engineSql(merged(''), merged('  billingCustomerId String? @map("billing_customer_id")\n'));
    expect(expected).toContain('"billing_customer_id"');

    const report = await checkData(dir, ['billing']);
    expect(report.problems.map((p) => `${p.code} ${p.owner}`)).toEqual(['drift billing']);
    expect(report.problems[0]).toMatchObject({ owner: 'billing', file: `extensions/billing/migrations/${name}/snapshot.prisma`, sql: expected });
  });

  it('names the migration that fails to replay in one sentence, with the exit code PostgreSQL gives, and leaves no shadow', async () => {
    const failing = 'CREATE TABLE "User" ("id" INTEGER NOT NULL PRIMARY KEY, "email" TEXT NOT NULL);\nCREATE INDEX "User_email_idx" ON "Nope"("email");\n';
    const runs: Record<string, { exitCode: number | undefined; line: string | undefined }> = {};
    const shadowDir = tmp();
    for (const provider of ['sqlite', 'postgresql']) {
      const dir = project('model User {\n  id    Int    @id\n  email String\n}\n');
      if (provider === 'postgresql') writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8').replace('"sqlite"', '"postgresql"'));
      adopt(dir, { [INIT]: failing });
      if (provider === 'postgresql') writeFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
      const r = await runCli(dir, ['check'], { TMPDIR: shadowDir });
      runs[provider] = { exitCode: r.exitCode, line: r.stdout.split('\n').find((l) => l.startsWith('migrations (core): ')) };
      if (provider === 'sqlite') expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
    }
    expect(runs.sqlite!.line).toBe(
      `migrations (core): Replaying the migrations into a shadow database failed in core/${INIT} (prisma/migrations/${INIT}/migration.sql at line 2 (\`CREATE INDEX "User_email_idx" ON "Nope"("email");\`)): no such table: main.Nope; a history must replay on an empty database to be compared with a schema, so fix that migration.`,
    );
    expect(runs.postgresql!.line).toMatch(new RegExp(`^migrations \\(core\\): Replaying the migrations into a shadow database failed in core/${INIT} \\(`));
    expect(runs.sqlite!.exitCode).toBe(3);
    expect(runs.sqlite!.exitCode).toBe(runs.postgresql!.exitCode);
    expect(shadowsIn(shadowDir)).toEqual([]);
  });
});

describe('Ctrl-C during a replay', () => {
  it('check stops with 130 and removes the shadow on the way out', async () => {
    const dir = project('model T0 {\n  id Int @id\n}\n');
    const many: Record<string, string> = {};
    for (let i = 0; i < 50; i++) many[`2024010100${String(i).padStart(4, '0')}_t${i}`] = `CREATE TABLE "T${i}" ("id" INTEGER NOT NULL PRIMARY KEY);\n`;
    adopt(dir, many);
    const shadowDir = tmp();
    const watcher = watch(shadowDir);
    const created = new Promise<void>((resolve) => watcher.on('change', (_event, name) => String(name).startsWith(SHADOW_PREFIX) && resolve()));
    const child = execa(process.execPath, [CLI, 'check'], { cwd: dir, reject: false, env: { APP_EXTENSIONS: '', DATABASE_URL: undefined, TMPDIR: shadowDir } });
    try {
      await Promise.race([created, child.then(() => Promise.reject(new Error('check ended before it opened a shadow')))]);
    } finally {
      watcher.close();
    }
    child.kill('SIGINT');
    const result = await child;
    // Stopped by the signal, not finished (a finished check exits 0 or 3).
    expect(result.exitCode).toBe(130);
    expect(shadowsIn(shadowDir)).toEqual([]);
  });
});

describe('revision on an adopted SQLite history', () => {
  it('writes only the schema change, starting from what the replayed history produces', async () => {
    // SQLite keeps an enum as TEXT; the replay must give the default back as the enum value.
    const before = `${USER.replace('  name  String?\n', '  name  String?\n  role  Role    @default(MEMBER)\n')}\nenum Role {\n  ADMIN\n  MEMBER @map("member")\n}\n`;
    const after = before.replace('  name  String?\n', '  name  String?\n  bio   String?\n');
    const dir = project(before);
    // What Prisma Migrate writes for USER, index included: no drift, only the change to come.
    const init = await engineSql('empty', coreFile(before));
    expect(init).toContain('CREATE INDEX "User_email_idx"');
    adopt(dir, { [INIT]: init });
    expect((await checkData(dir, [])).problems).toEqual([]);

    writeFileSync(path.join(dir, 'prisma/schema.prisma'), `${SQLITE}\n${after}`);
    const written = await reviseInProcess(dir, [], { owners: ['core'], name: 'x' });
    expect(written.owners.map((o) => `${o.owner} ${o.status}`)).toEqual(['core created']);
    const folder = readdirSync(path.join(dir, 'prisma/migrations')).find((n) => n.endsWith('_x'))!;
    const sql = readFileSync(path.join(dir, 'prisma/migrations', folder, 'migration.sql'), 'utf8');
    expect(statementsOf(sql)).toBe((await engineSql(coreFile(before), coreFile(after))).trim());
    expect(statementsOf(sql)).toBe('-- AlterTable\nALTER TABLE "User" ADD COLUMN "bio" TEXT;');
    const snapshot = readFileSync(path.join(dir, 'prisma/migrations', folder, 'snapshot.prisma'), 'utf8');
    expect(snapshot).toMatch(/^\s+bio\s+String\?$/m);
    expect(snapshot).toMatch(/^\s+role\s+Role\s+@default\(MEMBER\)$/m);
  });

  it("gives the sample app's SQLite twin, snapshots removed, exactly its schemas: enums, `extend model` fields and rebuilt tables included", async () => {
    const dir = tempDir('orch-sqlite-drift-app-');
    onCleanup(dir.cleanup);
    mkdirSync(path.join(dir.dir, 'prisma'));
    writeFileSync(path.join(dir.dir, 'prisma/schema.prisma'), readFileSync(path.join(REPO, 'prisma/schema.prisma'), 'utf8').replace('provider = "postgresql"', 'provider = "sqlite"'));
    for (const name of EXTENSIONS) {
      mkdirSync(path.join(dir.dir, 'extensions', name), { recursive: true });
      for (const file of ['schema.prisma', 'extension.json']) cpSync(path.join(REPO, 'extensions', name, file), path.join(dir.dir, 'extensions', name, file));
    }
    await reviseInProcess(dir.dir, EXTENSIONS, { name: 'init' });
    const snapshots = readdirSync(dir.dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('snapshot.prisma'));
    expect(snapshots).toHaveLength(4);
    for (const f of snapshots) rmSync(path.join(dir.dir, f));

    const orchestrator = createOrchestrator({ root: dir.dir, extensions: EXTENSIONS, env: {} });
    try {
      const plan = await orchestrator.planRevision({});
      expect(plan.owners.map((o) => `${o.owner} ${o.status}`)).toEqual(['core unchanged', 'billing unchanged', 'analytics unchanged', 'crm unchanged']);
    } finally {
      await orchestrator.close();
    }
    expect((await checkData(dir.dir, EXTENSIONS)).problems).toEqual([]);
    // Enums are no SQLite objects: each owner's are those its schema declares.
    const project = loadProject(loadSettings(dir.dir), { extensions: EXTENSIONS.join(','), env: {} });
    const produced = await replayedSnapshots(project, project.owners);
    expect(produced.get('core')).toMatch(/^\s+role\s+Role\s+@default\(MEMBER\)$/m);
    expect(produced.get('billing')).toMatch(/^enum InvoiceStatus \{$/m);
    expect(produced.get('billing')).not.toMatch(/^enum Role \{$/m);
  });
});

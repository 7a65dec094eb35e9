/**
 * What is particular to SQLite projects: foreign keys around rebuilds, triggers, providers, files.
 *
 * Runs whose outcome is data (what was applied, the file's rows, status, history, problems,
 * refusals as errors) go through the library in this process; the CLI runs where its output
 * lines, exit codes and signals are the subject.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sha256, writeMigration } from './apply-fixtures.js';
import { oneErrorLine, useCleanups } from './fixtures.js';
import { CLI, runCli, tempDir, writeProject } from './helpers.js';
import { reviseInProcess } from './in-process.js';
import { check } from '../src/commands/check.js';
import { makeContext, silentReporter } from '../src/commands/context.js';
import { create } from '../src/commands/create.js';
import { current } from '../src/commands/current.js';
import { generate } from '../src/commands/generate.js';
import { history } from '../src/commands/history.js';
import { stamp } from '../src/commands/stamp.js';
import { status } from '../src/commands/status.js';
import { createOrchestrator, OrchestrateError, type ApplyResult, type OrchestrateEvent, type Orchestrator } from '../src/index.js';

const SQLITE = 'datasource db {\n  provider = "sqlite"\n}\n';
const INIT = '20240101000000_init';
const DB = '.orchestrate/sqlite/dev.db';

const PARENT_CHILD = `CREATE TABLE "Parent" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL);
CREATE TABLE "Child" ("id" INTEGER NOT NULL PRIMARY KEY, "parentId" INTEGER NOT NULL, CONSTRAINT "Child_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Parent" ("id") ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO "Parent" VALUES (1, 'a'), (2, 'b');
INSERT INTO "Child" VALUES (10, 1), (11, 1), (12, 2);
`;

/** Prisma's rebuild block for adding a NOT NULL column with a default to "Parent". */
const REBUILD_PARENT = `-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Parent" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "kind" TEXT NOT NULL DEFAULT 'x');
INSERT INTO "new_Parent" ("id", "name") SELECT "id", "name" FROM "Parent";
DROP TABLE "Parent";
ALTER TABLE "new_Parent" RENAME TO "Parent";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
`;

function project(onCleanup: (fn: () => unknown) => void, core = 'model Parent {\n  id Int @id\n}\n'): string {
  const t = tempDir('orch-sqlite-');
  onCleanup(t.cleanup);
  writeProject(t.dir, {});
  writeFileSync(path.join(t.dir, 'prisma/schema.prisma'), `${SQLITE}\n${core}`);
  return t.dir;
}

/** The environment of runCli's processes, with `extra`. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: undefined, APP_EXTENSIONS: '', ...extra });

/** What a CLI command computes (the data of its --json, its exit code), in this process. */
const ctx = (dir: string, extra: Record<string, string> = {}) => makeContext({ cwd: dir }, silentReporter, env(extra));

interface LibraryOptions {
  env?: Record<string, string>;
  extensions?: string[];
  onEvent?: (event: OrchestrateEvent) => void;
}

/** The library on the project, closed after `fn`. */
async function withLibrary<T>(dir: string, fn: (o: Orchestrator) => Promise<T>, options: LibraryOptions = {}): Promise<T> {
  const orchestrator = createOrchestrator({ root: dir, extensions: options.extensions ?? [], env: env(options.env), ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
  try {
    return await fn(orchestrator);
  } finally {
    await orchestrator.close();
  }
}

/** `migrate` through the library: everything pending, applied. */
const migrate = (dir: string, options: LibraryOptions = {}): Promise<ApplyResult> => withLibrary(dir, async (o) => o.apply(await o.planUpgrade()), options);

const applied = (r: ApplyResult) => r.results.filter((x) => x.status === 'Success').map((x) => `${x.owner}/${x.migration}`);

/** The OrchestrateError a call rejects with (the CLI prints its message as its one error line, and exits with its code). */
async function refusal(promise: Promise<unknown>): Promise<{ message: string; exitCode: number }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OrchestrateError);
  const { message, exitCode } = error as OrchestrateError;
  return { message, exitCode };
}

async function rows(dir: string, sql: string, file = DB): Promise<Record<string, unknown>[]> {
  const client = createClient({ url: pathToFileURL(path.join(dir, file)).href });
  try {
    const r = await client.execute(sql);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
  } finally {
    client.close();
  }
}

describe('SQLite projects', () => {
  const onCleanup = useCleanups();

  it('a table rebuild keeps the rows of child tables with ON DELETE CASCADE (foreign keys are off before BEGIN)', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: PARENT_CHILD });
    writeMigration(dir, 'core', '20240102000000_kind', { sql: REBUILD_PARENT });
    const result = await migrate(dir);
    expect(result.error?.problem.message ?? null).toBeNull();
    expect(applied(result)).toEqual([`core/${INIT}`, 'core/20240102000000_kind']);
    expect(await rows(dir, 'SELECT "id", "parentId" FROM "Child" ORDER BY "id"')).toEqual([
      { id: 10, parentId: 1 },
      { id: 11, parentId: 1 },
      { id: 12, parentId: 2 },
    ]);
    expect(await rows(dir, 'SELECT "id", "kind" FROM "Parent" ORDER BY "id"')).toEqual([
      { id: 1, kind: 'x' },
      { id: 2, kind: 'x' },
    ]);
  });

  it('a migration that leaves a dangling reference is rolled back, naming the table and rowid', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: PARENT_CHILD });
    writeMigration(dir, 'core', '20240102000000_orphan', { sql: 'CREATE TABLE "Extra" ("id" INTEGER);\nINSERT INTO "Child" VALUES (13, 99);\n' });
    const result = await runCli(dir, ['migrate']);
    expect(result.exitCode).toBe(1);
    expect(oneErrorLine(result.stderr.split('\n').filter((l) => !l.startsWith('Using') && !l.startsWith('Applied')).join('\n'))).toBe(
      'core/20240102000000_orphan failed and was rolled back, so nothing of it remains: at COMMIT (deferred constraints or the history row in _prisma_migrations): FOREIGN KEY constraint failed: row 13 of "Child" refers to a row of "Parent" that does not exist [SQLITE_CONSTRAINT_FOREIGNKEY]; migrations applied before it stay applied; fix the migration and run migrate again. Applied before it in this run, and still applied: 1 migration (core: 1).',
    );
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE name = 'Extra'`)).toEqual([]);
    expect(await rows(dir, 'SELECT count(*) AS n FROM "Child"')).toEqual([{ n: 3 }]);
    expect(await rows(dir, 'SELECT migration_name FROM "_prisma_migrations"')).toEqual([{ migration_name: INIT }]);
  });

  it('runs triggers whose BEGIN ... END bodies hold several statements', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, {
      sql: `CREATE TABLE "Item" ("id" INTEGER PRIMARY KEY, "name" TEXT);
CREATE TABLE "Audit" ("itemId" INTEGER, "what" TEXT);
CREATE TRIGGER "item_audit" AFTER INSERT ON "Item" BEGIN
  INSERT INTO "Audit" VALUES (new."id", 'insert;');
  INSERT INTO "Audit" VALUES (new."id", CASE WHEN new."name" IS NULL THEN 'no name' ELSE 'named' END);
END;
INSERT INTO "Item" ("id", "name") VALUES (1, NULL);
`,
      down: 'DROP TRIGGER "item_audit";\nDROP TABLE "Audit";\nDROP TABLE "Item";\n',
    });
    expect((await migrate(dir)).ok).toBe(true);
    expect(await rows(dir, 'SELECT "itemId", "what" FROM "Audit" ORDER BY rowid')).toEqual([
      { itemId: 1, what: 'insert;' },
      { itemId: 1, what: 'no name' },
    ]);
    const down = await withLibrary(dir, async (o) => o.apply(await o.planDowngrade({ owners: ['core'], target: 'base' })));
    expect(down.error?.problem.message ?? null).toBeNull();
    expect(applied(down)).toEqual([`core/${INIT}`]);
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name`)).toEqual([]);
  });

  it('keeps Prisma\'s history table: same columns, SHA-256 checksums, integer millisecond timestamps', async () => {
    const dir = project(onCleanup);
    const sql = 'CREATE TABLE "A" ("id" INTEGER);\n';
    writeMigration(dir, 'core', INIT, { sql });
    const started = Date.now();
    expect((await migrate(dir)).ok).toBe(true);
    expect((await rows(dir, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('_prisma_migrations') ORDER BY cid`)).map((r) => `${r.name} ${r.type}${r.notnull ? ' NOT NULL' : ''}${r.dflt_value ? ` DEFAULT ${r.dflt_value}` : ''}${r.pk ? ' PK' : ''}`)).toEqual([
      'id TEXT NOT NULL PK',
      'checksum TEXT NOT NULL',
      'finished_at DATETIME',
      'migration_name TEXT NOT NULL',
      'logs TEXT',
      'rolled_back_at DATETIME',
      'started_at DATETIME NOT NULL DEFAULT current_timestamp',
      'applied_steps_count INTEGER UNSIGNED NOT NULL DEFAULT 0',
    ]);
    const [row] = await rows(dir, 'SELECT checksum, typeof(started_at) AS t, started_at, finished_at, applied_steps_count FROM "_prisma_migrations"');
    expect(row!.checksum).toBe(sha256(sql));
    expect(row!.t).toBe('integer');
    expect(Number(row!.started_at)).toBeGreaterThanOrEqual(started - 1000);
    expect(Number(row!.finished_at)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(row!.applied_steps_count).toBe(1);
    // Rows Prisma or a person wrote with current_timestamp text are read too.
    await rows(dir, `INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "started_at", "applied_steps_count") VALUES ('x', '${sha256('y')}', '2024-01-02 03:04:05', '20231231000000_old', '2024-01-02 03:04:05', 1)`);
    const { data } = await history(ctx(dir), { owner: 'core' });
    expect(data.owners[0]!.entries.find((e) => e.migration === '20231231000000_old')).toMatchObject({ startedAt: '2024-01-02T03:04:05.000Z', finishedAt: '2024-01-02T03:04:05.000Z' });
  });

  it('status, history, current, stamp, check and --sql work on the file; --sql touches nothing', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "A" ("id" INTEGER);\n', down: 'DROP TABLE "A";\n' });
    writeMigration(dir, 'core', '20240102000000_b', { sql: 'CREATE TABLE "B" ("id" INTEGER);\n', down: 'DROP TABLE "B";\n' });
    // What `migrate --sql` prints.
    const printed = await withLibrary(dir, async (o) => o.sql(await o.planUpgrade()));
    expect(printed).toContain(`-- core/${INIT}\nPRAGMA foreign_keys=OFF;\nBEGIN IMMEDIATE;\nCREATE TABLE IF NOT EXISTS "_prisma_migrations" (`);
    expect(printed).toContain('PRAGMA foreign_key_check;\nCOMMIT;');
    expect(existsSync(path.join(dir, DB))).toBe(false);

    const none = await runCli(dir, ['status', '--exit-code']);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toContain(`No SQLite database in ${DB} yet`);
    expect((await stamp(ctx(dir), { owner: 'core', migration: INIT })).data.stamped).toEqual([INIT]);
    expect(applied(await migrate(dir))).toEqual(['core/20240102000000_b']);
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('A', 'B') ORDER BY name`)).toEqual([{ name: 'B' }]);
    expect((await current(ctx(dir), {})).data.owners[0]).toMatchObject({ owner: 'core', current: '20240102000000_b' });
    expect((await status(ctx(dir), { exitCode: true })).exitCode).toBe(0);
    const { data: recorded } = await history(ctx(dir), {});
    expect(recorded.owners[0]!.entries.map((m) => `${m.migration} ${m.state}`)).toEqual([`${INIT} applied`, '20240102000000_b applied']);
    // A history table of an extension that is not enabled is found in sqlite_master.
    await rows(dir, `CREATE TABLE "_prisma_migrations_gone" AS SELECT * FROM "_prisma_migrations" WHERE 0`);
    const checked = await check(ctx(dir));
    expect(checked.exitCode).toBe(3);
    expect(checked.data.problems.map((p) => `${p.code} ${p.owner}`)).toContain('orphan-history gone');
    // The history (A, B; no snapshot) is replayed in a shadow and compared with the schema (Parent).
    expect(checked.data.problems.find((p) => p.code === 'drift')).toMatchObject({ owner: 'core', file: 'prisma/schema.prisma', sql: expect.stringContaining('CREATE TABLE "Parent"') });
    expect(checked.text).not.toContain('Drift is not checked');
    // What `downgrade --sql` prints.
    const downSql = await withLibrary(dir, async (o) => o.sql(await o.planDowngrade({ owners: ['core'], target: INIT })));
    expect(downSql).toContain('DROP TABLE "B";');
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE name = 'B'`)).toEqual([{ name: 'B' }]);
  });

  it('a file: URL is relative to the project root; --wait says in one sentence that it does nothing', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "A" ("id" INTEGER);\n' });
    writeFileSync(path.join(dir, 'orchestrate.config.json'), '{"lockKey": 5}');
    const result = await runCli(dir, ['migrate', '--wait', '5'], { DATABASE_URL: 'file:./app.db?connection_limit=1' });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('--wait does nothing on SQLite: a database file has no server to wait for, so app.db is opened at once.');
    expect(result.stderr).toContain(
      'lockKey in orchestrate.config.json does nothing on SQLite, which has no advisory locks: runs on app.db wait for each other through the lock file app.db.orchestrate-lock beside it.',
    );
    expect(await rows(dir, 'SELECT count(*) AS n FROM "_prisma_migrations"', 'app.db')).toEqual([{ n: 1 }]);
    expect(existsSync(path.join(dir, 'prisma/app.db'))).toBe(false);
    expect(existsSync(path.join(dir, 'app.db.orchestrate-lock'))).toBe(false);

    rmSync(path.join(dir, 'orchestrate.config.json'));
    // Spaces, `%` and `#` are part of the file name.
    mkdirSync(path.join(dir, 'my data'));
    const odd = await migrate(dir, { env: { DATABASE_URL: 'file:./my data/app%20#1.db' } });
    expect(odd.ok).toBe(true);
    expect(await rows(dir, 'SELECT count(*) AS n FROM "_prisma_migrations"', 'my data/app%20#1.db')).toEqual([{ n: 1 }]);
    expect(await refusal(migrate(dir, { env: { DATABASE_URL: 'file:./nowhere/app.db' } }))).toEqual({
      exitCode: 2,
      message: `The folder of the SQLite database ${path.join(dir, 'nowhere/app.db')} does not exist; create it, or point the file: URL at an existing folder.`,
    });
  });

  it('refuses a URL of the other provider, and a migrations folder written for another provider', async () => {
    const dir = project(onCleanup);
    const pgUrl = await runCli(dir, ['status'], { DATABASE_URL: 'postgresql://app:secret@db:5432/app' });
    expect(pgUrl.exitCode).toBe(2);
    expect(oneErrorLine(pgUrl.stderr)).toBe(
      'DATABASE_URL is a "postgresql:" URL (postgresql://app:****@db:5432/app), but the core datasource\'s provider is "sqlite"; use a file: URL such as file:./dev.db (relative to the project root), or unset it to use .orchestrate/sqlite/dev.db.',
    );

    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "A" ("id" SERIAL);\n' });
    writeFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
    writeFileSync(path.join(dir, 'prisma/migrations', INIT, 'snapshot.prisma'), `${SQLITE}\nmodel Parent {\n  id Int @id\n}\n`);
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), `${SQLITE}\nmodel Parent {\n  id Int @id\n  name String?\n}\n`);
    expect(await refusal(withLibrary(dir, (o) => o.planRevision({ owners: ['core'], name: 'name' })))).toEqual({
      exitCode: 2,
      message:
        'The datasource provider "sqlite" does not match "postgresql" in prisma/migrations/migration_lock.toml: core\'s migrations were written for postgresql; move them away (or delete them) and run `orchestrate revision --all` to start a new history for sqlite.',
    });

    const pg = tempDir('orch-pg-');
    onCleanup(pg.cleanup);
    writeProject(pg.dir, {});
    const fileUrl = await refusal(withLibrary(pg.dir, (o) => o.status(), { env: { DATABASE_URL: 'file:./dev.db' } }));
    expect(fileUrl.exitCode).toBe(2);
    expect(fileUrl.message).toMatch(/^DATABASE_URL is a file: \(SQLite\) URL, but the core datasource's provider is "postgresql"/);
  });

  it('revision writes provider = "sqlite" into migration_lock.toml', async () => {
    const dir = project(onCleanup, 'model Parent {\n  id   Int    @id\n  name String\n}\n');
    const result = await reviseInProcess(dir, [], { owners: ['core'], name: 'init' });
    expect(result.owners.map((o) => [o.owner, o.status])).toEqual([['core', 'created']]);
    expect(readFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'utf8')).toBe(
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "sqlite"\n',
    );
  });

  it('create scaffolds an SQLite extension and applies it; generate writes the merged SQLite schema', { timeout: 60_000 }, async () => {
    const dir = project(onCleanup, 'model User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n}\n');
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8') + 'generator client {\n  provider = "prisma-client"\n  output   = "../generated/client"\n}\n');
    await reviseInProcess(dir, [], { owners: ['core'], name: 'init' });
    expect((await migrate(dir)).ok).toBe(true);
    const created = await create(ctx(dir), 'shop', {});
    expect(created.data.migration).toMatch(/^\d{14}_init$/);
    expect(readFileSync(path.join(dir, 'extensions/shop/migrations/migration_lock.toml'), 'utf8')).toContain('provider = "sqlite"');
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'shop%' ORDER BY name`)).toEqual([{ name: 'shop_items' }]);
    const generated = await generate(ctx(dir, { APP_EXTENSIONS: 'shop' }));
    expect(generated.data.owners).toEqual(['core', 'shop']);
    const merged = readFileSync(path.join(dir, '.orchestrate/generated/schema.prisma'), 'utf8');
    expect(merged).toContain('provider = "sqlite"');
    expect(merged).toContain('@@map("shop_items")');
  });

  it('migrate refuses an enabled extension whose migrations were written for another provider', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "A" ("id" INTEGER);\n' });
    writeFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "sqlite"\n');
    writeProject(dir, { extensions: { shop: { schema: '// shop\n' } } });
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), `${SQLITE}\nmodel Parent {\n  id Int @id\n}\n`);
    writeMigration(dir, 'shop', '20240105000000_init', { sql: 'CREATE TABLE "shop_a" ("id" SERIAL);\n' });
    writeFileSync(path.join(dir, 'extensions/shop/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
    expect(await refusal(migrate(dir, { extensions: ['shop'] }))).toEqual({
      exitCode: 2,
      message:
        'The datasource provider "sqlite" does not match "postgresql" in extensions/shop/migrations/migration_lock.toml: shop\'s migrations were written for postgresql; move them away (or delete them) and run `orchestrate revision --all` to start a new history for sqlite.',
    });
    expect(existsSync(path.join(dir, DB))).toBe(false);
  });

  it('waits for the lock file of a live process, names it, and gives up after --lock-timeout', async () => {
    const dir = project(onCleanup);
    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "A" ("id" INTEGER);\n' });
    const lockFile = path.join(dir, `${DB}.orchestrate-lock`);
    mkdirSync(path.dirname(lockFile), { recursive: true });
    // This test's own process, alive for the whole run.
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: os.hostname(), start: null, token: 'test' }));
    const result = await runCli(dir, ['migrate', '--lock-timeout', '1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`Waiting for another orchestrate run to finish: the migration lock is held by pid ${process.pid} (application_name "orchestrate", from ${os.hostname()})...`);
    expect(result.stderr).toContain(`error: Gave up waiting for the migration lock after 1.`);
    expect(result.stderr).toContain(`s: ${lockFile} is held by process ${process.pid} on ${os.hostname()}; let that run finish, or allow a longer wait`);
    expect(existsSync(lockFile)).toBe(true);
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE name = 'A'`)).toEqual([]);
  });

  it('Ctrl-C during a migration rolls it back after the running statement, releases the lock file and exits 130', async () => {
    const dir = project(onCleanup);
    const slow = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) SELECT count(*) FROM c;\n';
    writeMigration(dir, 'core', INIT, { sql: 'CREATE TABLE "first_t" ("id" INTEGER);\n' });
    writeMigration(dir, 'core', '20240102000000_slow', { sql: `CREATE TABLE "slow_t" ("id" INTEGER);\n${slow}${slow}${slow}${slow}CREATE TABLE "late_t" ("id" INTEGER);\n` });
    const child = execa(process.execPath, [CLI, 'migrate'], { cwd: dir, env: { APP_EXTENSIONS: '', NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the run never reached the slow migration')), 30_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(`Applied core/${INIT}`)) {
          clearTimeout(timer);
          setTimeout(resolve, 300);
        }
      });
    });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('interrupted: Interrupted while applying core/20240102000000_slow: its transaction was rolled back, so nothing of it remains; the 1 migration(s) applied before it stay applied; run migrate again to continue.');
    expect(await rows(dir, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_t' ESCAPE '\\' ORDER BY name`)).toEqual([{ name: 'first_t' }]);
    expect(existsSync(path.join(dir, `${DB}.orchestrate-lock`))).toBe(false);
    const events: OrchestrateEvent[] = [];
    const again = await migrate(dir, { onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'lock:wait' || (e.type === 'notice' && /Waiting/.test(e.message)))).toEqual([]);
    expect(applied(again)).toEqual(['core/20240102000000_slow']);
  });
});

/**
 * How migrations are sent and recorded: one statement per round trip inside the migration's
 * transaction (never a second execution), bookkeeping that a migration's session settings cannot
 * move, failed no-transaction migrations recorded as Prisma records them, and files that are not
 * UTF-8 refused before anything runs.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { loadState } from '../src/apply/load.js';
import { planDowngrade, planUpgrade } from '../src/apply/plan.js';
import { contextProject, makeContext } from '../src/commands/context.js';
import type { Driver } from '../src/db/driver.js';
import { connectPostgres } from '../src/db/postgres.js';
import { runPlan } from '../src/db/runner.js';
import { historyRows, writeMigration } from './apply-fixtures.js';
import { createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';
import { checkData } from './in-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(extensions: string[] = []): Promise<{ dir: string; url: string; name: string; env: Record<string, string> }> {
  const t = tempDir('orch-stmt-');
  const db = await createDatabase('orch_stmt');
  cleanups.push(() => db.drop(), t.cleanup);
  writeProject(t.dir, { extensions: Object.fromEntries(extensions.map((e) => [e, { schema: `// ${e}\n` }])) });
  return { dir: t.dir, url: db.url, name: db.name, env: { DATABASE_URL: db.url, APP_EXTENSIONS: extensions.join(',') } };
}

/** A real driver whose `exec` calls are recorded: one call is one round trip. */
function recording(db: Driver): { db: Driver; calls: string[] } {
  const calls: string[] = [];
  const wrapped = Object.create(db) as Driver;
  Object.defineProperty(wrapped, 'exec', {
    value: async (sql: string) => {
      calls.push(sql);
      await db.exec(sql);
    },
  });
  return { db: wrapped, calls };
}

const TRICKY_UP = `-- A table; its default holds semicolons
CREATE TABLE "note" (
  "id" INTEGER PRIMARY KEY,
  "body" TEXT NOT NULL DEFAULT 'a;b;c' -- a comment; with a semicolon
);

/* a block comment; with a semicolon */
INSERT INTO "note" VALUES (1, 'it''s; fine'), (2, E'back\\'slash;');

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "note" WHERE "id" = 3) THEN
    INSERT INTO "note" VALUES (3, 'from a DO; block');
  END IF;
END
$$;

CREATE FUNCTION "note_count"() RETURNS integer LANGUAGE sql AS $fn$
  SELECT count(*)::integer FROM "note"; -- inside a dollar quote
$fn$;

DO $tag$ BEGIN PERFORM "note_count"(); END $tag$;
-- a trailing comment; after the last statement
`;

const TRICKY_UP_STATEMENTS = [
  `-- A table; its default holds semicolons
CREATE TABLE "note" (
  "id" INTEGER PRIMARY KEY,
  "body" TEXT NOT NULL DEFAULT 'a;b;c' -- a comment; with a semicolon
);`,
  `/* a block comment; with a semicolon */
INSERT INTO "note" VALUES (1, 'it''s; fine'), (2, E'back\\'slash;');`,
  `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "note" WHERE "id" = 3) THEN
    INSERT INTO "note" VALUES (3, 'from a DO; block');
  END IF;
END
$$;`,
  `CREATE FUNCTION "note_count"() RETURNS integer LANGUAGE sql AS $fn$
  SELECT count(*)::integer FROM "note"; -- inside a dollar quote
$fn$;`,
  'DO $tag$ BEGIN PERFORM "note_count"(); END $tag$;',
];

const TRICKY_DOWN = `DO $$ BEGIN RAISE NOTICE 'dropping; now'; END $$;
DROP FUNCTION "note_count"();
-- the table; and its rows
DROP TABLE "note";
`;

describe('one statement per round trip', () => {
  it('applies a migration and its down.sql statement by statement: DO blocks, dollar quotes, strings and comments with semicolons', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_notes', { sql: TRICKY_UP, down: TRICKY_DOWN });
    const ctx = makeContext({ cwd: s.dir }, undefined, { ...process.env, ...s.env });
    const project = contextProject(ctx);
    const real = await connectPostgres(s.url, { lockKey: 1 });
    try {
      const { db, calls } = recording(real);
      await db.lock(() => {});
      const plan = planUpgrade(await loadState(db, project), ['core'], { newId: randomUUID });
      const result = await runPlan(db, plan);
      expect(result.failed).toBeNull();
      // BEGIN, the history table, each statement alone, then reset + history row + COMMIT.
      expect(calls[0]).toBe('BEGIN;');
      expect(calls[1]).toMatch(/^CREATE TABLE IF NOT EXISTS "public"\."_prisma_migrations"/);
      expect(calls.slice(2, -1)).toEqual(TRICKY_UP_STATEMENTS);
      expect(calls.at(-1)).toMatch(/^RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;\nINSERT INTO "public"\."_prisma_migrations" .*\nCOMMIT;$/);
      expect(await query(s.url, 'SELECT "id", "body", "note_count"() AS n FROM "note" ORDER BY 1')).toEqual([
        { id: 1, body: "it's; fine", n: 3 },
        { id: 2, body: "back'slash;", n: 3 },
        { id: 3, body: 'from a DO; block', n: 3 },
      ]);

      calls.length = 0;
      const down = planDowngrade(await loadState(db, project), [{ owner: 'core', keep: null }], { cascade: false });
      expect((await runPlan(db, down)).failed).toBeNull();
      expect(calls).toEqual([
        'BEGIN;',
        `DO $$ BEGIN RAISE NOTICE 'dropping; now'; END $$;`,
        'DROP FUNCTION "note_count"();',
        '-- the table; and its rows\nDROP TABLE "note";',
        expect.stringMatching(/^RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;\nDELETE FROM "public"\."_prisma_migrations" WHERE "id" = '[0-9a-f-]{36}';\nCOMMIT;$/),
      ]);
      expect(await query(s.url, `SELECT to_regclass('public.note') AS t`)).toEqual([{ t: null }]);
    } finally {
      await real.close();
    }
  });

  it('--sql prints the same migration whole, and psql runs it to the same rows', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_notes', { sql: TRICKY_UP, down: TRICKY_DOWN });
    const printed = await runCli(s.dir, ['migrate', '--sql'], s.env);
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toContain(TRICKY_UP);
    const file = path.join(s.dir, 'run.sql');
    writeFileSync(file, printed.stdout);
    const psql = await execa('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', s.url, '-f', file], { reject: false });
    expect(psql.exitCode).toBe(0);
    expect(await query(s.url, 'SELECT "id", "note_count"() AS n FROM "note" ORDER BY 1')).toEqual([
      { id: 1, n: 3 },
      { id: 2, n: 3 },
      { id: 3, n: 3 },
    ]);
    const after = await runCli(s.dir, ['migrate'], s.env);
    expect(after.stdout).toBe('Nothing to apply: 1 owner up to date.');
  });

  it('a failing statement is found without running the migration again: a sequence advanced before it moves exactly once', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_seq', { sql: 'CREATE SEQUENCE "counter";\n' });
    writeMigration(s.dir, 'core', '20240102000000_bad', {
      sql: `-- takes a number, then fails
SELECT nextval('counter');
CREATE TABLE "made" ("id" INTEGER);
INSERT INTO "made"
  SELECT "id" FROM "nowhere";
CREATE TABLE "never" ("id" INTEGER);
`,
    });
    const r = await runCli(s.dir, ['migrate'], s.env);
    expect(r.exitCode).toBe(1);
    const file = path.join(s.dir, 'prisma/migrations/20240102000000_bad/migration.sql');
    expect(r.stderr).toContain(
      `error: core/20240102000000_bad failed and was rolled back, so nothing of it remains: line 5 of ${file}, \`INSERT INTO "made" SELECT "id" FROM "nowhere";\`: relation "nowhere" does not exist [SQLSTATE 42P01];`,
    );
    expect(await query(s.url, `SELECT last_value::int AS v, is_called FROM "counter"`)).toEqual([{ v: 1, is_called: true }]);
    expect(await query(s.url, `SELECT to_regclass('public.made') AS t`)).toEqual([{ t: null }]);
    expect((await historyRows(s.url, '_prisma_migrations')).map((h) => h.migration_name)).toEqual(['20240101000000_seq']);
  });

  it('an error without a position (raised while executing) names the statement and the line its code starts on', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_div', { sql: 'CREATE TABLE "t" ("n" INTEGER);\n\n/* checks */\nSELECT 1 / 0;\n' });
    const r = await runCli(s.dir, ['migrate'], s.env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/: line 4 of .*20240101000000_div\/migration\.sql, `SELECT 1 \/ 0;`: division by zero \[SQLSTATE 22012\];/);
  });
});

describe('bookkeeping a migration cannot move', () => {
  it("a core migration that moves search_path moves neither later owners' history tables nor their objects; a second run applies nothing", async () => {
    const s = await setup(['billing']);
    writeMigration(s.dir, 'core', '20240101000000_side', { sql: 'CREATE SCHEMA "side";\nSET search_path TO "side", "public";\nCREATE TABLE "side_t" ("id" INTEGER);\n' });
    writeMigration(s.dir, 'core', '20240102000000_role', { sql: 'SET ROLE pg_read_all_data;\nSET work_mem = \'7MB\';\n' });
    writeMigration(s.dir, 'billing', '20240103000000_init', { sql: 'CREATE TABLE "billing_t" ("id" INTEGER);\n' });
    const first = await runCli(s.dir, ['migrate'], s.env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^Applied 3 migrations \(core: 2, billing: 1\)/);
    const placed = await query<{ schema: string; name: string }>(
      s.url,
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema IN ('public', 'side') ORDER BY 2`,
    );
    expect(placed).toEqual([
      { schema: 'public', name: '_prisma_migrations' },
      { schema: 'public', name: '_prisma_migrations_billing' },
      { schema: 'public', name: 'billing_t' },
      { schema: 'side', name: 'side_t' },
    ]);
    const second = await runCli(s.dir, ['migrate'], s.env);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toBe('Nothing to apply: 2 owners up to date.');
  });

  it('a failing no-transaction migration is recorded as failed; migrate stops before it until it is resolved, with the commands to do so', async () => {
    const s = await setup();
    const name = '20240101000000_partial';
    writeMigration(s.dir, 'core', name, { sql: '-- orchestrate:no-transaction\nCREATE TABLE "half" ("id" INTEGER);\nINSERT INTO "missing" VALUES (1);\n' });
    const r = await runCli(s.dir, ['migrate'], s.env);
    expect(r.exitCode).toBe(1);
    const [row] = await query<{ id: string; finished_at: Date | null; logs: string; applied_steps_count: number; rolled_back_at: Date | null }>(
      s.url,
      'SELECT id, finished_at, logs, applied_steps_count, rolled_back_at FROM "_prisma_migrations"',
    );
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(row!.logs).toMatch(/^relation "missing" does not exist \[SQLSTATE 42P01\] \(at line 3 of .*migration\.sql, after 1 statement\(s\) that were applied\)$/);
    const update = `UPDATE "public"."_prisma_migrations" SET "rolled_back_at" = now() WHERE "id" IN ('${row!.id}');`;
    expect(r.stderr).toContain(
      `error: core/${name} failed at line 3 of ${path.join(s.dir, 'prisma/migrations', name, 'migration.sql')}, \`INSERT INTO "missing" VALUES (1);\`: relation "missing" does not exist [SQLSTATE 42P01]; it runs without a transaction, so the statements before that one stay applied, and _prisma_migrations records it as failed, which stops migrate for core until it is resolved: finish or undo its changes by hand, then record it as applied with \`orchestrate stamp core ${name}\` if they are complete, or as rolled back with \`${update}\` if they are undone, and run migrate again.`,
    );

    const status = await runCli(s.dir, ['status'], s.env);
    expect(status.stdout).toMatch(new RegExp(`${name}\\s+failed, partly applied`));
    const json = JSON.parse((await runCli(s.dir, ['--json', 'status'], s.env)).stdout);
    expect(json.owners[0].migrations).toEqual([{ migration: name, status: 'failed', appliedAt: null }]);

    const blocked = await runCli(s.dir, ['migrate'], s.env);
    expect(blocked.exitCode).toBe(3);
    expect(blocked.stderr).toContain(`\`orchestrate stamp core ${name}\``);
    expect(blocked.stderr).toContain(`\`${update}\``);

    // Resolved as rolled back (the partial table undone, the file fixed): it applies again.
    await query(s.url, 'DROP TABLE "half"');
    await query(s.url, update.replace(/;$/, ''));
    writeMigration(s.dir, 'core', name, { sql: '-- orchestrate:no-transaction\nCREATE TABLE "half" ("id" INTEGER);\n' });
    const fixed = await runCli(s.dir, ['migrate'], s.env);
    expect(fixed.exitCode).toBe(0);
    expect((await historyRows(s.url, '_prisma_migrations')).map((h) => [h.finished, h.rolled_back, h.applied_steps_count])).toEqual([
      [false, true, 0],
      [true, false, 1],
    ]);
  });
});

describe('bytes checked before anything runs', () => {
  it('refuses a migration.sql that is not UTF-8, naming the file and the byte offset, before applying anything; check reports it', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_ok', { sql: 'CREATE TABLE "ok_t" ("id" INTEGER);\n' });
    const dir = writeMigration(s.dir, 'core', '20240102000000_latin1', { sql: '' });
    const file = path.join(dir, 'migration.sql');
    writeFileSync(file, Buffer.concat([Buffer.from("INSERT INTO \"ok_t\" VALUES (1);\n-- caf"), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r = await runCli(s.dir, ['migrate'], s.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error: ${file} is not valid UTF-8: the byte 0xe9 at byte offset 37 (line 2) is not part of a UTF-8 character; save the file as UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`) before running anything, as psql would refuse it too.`,
    );
    expect(await query(s.url, `SELECT to_regclass('public.ok_t') AS t, to_regclass('public._prisma_migrations') AS h`)).toEqual([{ t: null, h: null }]);
    // check's report (the data `check --json` prints) has it too.
    const check = await checkData(s.dir, [], { database: s.url });
    expect(check.ok).toBe(false);
    expect(check.problems.filter((p) => p.code === 'encoding')).toEqual([
      expect.objectContaining({ file, line: 2, message: expect.stringContaining('is not valid UTF-8: the byte 0xe9 at byte offset 37 (line 2)') }),
    ]);
  });

  it('refuses a down.sql that is not UTF-8 before rolling anything back', async () => {
    const s = await setup();
    writeMigration(s.dir, 'core', '20240101000000_a', { sql: 'CREATE TABLE "a_t" ("id" INTEGER);\n', down: 'DROP TABLE "a_t";\n' });
    const dir = writeMigration(s.dir, 'core', '20240102000000_b', { sql: 'CREATE TABLE "b_t" ("id" INTEGER);\n' });
    expect((await runCli(s.dir, ['migrate'], s.env)).exitCode).toBe(0);
    writeFileSync(path.join(dir, 'down.sql'), Buffer.from([0x44, 0x52, 0x4f, 0x50, 0x20, 0xff, 0x3b, 0x0a]));
    const r = await runCli(s.dir, ['downgrade', '--core', '--target', 'base'], s.env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${path.join(dir, 'down.sql')} is not valid UTF-8: the byte 0xff at byte offset 5 (line 1)`);
    expect(await query(s.url, `SELECT to_regclass('public.a_t') AS a, to_regclass('public.b_t') AS b`)).toEqual([{ a: 'a_t', b: 'b_t' }]);
    const check = await checkData(s.dir, [], { database: s.url });
    expect(check.ok).toBe(false);
    expect(check.problems.filter((p) => p.code === 'encoding')).toEqual([expect.objectContaining({ owner: 'core', file: path.join(dir, 'down.sql') })]);
  });
});

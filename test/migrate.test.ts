import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_INIT, BILLING_PLAN, CORE_INIT, CORE_NAME, CRM_INIT, SAMPLE, SAMPLE_ENV, columns, freePort, historyRows, sha256, stackLines, tables, writeMigration, useSampleOnPostgres } from './apply-fixtures.js';
import { query, runCli } from './helpers.js';

const sample = useSampleOnPostgres('orch-migrate-');

describe('migrate on PostgreSQL', () => {
  it('applies every owner on an empty database, records Prisma-style rows, and does nothing the second time', async () => {
    const first = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^Applied 5 migrations \(core: 2, billing: 2, crm: 1\) in \d+(\.\d)? m?s\.$/);
    const progress = first.stderr.split('\n').filter((l) => l.startsWith('Applied '));
    expect(progress.map((l) => l.replace(/ \((\d+ ms|\d+\.\d s)\)$/, ''))).toEqual([
      `Applied core/${CORE_INIT}`,
      `Applied core/${CORE_NAME}`,
      `Applied billing/${BILLING_INIT}`,
      `Applied billing/${BILLING_PLAN}`,
      `Applied crm/${CRM_INIT}`,
    ]);

    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm', 'billing_invoice', 'crm_contact']);
    expect(await columns(sample.url, 'User')).toEqual(['id', 'email', 'name', 'billing_plan']);

    // Exactly Prisma Migrate's table.
    const shape = await query(
      sample.url,
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default FROM information_schema.columns WHERE table_name = '_prisma_migrations_billing' ORDER BY ordinal_position`,
    );
    expect(shape).toEqual([
      { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: '0' },
    ]);
    const [pk] = await query<{ def: string }>(sample.url, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '_prisma_migrations'::regclass AND contype = 'p'`);
    expect(pk!.def).toBe('PRIMARY KEY (id)');

    const core = await historyRows(sample.url, '_prisma_migrations');
    expect(core).toEqual([
      { migration_name: CORE_INIT, checksum: sha256(SAMPLE.core![CORE_INIT]!.sql), finished: true, rolled_back: false, applied_steps_count: 1, logs: null },
      { migration_name: CORE_NAME, checksum: sha256(SAMPLE.core![CORE_NAME]!.sql), finished: true, rolled_back: false, applied_steps_count: 1, logs: null },
    ]);
    const [ids] = await query<{ ok: boolean }>(sample.url, `SELECT bool_and(id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AND finished_at >= started_at) AS ok FROM _prisma_migrations`);
    expect(ids!.ok).toBe(true);
    expect((await historyRows(sample.url, '_prisma_migrations_crm')).map((r) => r.migration_name)).toEqual([CRM_INIT]);

    const second = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toBe('Nothing to apply: 3 owners up to date.');
    expect(second.stderr).toBe('');
    expect(await historyRows(sample.url, '_prisma_migrations')).toHaveLength(2);
  });

  it('defaults to every owner, and `upgrade` is the same command', async () => {
    const r = await runCli(sample.dir, ['upgrade'], sample.env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied 5 migrations/);
  });

  it('prints the run as one JSON document with --json', async () => {
    const r = await runCli(sample.dir, ['--json', 'migrate', '--core'], sample.env);
    expect(r.exitCode).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.database).toBe(sample.url);
    expect(data.applied).toBe(2);
    expect(data.owners).toHaveLength(1);
    expect(data.owners[0].owner).toBe('core');
    expect(data.owners[0].historyTable).toBe('_prisma_migrations');
    expect(data.owners[0].applied.map((a: { migration: string }) => a.migration)).toEqual([CORE_INIT, CORE_NAME]);
    expect(data.owners[0].applied.every((a: { durationMs: number }) => Number.isInteger(a.durationMs) && a.durationMs >= 0)).toBe(true);
    expect(data.owners[0].skipped).toEqual([]);

    const again = JSON.parse((await runCli(sample.dir, ['migrate', '--json', '--all'], sample.env)).stdout);
    expect(again.applied).toBe(3);
    expect(again.owners.map((o: { owner: string; skipped: string[] }) => [o.owner, o.skipped])).toEqual([
      ['core', [CORE_INIT, CORE_NAME]],
      ['billing', []],
      ['crm', []],
    ]);
  });

  it('--target moves one owner and stops there; other owners stay as they are', async () => {
    await runCli(sample.dir, ['migrate', '--core', '--target', CORE_INIT], sample.env);
    expect((await historyRows(sample.url, '_prisma_migrations')).map((r) => r.migration_name)).toEqual([CORE_INIT]);
    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations']);

    // A unique name selects its owner by itself.
    const r = await runCli(sample.dir, ['migrate', '--target', BILLING_INIT], sample.env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied 1 migration \(billing: 1\)/);
    expect((await historyRows(sample.url, '_prisma_migrations')).map((r) => r.migration_name)).toEqual([CORE_INIT]);

    // With --all, owners before the target's owner are applied fully, the run stops after it.
    const all = await runCli(sample.dir, ['--json', 'migrate', '--all', '--target', CORE_NAME], sample.env);
    expect(all.exitCode).toBe(0);
    const data = JSON.parse(all.stdout);
    expect(data.owners.map((o: { owner: string; applied: unknown[]; remaining: string[] }) => [o.owner, o.applied.length, o.remaining])).toEqual([
      ['core', 1, []],
      ['billing', 0, [BILLING_PLAN]],
      ['crm', 0, [CRM_INIT]],
    ]);

    const unknown = await runCli(sample.dir, ['migrate', '--core', '--target', '20990101000000_nope'], sample.env);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe(
      `error: --target 20990101000000_nope: core has no migration of that name or prefix in ${path.join(sample.dir, 'prisma/migrations')}; valid names: ${CORE_INIT}, ${CORE_NAME}.`,
    );
  });

  it('refuses migrations whose required migrations of other owners are not applied, before applying anything', async () => {
    const r = await runCli(sample.dir, ['migrate', '--extension', 'billing'], sample.env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `error: Cannot apply migrations whose dependencies are missing, so nothing was applied: billing/${BILLING_INIT} requires core/${CORE_INIT}, which is not applied; billing/${BILLING_PLAN} requires core/${CORE_NAME}, which is not applied; apply those first (e.g. \`orchestrate migrate --all\`, enabling the owners they belong to) or fix the \`-- orchestrate:requires\` lines.`,
    );
    expect(await tables(sample.url)).toEqual([]);

    // Applied earlier in the same run counts.
    await runCli(sample.dir, ['migrate', '--core', '--target', CORE_INIT], sample.env);
    const partial = await runCli(sample.dir, ['migrate', '--extension', 'billing'], sample.env);
    expect(partial.exitCode).toBe(3);
    expect(partial.stderr).toContain(`billing/${BILLING_PLAN} requires core/${CORE_NAME}, which is not applied`);
    expect(partial.stderr).not.toContain(`billing/${BILLING_INIT} requires`);
    expect(await runCli(sample.dir, ['migrate', '--core', '--extension', 'billing'], sample.env)).toMatchObject({ exitCode: 0 });
  });

  it('rolls back a failing migration, keeps what came before, and names owner, migration, statement and server message', async () => {
    const bad = '20240120000000_bad';
    writeMigration(sample.dir, 'crm', bad, {
      sql: 'CREATE TABLE "crm_note" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "crm_note" VALUES (1);\nINSERT INTO "crm_note"\n  VALUES (1);\nCREATE TABLE "crm_after" ("id" INTEGER);\n',
    });
    const r = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(r.exitCode).toBe(1);
    const file = path.join(sample.dir, 'extensions/crm/migrations', bad, 'migration.sql');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      `error: crm/${bad} failed and was rolled back, so nothing of it remains: line 3 of ${file}, \`INSERT INTO "crm_note" VALUES (1);\`: duplicate key value violates unique constraint "crm_note_pkey" (Key (id)=(1) already exists) [SQLSTATE 23505]; migrations applied before it stay applied; fix the migration and run migrate again. Applied before it in this run, and still applied: 5 migrations (core: 2, billing: 2, crm: 1).`,
    ]);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm', 'billing_invoice', 'crm_contact']);
    expect((await historyRows(sample.url, '_prisma_migrations_crm')).map((r) => r.migration_name)).toEqual([CRM_INIT]);
    expect(await historyRows(sample.url, '_prisma_migrations_billing')).toHaveLength(2);

    // A syntax error is located through the server's error position.
    writeFileSync(file, 'CREATE TABLE "crm_note" ("id" INTEGER PRIMARY KEY);\n\nSELEC 1;\n');
    const syntax = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(syntax.exitCode).toBe(1);
    expect(syntax.stderr).toContain(`error: crm/${bad} failed and was rolled back, so nothing of it remains: line 3 of ${file}, \`SELEC 1;\`: syntax error at or near "SELEC" [SQLSTATE 42601];`);

    writeFileSync(file, 'CREATE TABLE "crm_note" ("id" INTEGER PRIMARY KEY);\n');
    const fixed = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(fixed.exitCode).toBe(0);
    expect(fixed.stdout).toMatch(/^Applied 1 migration \(crm: 1\)/);
  });

  it("creates an owner's history table with its first migration, so a failing first migration leaves none", async () => {
    writeFileSync(path.join(sample.dir, 'extensions/crm/migrations', CRM_INIT, 'migration.sql'), 'CREATE TABLE "crm_contact" ("id" INTEGER REFERENCES "nowhere"("id"));\n');
    const r = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: crm/${CRM_INIT} failed and was rolled back, so nothing of it remains: line 1 of`);
    expect(r.stderr).toContain('relation "nowhere" does not exist [SQLSTATE 42P01]');
    expect(await tables(sample.url)).toEqual(['User', '_prisma_migrations', '_prisma_migrations_billing', 'billing_invoice']);
  });

  it('refuses to run when an applied migration was edited, naming the file, and applies nothing', async () => {
    await runCli(sample.dir, ['migrate', '--all'], sample.env);
    const file = path.join(sample.dir, 'prisma/migrations', CORE_INIT, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '-- an innocent comment\n');
    writeMigration(sample.dir, 'core', '20240301000000_more', { sql: 'CREATE TABLE "More" ("id" INTEGER);\n' });
    const r = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: core/${CORE_INIT} was edited after it was applied: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} has checksum [0-9a-f]{12}… but _prisma_migrations recorded [0-9a-f]{12}…; restore the file as it was applied \\(e\\.g\\. \`git checkout -- .*\`\\) and put the new change in a new migration\\.$`,
      ),
    );
    expect(await tables(sample.url)).not.toContain('More');

    // Line endings alone are not an edit (a checkout with core.autocrlf).
    writeFileSync(file, SAMPLE.core![CORE_INIT]!.sql.replace(/\n/g, '\r\n'));
    expect((await runCli(sample.dir, ['migrate', '--all'], sample.env)).exitCode).toBe(0);
    expect(await tables(sample.url)).toContain('More');
  });

  it('refuses to run when an applied migration is missing from disk', async () => {
    await runCli(sample.dir, ['migrate', '--all'], sample.env);
    rmSync(path.join(sample.dir, 'extensions/billing/migrations', BILLING_PLAN), { recursive: true });
    const r = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `error: billing/${BILLING_PLAN} is recorded as applied in _prisma_migrations_billing, but ${path.join(sample.dir, 'extensions/billing/migrations', BILLING_PLAN)} does not exist; restore that folder from version control (a teammate's migration may be missing from your checkout).`,
    );
  });

  it('runs a `-- orchestrate:no-transaction` migration statement by statement (CREATE INDEX CONCURRENTLY)', async () => {
    writeMigration(sample.dir, 'core', '20240301000000_concurrently', {
      sql: '-- orchestrate:no-transaction\nCREATE INDEX CONCURRENTLY "User_name_idx" ON "User"("name");\nCREATE INDEX CONCURRENTLY "User_lower_email_idx" ON "User"(lower("email"));\n',
    });
    const r = await runCli(sample.dir, ['migrate', '--core'], sample.env);
    expect(r.exitCode).toBe(0);
    const indexes = await query<{ indexname: string }>(sample.url, `SELECT indexname FROM pg_indexes WHERE tablename = 'User' ORDER BY 1`);
    expect(indexes.map((i) => i.indexname)).toEqual(['User_email_key', 'User_lower_email_idx', 'User_name_idx', 'User_pkey']);
    expect((await historyRows(sample.url, '_prisma_migrations')).map((r) => r.migration_name)).toContain('20240301000000_concurrently');
  });

  it('finds the no-transaction marker below the requires lines of an extension migration', async () => {
    writeMigration(sample.dir, 'billing', '20240301000000_concurrently', {
      sql: `-- orchestrate:requires core ${CORE_INIT}\n-- orchestrate:no-transaction\nCREATE INDEX CONCURRENTLY "billing_invoice_amount_idx" ON "billing_invoice"("amount");\n`,
    });
    const r = await runCli(sample.dir, ['migrate', '--all'], sample.env);
    expect(r.stderr).not.toContain('error');
    expect(r.exitCode).toBe(0);
    const indexes = await query<{ indexname: string }>(sample.url, `SELECT indexname FROM pg_indexes WHERE tablename = 'billing_invoice' ORDER BY 1`);
    expect(indexes.map((i) => i.indexname)).toContain('billing_invoice_amount_idx');
  });

  it('retries an unreachable database for --wait seconds, then fails with one sentence and no stack trace', async () => {
    const port = await freePort();
    const url = `postgresql://postgres:secret@127.0.0.1:${port}/nowhere`;
    const started = Date.now();
    const r = await runCli(sample.dir, ['migrate', '--all', '--wait', '2'], { ...SAMPLE_ENV, DATABASE_URL: url });
    const elapsed = Date.now() - started;
    expect(r.exitCode).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(8000);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(`Waiting up to 2 s for the database at postgresql://postgres:****@127.0.0.1:${port}/nowhere (connect ECONNREFUSED 127.0.0.1:${port})...`);
    expect(lines[1]).toMatch(
      new RegExp(
        `^error: Cannot connect to the database at postgresql://postgres:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/nowhere \\(from DATABASE_URL\\) after \\d+ attempts in \\d+\\.\\d s: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; check that the server is running and reachable, or raise --wait\\.$`,
      ),
    );
    expect(lines).toHaveLength(2);
    expect(r.stderr).not.toContain('secret');
    expect(r.stdout).toBe('');

    const once = await runCli(sample.dir, ['--url', url, 'migrate'], SAMPLE_ENV);
    expect(once.exitCode).toBe(1);
    expect(once.stderr).toBe(
      `error: Cannot connect to the database at postgresql://postgres:****@127.0.0.1:${port}/nowhere (from --url): connect ECONNREFUSED 127.0.0.1:${port}; check that the server is running and that the URL is right, or pass --wait <seconds> to wait for it.`,
    );
  });

  it('rejects a URL of another database product before connecting', async () => {
    const r = await runCli(sample.dir, ['migrate'], { ...SAMPLE_ENV, DATABASE_URL: 'mysql://root:pw@localhost:3306/app' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'error: DATABASE_URL is a "mysql:" URL (mysql://root:****@localhost:3306/app), but only PostgreSQL is supported; use a postgresql://user:password@host:5432/database URL, or unset it to use the embedded database.',
    );
  });

  it('puts history tables and migrations in the schema named by a Prisma-style ?schema= parameter', async () => {
    await query(sample.url, 'CREATE SCHEMA app');
    const url = `${sample.url}?schema=app`;
    const r = await runCli(sample.dir, ['migrate', '--core'], { ...SAMPLE_ENV, DATABASE_URL: url });
    expect(r.exitCode).toBe(0);
    const found = await query<{ s: string; t: string }>(sample.url, `SELECT schemaname AS s, tablename AS t FROM pg_tables WHERE schemaname IN ('public', 'app') ORDER BY 1, 2`);
    expect(found).toEqual([
      { s: 'app', t: 'User' },
      { s: 'app', t: '_prisma_migrations' },
    ]);
    expect((await runCli(sample.dir, ['migrate', '--core'], { ...SAMPLE_ENV, DATABASE_URL: url })).stdout).toBe('Nothing to apply: 1 owner up to date.');
  });
});

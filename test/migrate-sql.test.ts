import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BILLING_INIT, CORE_INIT, SAMPLE_ENV, historyRows, tables, writeMigration, writeSample } from './apply-fixtures.js';
import { catalogSnapshot, createDatabase, runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
const dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];

beforeEach(() => {
  project = tempDir('orch-sql-');
  writeSample(project.dir);
  // Scripts that are easy to get wrong when concatenated: semicolons inside bodies and strings,
  // no final newline, a trailing comment, no final semicolon, a no-transaction migration.
  writeMigration(project.dir, 'core', '20240301000000_tricky', {
    sql: [
      'CREATE TABLE "Audit" ("id" SERIAL PRIMARY KEY, "note" TEXT DEFAULT \'a;b\', "tag" TEXT DEFAULT E\'it\\\'s; fine\');',
      "CREATE FUNCTION audit_touch() RETURNS trigger LANGUAGE plpgsql AS $body$\nBEGIN\n  NEW.note := 'x;y';\n  RETURN NEW;\nEND;\n$body$;",
      'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;',
      '/* a comment; with a semicolon */ CREATE INDEX "Audit_note_idx" ON "Audit"("note")',
      '-- the last statement has no semicolon and this comment has no newline',
    ].join('\n'),
    down: 'DROP TABLE "Audit";\nDROP FUNCTION audit_touch();',
  });
  writeMigration(project.dir, 'billing', '20240301000000_concurrent_index', {
    sql: '-- orchestrate:no-transaction\nCREATE INDEX CONCURRENTLY "billing_invoice_amount_idx" ON "billing_invoice"("amount");\nCREATE INDEX CONCURRENTLY "billing_invoice_user_idx" ON "billing_invoice"("user_id")',
    down: '-- orchestrate:no-transaction\nDROP INDEX CONCURRENTLY "billing_invoice_user_idx";\nDROP INDEX CONCURRENTLY "billing_invoice_amount_idx";\n',
  });
});

afterEach(async () => {
  for (const db of dbs.splice(0)) await db.drop();
  project.cleanup();
});

async function database() {
  const db = await createDatabase();
  dbs.push(db);
  return db;
}

async function allHistory(url: string) {
  const out: Record<string, { migration_name: string; checksum: string; finished: boolean; applied_steps_count: number }[]> = {};
  for (const table of ['_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm']) {
    out[table] = (await historyRows(url, table)).map(({ migration_name, checksum, finished, applied_steps_count }) => ({ migration_name, checksum, finished, applied_steps_count }));
  }
  return out;
}

describe('migrate --sql', () => {
  it('prints a script that psql runs to the same schema and the same history as migrate, touching nothing itself', async () => {
    const direct = await database();
    const viaPsql = await database();

    const printed = await runCli(project.dir, ['migrate', '--all', '--sql'], { ...SAMPLE_ENV, DATABASE_URL: viaPsql.url });
    expect(printed.exitCode).toBe(0);
    expect(printed.stderr).toBe('');
    expect(await tables(viaPsql.url)).toEqual([]); // not even the history tables

    const script = printed.stdout;
    expect(script.split('\n')[0]).toBe(`-- orchestrate migrate --sql: 7 migrations for ${viaPsql.url}; nothing has been run.`);
    const headers = script.split('\n').filter((l) => /^-- (core|billing|crm)[/:]/.test(l));
    expect(headers).toEqual([
      `-- core/${CORE_INIT}`,
      '-- core/20240201000000_user_name',
      '-- core/20240301000000_tricky',
      `-- billing/${BILLING_INIT}`,
      '-- billing/20240210000000_user_plan',
      '-- billing/20240301000000_concurrent_index (no transaction)',
      '-- crm/20240115000000_init',
    ]);
    // Each history table is created in the transaction of its owner's first migration.
    expect(script.match(/CREATE TABLE IF NOT EXISTS/g)).toHaveLength(3);
    expect(script).toMatch(
      /-- billing\/20240110000000_init\nBEGIN;\nCREATE TABLE IF NOT EXISTS "public"."_prisma_migrations_billing" \([^;]*\);\n-- orchestrate:requires core 20240101000000_init\nCREATE TABLE "billing_invoice"/,
    );
    expect(script).toMatch(
      /RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;\nINSERT INTO "public"."_prisma_migrations_crm" \("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count"\) VALUES \('[0-9a-f-]{36}', '[0-9a-f]{64}', clock_timestamp\(\), '20240115000000_init', NULL, NULL, now\(\), 1\);\nCOMMIT;/,
    );

    const file = path.join(project.dir, '..', `${path.basename(project.dir)}.sql`);
    writeFileSync(file, script);
    try {
      const psql = await execa('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', viaPsql.url, '-f', file], { reject: false });
      expect(psql.stderr).toBe('');
      expect(psql.exitCode).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }

    const run = await runCli(project.dir, ['migrate', '--all'], { ...SAMPLE_ENV, DATABASE_URL: direct.url });
    expect(run.exitCode).toBe(0);

    expect(await catalogSnapshot(viaPsql.url)).toBe(await catalogSnapshot(direct.url));
    const expected = await allHistory(direct.url);
    expect(Object.values(expected).flat()).toHaveLength(7);
    expect(await allHistory(viaPsql.url)).toEqual(expected);

    // After psql, orchestrate sees that database as up to date.
    const after = await runCli(project.dir, ['migrate', '--all'], { ...SAMPLE_ENV, DATABASE_URL: viaPsql.url });
    expect(after.stdout).toBe('Nothing to apply: 3 owners up to date.');
  });

  it('prints only what is pending, and "Nothing to do" when up to date', async () => {
    const db = await database();
    await runCli(project.dir, ['migrate', '--core', '--target', CORE_INIT], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    const r = await runCli(project.dir, ['migrate', '--core', '--sql'], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    expect(r.stdout).not.toContain('CREATE TABLE IF NOT EXISTS');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('-- core/'))).toEqual(['-- core/20240201000000_user_name', '-- core/20240301000000_tricky']);

    await runCli(project.dir, ['migrate', '--all'], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    const none = await runCli(project.dir, ['--json', 'migrate', '--all', '--sql'], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    const data = JSON.parse(none.stdout);
    expect(data.sql).toBe(`-- orchestrate migrate --sql: 0 migrations for ${db.url}; nothing has been run.\n-- Nothing to do.\n`);
    expect(data.applied).toBe(0);
  });

  it('does not create the embedded database', async () => {
    const r = await runCli(project.dir, ['migrate', '--all', '--sql'], SAMPLE_ENV);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('No embedded database in .orchestrate/pglite yet (set DATABASE_URL or --url to use a server).\n'.trimEnd());
    expect(r.stdout).toContain('-- orchestrate migrate --sql: 7 migrations for the embedded database; nothing has been run.');
    expect(existsSync(path.join(project.dir, '.orchestrate'))).toBe(false);
  });

  it('downgrade --sql prints the down scripts and history deletions in order, touching nothing', async () => {
    const db = await database();
    await runCli(project.dir, ['migrate', '--all'], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    const before = await catalogSnapshot(db.url);
    const r = await runCli(project.dir, ['downgrade', '--core', '--target', CORE_INIT, '--cascade', '--sql'], { ...SAMPLE_ENV, DATABASE_URL: db.url });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('-- ') && !l.startsWith('-- orchestrate'))).toEqual([
      '-- billing/20240301000000_concurrent_index (down) (no transaction)',
      '-- billing/20240210000000_user_plan (down)',
      '-- core/20240301000000_tricky (down)',
      '-- core/20240201000000_user_name (down)',
    ]);
    expect(r.stdout).toMatch(/BEGIN;\nALTER TABLE "User" DROP COLUMN "billing_plan";\nRESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL;\nDELETE FROM "public"."_prisma_migrations_billing" WHERE "id" = '[0-9a-f-]{36}';\nCOMMIT;/);
    expect(await catalogSnapshot(db.url)).toBe(before);
  });
});

/**
 * Scripts with their own BEGIN/COMMIT (Prisma's engine writes one when it removes enum values)
 * stay atomic with their history row: nothing of a failing migration remains.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_ENV, historyRows, tables, writeMigration, writeSample } from './apply-fixtures.js';
import { createDatabase, query, runCli, tempDir } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const t = tempDir('orch-txctl-');
  cleanups.push(t.cleanup);
  writeSample(t.dir);
  const db = await createDatabase();
  cleanups.push(db.drop);
  const env = { ...SAMPLE_ENV, DATABASE_URL: db.url };
  expect((await runCli(t.dir, ['migrate', '--all'], env)).exitCode).toBe(0);
  return { dir: t.dir, url: db.url, env };
}

describe('migrations with their own BEGIN/COMMIT', () => {
  it('a failure after an inner COMMIT still leaves nothing behind and names the right statement', async () => {
    const { dir, url, env } = await setup();
    writeMigration(dir, 'crm', '20240301000000_inner_commit', { sql: 'BEGIN;\nCREATE TABLE "crm_x" ("id" INTEGER);\nCOMMIT;\nSELECT 1/0;\n' });
    const r = await runCli(dir, ['migrate', '--all'], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('crm/20240301000000_inner_commit failed and was rolled back, so nothing of it remains: line 4 of ');
    expect(r.stderr).toContain('`SELECT 1/0;`: division by zero');
    expect(await tables(url)).not.toContain('crm_x');
    expect((await historyRows(url, '_prisma_migrations_crm')).map((h) => h.migration_name)).not.toContain('20240301000000_inner_commit');
  });

  it("Prisma's enum-value removal block applies atomically with the rest of the migration", async () => {
    const { dir, url, env } = await setup();
    writeMigration(dir, 'billing', '20240301000000_status', {
      sql: `CREATE TYPE "billing_status" AS ENUM ('DRAFT', 'OPEN', 'VOID');\nALTER TABLE "billing_invoice" ADD COLUMN "status" "billing_status" NOT NULL DEFAULT 'DRAFT';\n`,
      down: 'ALTER TABLE "billing_invoice" DROP COLUMN "status";\nDROP TYPE "billing_status";\n',
    });
    expect((await runCli(dir, ['migrate', '--all'], env)).exitCode).toBe(0);
    await query(url, `INSERT INTO "User" ("email") VALUES ('a@x'); INSERT INTO "billing_invoice" ("user_id", "amount") VALUES (1, 5), (1, 6)`);
    // As Prisma writes it for removing VOID, followed by a statement that fails on the data.
    const sql = `-- AlterEnum
BEGIN;
CREATE TYPE "billing_status_new" AS ENUM ('DRAFT', 'OPEN');
ALTER TABLE "billing_invoice" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "billing_invoice" ALTER COLUMN "status" TYPE "billing_status_new" USING ("status"::text::"billing_status_new");
ALTER TYPE "billing_status" RENAME TO "billing_status_old";
ALTER TYPE "billing_status_new" RENAME TO "billing_status";
DROP TYPE "public"."billing_status_old";
ALTER TABLE "billing_invoice" ALTER COLUMN "status" SET DEFAULT 'DRAFT';
COMMIT;

-- CreateIndex
CREATE UNIQUE INDEX "billing_invoice_user_id_key" ON "billing_invoice"("user_id");
`;
    const migration = writeMigration(dir, 'billing', '20240302000000_narrow', { sql });
    const failed = await runCli(dir, ['migrate', '--all'], env);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('line 13 of ');
    expect(failed.stderr).toContain('CREATE UNIQUE INDEX "billing_invoice_user_id_key"');
    const labels = await query<{ labels: string }>(url, `SELECT enum_range(NULL::"billing_status")::text AS labels`);
    expect(labels[0]!.labels).toBe('{DRAFT,OPEN,VOID}');

    // --sql prints the script as it runs: the inner BEGIN/COMMIT are blanked out.
    const printed = await runCli(dir, ['migrate', '--all', '--sql'], env);
    expect(printed.stdout).not.toMatch(/^COMMIT;\n\n-- CreateIndex/m);

    await query(url, `DELETE FROM "billing_invoice" WHERE "amount" = 6`);
    writeFileSync(path.join(migration, 'migration.sql'), sql);
    const ok = await runCli(dir, ['migrate', '--all'], env);
    expect(ok.exitCode).toBe(0);
    expect((await query<{ labels: string }>(url, `SELECT enum_range(NULL::"billing_status")::text AS labels`))[0]!.labels).toBe('{DRAFT,OPEN}');
  });
});

describe('statements that would end the transaction a migration runs in', () => {
  it('refuses ROLLBACK and COMMIT AND CHAIN before anything runs, naming file and line; --sql refuses too', async () => {
    const { dir, url, env } = await setup();
    writeMigration(dir, 'core', '20240301000000_ok', { sql: 'CREATE TABLE "core_ok" ("id" INTEGER);\n' });
    const bad = writeMigration(dir, 'crm', '20240301000000_ends', {
      sql: 'CREATE TABLE "crm_half" ("id" INTEGER);\nROLLBACK;\nCREATE TABLE "crm_later" ("id" INTEGER);\ncommit and chain;\n',
    });
    const r = await runCli(dir, ['migrate', '--all'], env);
    expect(r.exitCode).toBe(2);
    const file = path.join(bad, 'migration.sql');
    expect(r.stderr).toContain(`${file}: line 2, \`ROLLBACK;\`, would end the transaction crm/20240301000000_ends is applied in, together with its history row; remove it, or put \`-- orchestrate:no-transaction\` on the first line`);
    expect(r.stderr).toContain(`${file}: line 4, \`commit and chain;\``);
    expect(r.stderr).toContain('Nothing was run.');
    // Not even the valid migration of another owner ran.
    const present = await tables(url);
    expect(present).not.toContain('core_ok');
    expect(present).not.toContain('crm_half');
    expect((await historyRows(url, '_prisma_migrations')).map((h) => h.migration_name)).not.toContain('20240301000000_ok');

    const printed = await runCli(dir, ['migrate', '--all', '--sql'], env);
    expect(printed.exitCode).toBe(2);
    expect(printed.stderr).toContain('would end the transaction crm/20240301000000_ends');
  });

  it('allows ROLLBACK TO SAVEPOINT inside a migration, and ROLLBACK in one that runs without a transaction', async () => {
    const { dir, url, env } = await setup();
    writeMigration(dir, 'crm', '20240301000000_savepoint', {
      sql: 'SAVEPOINT before_t1;\nCREATE TABLE "crm_t1" ("id" INTEGER);\nROLLBACK TO SAVEPOINT before_t1;\nCREATE TABLE "crm_t2" ("id" INTEGER);\n',
    });
    writeMigration(dir, 'crm', '20240302000000_outside', { sql: '-- orchestrate:no-transaction\nROLLBACK;\nCREATE TABLE "crm_t3" ("id" INTEGER);\n' });
    const r = await runCli(dir, ['migrate', '--all'], env);
    expect(r.exitCode, r.stderr).toBe(0);
    const present = await tables(url);
    expect(present).not.toContain('crm_t1');
    expect(present).toContain('crm_t2');
    expect(present).toContain('crm_t3');
    expect((await historyRows(url, '_prisma_migrations_crm')).map((h) => h.migration_name)).toEqual(expect.arrayContaining(['20240301000000_savepoint', '20240302000000_outside']));
  });
});

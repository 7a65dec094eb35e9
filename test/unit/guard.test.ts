import { describe, expect, it } from 'vitest';
import { findViolations, type Violation } from '../../src/plan/guard.js';
import { compose, type OwnerSource } from '../../src/schema/compose.js';

const CORE = `datasource db {
  provider = "postgresql"
}

enum Role {
  A
  B
}

model User {
  id    Int    @id @default(autoincrement())
  email String
  role  Role
}
`;

const BILLING = `enum billing_Status {
  OPEN
  PAID
}

model Invoice {
  id     Int            @id @default(autoincrement())
  userId Int
  status billing_Status
  role   Role
  user   User           @relation(fields: [userId], references: [id])
  @@map("billing_invoices")
}

extend model User {
  invoices Invoice[]
  plan     String? @map("billing_plan")
}
`;

function source(owner: string, text: string): OwnerSource {
  const path = owner === 'core' ? 'prisma/schema.prisma' : `extensions/${owner}/schema.prisma`;
  return { owner, kind: owner === 'core' ? 'core' : 'extension', visible: owner === 'core' ? [] : ['core'], file: { owner, path, text }, manifestPath: owner === 'core' ? undefined : `extensions/${owner}/extension.json` };
}

const { ownership } = compose([source('core', CORE), source('billing', BILLING)]);

/** The violations of one script, as `object <- owner` (plus the special cases' markers). */
async function check(owner: string, sql: string, provider: 'postgresql' | 'sqlite' = 'postgresql'): Promise<string[]> {
  const found = await findViolations(sql, owner, ownership, ownership, ownership, undefined, provider);
  return found.map((v: Violation) => `${v.object} <- ${v.owner}${v.dropsExtensionOf ? ' (drops extension)' : ''}${v.recreatesEnumOf ? ` (recreates for ${v.recreatesEnumOf.join(',')})` : ''}${v.unrecognised ? ' (unrecognised)' : ''}`);
}

// Every statement kind Prisma's engine emits on PostgreSQL, written by the owner allowed to.
const ALLOWED: [string, string][] = [
  ['billing', 'CREATE TABLE "billing_invoices" ("id" SERIAL NOT NULL, "userId" INTEGER NOT NULL, CONSTRAINT "billing_invoices_pkey" PRIMARY KEY ("id"))'],
  ['billing', 'CREATE TABLE "billing"."billing_invoices" ("id" SERIAL NOT NULL)'],
  ['billing', 'DROP TABLE "billing_invoices"'],
  ['billing', 'ALTER TABLE "User" ADD COLUMN "billing_plan" TEXT'],
  ['billing', 'ALTER TABLE "User" DROP COLUMN "billing_plan"'],
  ['billing', 'ALTER TABLE "User" ALTER COLUMN "billing_plan" SET DATA TYPE VARCHAR(3)'],
  ['billing', 'ALTER TABLE "User" ALTER COLUMN "billing_plan" SET DEFAULT \'free\', ALTER COLUMN "billing_plan" DROP NOT NULL'],
  ['billing', 'ALTER TABLE "User" ALTER COLUMN "billing_plan" SET NOT NULL'],
  ['billing', 'ALTER TABLE "User" RENAME COLUMN "billing_plan" TO "billing_tier"'],
  ['billing', 'ALTER TABLE "billing_invoices" ADD CONSTRAINT "billing_invoices_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE'],
  ['billing', 'ALTER TABLE "billing_invoices" DROP CONSTRAINT "billing_invoices_userId_fkey"'],
  ['billing', 'ALTER TABLE "billing_invoices" ADD CONSTRAINT "billing_invoices_pkey" PRIMARY KEY ("id")'],
  ['billing', 'ALTER TABLE "billing_invoices" RENAME CONSTRAINT "billing_invoices_pkey" TO "billing_invoices_pk"'],
  ['billing', 'ALTER TABLE "User" ADD CONSTRAINT "User_billing_plan_key" UNIQUE ("billing_plan")'],
  ['billing', 'CREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices"("userId")'],
  ['billing', 'CREATE UNIQUE INDEX "User_billing_plan_key" ON "User"("billing_plan")'],
  ['billing', 'CREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices" USING GIN ("userId")'],
  ['billing', 'DROP INDEX "billing_invoices_userId_idx"'],
  ['billing', 'ALTER INDEX "billing_invoices_userId_idx" RENAME TO "billing_invoices_user_idx"'],
  ['billing', 'CREATE TYPE "billing_Status" AS ENUM (\'OPEN\', \'PAID\')'],
  ['billing', 'ALTER TYPE "billing_Status" ADD VALUE \'VOID\''],
  ['billing', 'ALTER TYPE "billing_Status" RENAME VALUE \'OPEN\' TO \'DUE\''],
  ['billing', 'DROP TYPE "billing_Status"'],
  ['billing', 'BEGIN;\nCREATE TYPE "billing_Status_new" AS ENUM (\'OPEN\');\nALTER TABLE "billing_invoices" ALTER COLUMN "status" TYPE "billing_Status_new" USING ("status"::text::"billing_Status_new");\nALTER TYPE "billing_Status" RENAME TO "billing_Status_old";\nALTER TYPE "billing_Status_new" RENAME TO "billing_Status";\nDROP TYPE "billing_Status_old";\nCOMMIT'],
  ['billing', 'CREATE SEQUENCE "billing_invoices_id_seq"'],
  ['billing', 'ALTER SEQUENCE "billing_invoices_id_seq" OWNED BY "billing_invoices"."id"'],
  ['billing', 'DROP SEQUENCE "billing_invoices_id_seq"'],
  ['billing', 'CREATE SEQUENCE "User_billing_plan_seq"'],
  ['billing', 'COMMENT ON TABLE "billing_invoices" IS \'invoices\''],
  ['billing', 'COMMENT ON COLUMN "User"."billing_plan" IS \'the plan\''],
  ['billing', 'ALTER TABLE "_InvoiceToUser" ADD CONSTRAINT "_InvoiceToUser_A_fkey" FOREIGN KEY ("A") REFERENCES "billing_invoices"("id")'],
  ['billing', 'CREATE TABLE "_InvoiceToUser" ("A" INTEGER NOT NULL, "B" INTEGER NOT NULL)'],
  ['core', 'CREATE EXTENSION IF NOT EXISTS "pgcrypto"'],
  ['core', 'ALTER EXTENSION "pgcrypto" UPDATE TO \'1.3\''],
  ['core', 'DROP EXTENSION "pgcrypto"'],
  ['core', 'CREATE SCHEMA IF NOT EXISTS "audit"'],
  ['core', 'ALTER TABLE "User" ADD COLUMN "age" INTEGER'],
  ['core', 'ALTER TYPE "Role" ADD VALUE \'C\''],
  ['core', '-- a comment only\n'],
];

// Statements each owner must not write: another owner's objects, and every kind the guard does not know.
const REFUSED: [string, string, string[]][] = [
  ['billing', 'CREATE TABLE "User" ("id" SERIAL NOT NULL)', ['table "User" <- core']],
  ['billing', 'DROP TABLE "User"', ['table "User" <- core']],
  ['core', 'DROP TABLE "User"', ['table "User" <- billing (drops extension)']],
  ['billing', 'CREATE TABLE "Audit" ("id" INTEGER)', ['table "Audit" <- (undeclared)']],
  ['billing', 'ALTER TABLE "User" ADD COLUMN "age" INTEGER', ['column "User"."age" <- core']],
  ['billing', 'ALTER TABLE "User" DROP COLUMN "email"', ['column "User"."email" <- core']],
  ['billing', 'ALTER TABLE "User" ALTER COLUMN "email" SET NOT NULL', ['column "User"."email" <- core']],
  ['billing', 'ALTER TABLE "User" ALTER COLUMN "email" SET DATA TYPE TEXT', ['column "User"."email" <- core']],
  ['billing', 'ALTER TABLE "User" RENAME COLUMN "email" TO "mail"', ['column "User"."email" <- core']],
  ['billing', 'ALTER TABLE "User" ADD COLUMN "billing_plan" TEXT, ADD COLUMN "age" INTEGER', ['column "User"."age" <- core']],
  ['billing', 'ALTER TABLE "User" ADD CONSTRAINT "User_email_key" UNIQUE ("email")', ['constraint "User_email_key" on table "User" <- core']],
  ['billing', 'ALTER TABLE "User" DROP CONSTRAINT "User_pkey"', ['constraint "User_pkey" on table "User" <- core']],
  ['billing', 'ALTER TABLE "User" RENAME CONSTRAINT "User_pkey" TO "User_pk"', ['constraint "User_pkey" on table "User" <- core']],
  ['billing', 'ALTER TABLE "User" ADD CONSTRAINT "User_email_fkey" FOREIGN KEY ("email") REFERENCES "billing_invoices"("id")', ['column "User"."email" <- core']],
  ['core', 'CREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices"("userId")', ['index "billing_invoices_userId_idx" on table "billing_invoices" <- billing']],
  ['core', 'DROP INDEX "billing_invoices_userId_idx"', ['index "billing_invoices_userId_idx" on table "billing_invoices" <- billing']],
  ['core', 'ALTER INDEX "billing_invoices_userId_idx" RENAME TO "billing_invoices_u_idx"', ['index "billing_invoices_userId_idx" on table "billing_invoices" <- billing']],
  ['billing', 'CREATE TYPE "Role" AS ENUM (\'A\')', ['enum "Role" <- core']],
  ['billing', 'ALTER TYPE "Role" ADD VALUE \'C\'', ['enum "Role" <- core']],
  ['billing', 'ALTER TYPE "Role" RENAME VALUE \'A\' TO \'Z\'', ['enum "Role" <- core']],
  ['billing', 'DROP TYPE "Role"', ['enum "Role" <- core']],
  ['core', 'CREATE TYPE "Role_new" AS ENUM (\'A\')', ['enum "Role" <- billing (recreates for billing)']],
  ['core', 'DROP TYPE "Role_old"', ['enum "Role" <- billing (recreates for billing)']],
  ['billing', 'CREATE SEQUENCE "User_id_seq"', ['sequence "User_id_seq" of table "User" <- core']],
  ['billing', 'CREATE SEQUENCE "orders_id_seq"', ['sequence "orders_id_seq" <- (undeclared)']],
  ['billing', 'COMMENT ON TABLE "User" IS \'people\'', ['table "User" <- core']],
  ['billing', 'COMMENT ON COLUMN "User"."email" IS \'mail\'', ['column "User"."email" <- core']],
  ['billing', 'CREATE VIEW "billing_totals" AS SELECT 1', ['table "billing_totals" <- (undeclared)']],
  ['billing', 'DROP VIEW "User"', ['table "User" <- core']],
  ['billing', 'CREATE EXTENSION IF NOT EXISTS "pgcrypto"', ['extension "pgcrypto" <- core']],
  ['billing', 'DROP EXTENSION "pgcrypto"', ['extension "pgcrypto" <- core']],
  ['billing', 'CREATE SCHEMA "billing"', ['schema "billing" <- core']],
  ['billing', 'GRANT SELECT ON "billing_invoices" TO PUBLIC', ['a GRANT statement <- billing (unrecognised)']],
  ['billing', 'REVOKE ALL ON "User" FROM PUBLIC', ['a GRANT statement <- billing (unrecognised)']],
  ['billing', 'CREATE FUNCTION billing_total() RETURNS integer AS $$ SELECT 1; $$ LANGUAGE sql', ['a CREATE FUNCTION statement <- billing (unrecognised)']],
  ['billing', 'DROP FUNCTION billing_total()', ['a DROP FUNCTION statement <- billing (unrecognised)']],
  ['billing', 'DO $$ BEGIN DROP TABLE "User"; END $$', ['a DO statement <- billing (unrecognised)']],
  ['billing', 'CREATE TRIGGER t BEFORE INSERT ON "User" FOR EACH ROW EXECUTE FUNCTION f()', ['a CREATE TRIG statement <- billing (unrecognised)']],
  ['billing', 'CREATE POLICY p ON "billing_invoices" USING (true)', ['a CREATE POLICY statement <- billing (unrecognised)']],
  ['billing', 'INSERT INTO "User" ("id") VALUES (1)', ['an INSERT statement <- billing (unrecognised)']],
  ['billing', 'UPDATE "User" SET "email" = \'x\'', ['an UPDATE statement <- billing (unrecognised)']],
  ['billing', 'DELETE FROM "User"', ['a DELETE statement <- billing (unrecognised)']],
  ['billing', 'TRUNCATE "User"', ['a TRUNCATE statement <- billing (unrecognised)']],
  ['billing', 'SET search_path TO other', ['a VARIABLE SET statement <- billing (unrecognised)']],
  ['billing', 'ALTER TABLE "billing_invoices" ENABLE ROW LEVEL SECURITY', ['an ALTER TABLE … ENABLE ROW SECURITY statement <- billing (unrecognised)']],
  ['billing', 'ALTER TABLE "billing_invoices" OWNER TO someone', ['an ALTER TABLE … CHANGE OWNER statement <- billing (unrecognised)']],
  ['billing', 'ALTER TABLE "billing_invoices" RENAME TO "User"', ['table "User" <- core']],
  ['billing', 'CREATE MATERIALIZED VIEW "m" AS SELECT 1', ['a CREATE TABLE AS statement <- billing (unrecognised)']],
  ['billing', 'CREATE DOMAIN billing_amount AS integer', ['a CREATE DOMAIN statement <- billing (unrecognised)']],
  ['billing', 'CREATE TABLLE "x" ()', ['the migration <- billing (unrecognised)']],
];

describe('ownership guard on PostgreSQL (read with PostgreSQL\'s parser)', () => {
  it.each(ALLOWED)('lets %s write %s', async (owner, sql) => {
    expect(await check(owner, `${sql};\n`)).toEqual([]);
  });

  it.each(REFUSED)('refuses %s writing %s', async (owner, sql, expected) => {
    expect(await check(owner, `${sql};\n`)).toEqual(expected);
  });

  it('quotes each statement on one line, without the comment before it', async () => {
    const sql = '-- AlterTable\nALTER TABLE "User"\n  ADD COLUMN "age" INTEGER;\n\n-- CreateIndex\nCREATE INDEX "User_age_idx" ON "User"("age");\n-- Grant\nGRANT ALL ON "User" TO PUBLIC;\n';
    const found = await findViolations(sql, 'billing', ownership, ownership, ownership);
    expect(found.map((v) => v.statement)).toEqual(['ALTER TABLE "User" ADD COLUMN "age" INTEGER', 'GRANT ALL ON "User" TO PUBLIC']);
  });

  it('reads semicolons inside strings and dollar quotes as part of the statement', async () => {
    const sql = 'COMMENT ON TABLE "billing_invoices" IS \'a; b\';\nDO $$ BEGIN PERFORM 1; END $$;\n';
    expect(await check('billing', sql)).toEqual(['a DO statement <- billing (unrecognised)']);
  });

  it('cuts statements right after text that is not ASCII (the parser counts bytes)', async () => {
    const sql = 'COMMENT ON TABLE "billing_invoices" IS \'Rechnungen für Kunden — äöü 🧾\';\nALTER TABLE "User" ADD COLUMN "größe" INTEGER;\n';
    const found = await findViolations(sql, 'billing', ownership, ownership, ownership);
    expect(found.map((v) => [v.statement, v.object])).toEqual([['ALTER TABLE "User" ADD COLUMN "größe" INTEGER', 'column "User"."größe"']]);
  });

  it('checks nothing in an empty script', async () => {
    expect(await check('billing', '')).toEqual([]);
  });
});

describe('ownership guard on SQLite (read from the text)', () => {
  it.each([
    ['billing', 'PRAGMA foreign_keys=OFF', []],
    ['billing', 'ALTER TABLE "User" ADD COLUMN "billing_plan" TEXT', []],
    ['billing', 'CREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices"("userId")', []],
    ['billing', 'ALTER TABLE "User" ADD COLUMN "age" INTEGER', ['column "User"."age" <- core']],
    ['billing', 'DROP TABLE "User"', ['table "User" <- core']],
    ['core', 'DROP INDEX "billing_invoices_userId_idx"', ['index "billing_invoices_userId_idx" on table "billing_invoices" <- billing']],
    ['billing', 'PRAGMA defer_foreign_keys=ON', []],
    ['billing', 'ALTER TABLE "billing_invoices" RENAME TO "billing_bills"', []],
    // Deny by default: what Prisma's engine does not write for SQLite is refused, whoever owns the table.
    ['billing', 'PRAGMA journal_mode=WAL', ['a PRAGMA journal_mode statement <- billing (unrecognised)']],
    ['billing', 'CREATE TRIGGER "billing_t" AFTER INSERT ON "billing_invoices" BEGIN DELETE FROM "User"; END', ['a CREATE TRIGGER statement <- billing (unrecognised)', 'an END statement <- billing (unrecognised)']],
    ['billing', 'CREATE VIEW "billing_v" AS SELECT * FROM "User"', ['a CREATE VIEW statement <- billing (unrecognised)']],
    ['billing', 'CREATE TEMP TABLE "billing_tmp" ("id" INTEGER)', ['a CREATE TABLE statement <- billing (unrecognised)']],
    ['billing', 'INSERT INTO "billing_invoices" ("id") VALUES (1)', ['an INSERT statement <- billing (unrecognised)']],
    ['billing', 'DELETE FROM "User"', ['a DELETE statement <- billing (unrecognised)']],
    ['billing', 'DROP VIEW "billing_v"', ['a DROP VIEW statement <- billing (unrecognised)']],
  ] as [string, string, string[]][])('%s writing %s', async (owner, sql, expected) => {
    expect(await check(owner, `${sql};\n`, 'sqlite')).toEqual(expected);
  });

  it('reads a table rebuild as a whole, and its copy alone (outside a rebuild) as unknown', async () => {
    const rebuild = [
      'PRAGMA defer_foreign_keys=ON;',
      'PRAGMA foreign_keys=OFF;',
      'CREATE TABLE "new_billing_invoices" ("id" INTEGER NOT NULL PRIMARY KEY, "userId" INTEGER NOT NULL, "total" INTEGER NOT NULL DEFAULT 0);',
      'INSERT INTO "new_billing_invoices" ("id", "userId") SELECT "id", "userId" FROM "billing_invoices";',
      'DROP TABLE "billing_invoices";',
      'ALTER TABLE "new_billing_invoices" RENAME TO "billing_invoices";',
      'CREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices"("userId");',
      'PRAGMA foreign_keys=ON;',
      'PRAGMA defer_foreign_keys=OFF;',
    ].join('\n');
    const previous = 'CREATE TABLE "billing_invoices" ("id" INTEGER NOT NULL PRIMARY KEY, "userId" INTEGER NOT NULL);\nCREATE INDEX "billing_invoices_userId_idx" ON "billing_invoices"("userId");\n';
    expect(await findViolations(`${rebuild}\n`, 'billing', ownership, ownership, ownership, previous, 'sqlite')).toEqual([]);
    expect(await check('billing', 'INSERT INTO "new_billing_invoices" ("id") SELECT "id" FROM "billing_invoices";\n', 'sqlite')).toEqual(['an INSERT statement <- billing (unrecognised)']);
  });
});

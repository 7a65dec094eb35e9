import { describe, expect, it } from 'vitest';
import { emptyOwnership } from '../../src/plan/revision.js';
import { createTransferredIfMissing, findTransfers, keepTransferred, type Transfer } from '../../src/plan/transfer.js';

const owned = (tables: [string, string][], enums: [string, string][] = []) => ({ ...emptyOwnership(), tables: new Map(tables), enumTypes: new Map(enums) });

describe('findTransfers', () => {
  it.each([
    {
      name: 'a table that core held and billing holds now',
      snapshots: [['core', owned([['audit_log', 'core'], ['User', 'core']])]] as const,
      now: owned([['audit_log', 'billing'], ['User', 'core']]),
      expected: [{ object: 'table', name: 'audit_log', from: 'core', to: 'billing' }],
    },
    {
      name: 'an enum type moving with it',
      snapshots: [['core', owned([], [['AuditLevel', 'core']])]] as const,
      now: owned([], [['AuditLevel', 'billing']]),
      expected: [{ object: 'enum', name: 'AuditLevel', from: 'core', to: 'billing' }],
    },
    { name: 'a table dropped, not moved', snapshots: [['core', owned([['audit_log', 'core']])]] as const, now: owned([]), expected: [] },
    {
      name: 'another owner’s table seen in a snapshot’s world is not that owner’s to give',
      snapshots: [['billing', owned([['User', 'core'], ['billing_invoices', 'billing']])]] as const,
      now: owned([['User', 'crm'], ['billing_invoices', 'billing']]),
      expected: [],
    },
  ])('$name', ({ snapshots, now, expected }) => {
    expect(findTransfers(new Map(snapshots), now)).toEqual(expected);
  });
});

const MOVE: Transfer[] = [
  { object: 'table', name: 'audit_log', from: 'core', to: 'billing' },
  { object: 'enum', name: 'AuditLevel', from: 'core', to: 'billing' },
];

// What Prisma's engine writes when core loses the model (up) and when billing gains it.
const DROP = `-- DropForeignKey
ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_orgId_fkey";

-- DropTable
DROP TABLE "audit_log";

-- DropEnum
DROP TYPE "AuditLevel";

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "nickname" TEXT;
`;

const CREATE = `-- CreateEnum
CREATE TYPE "AuditLevel" AS ENUM ('INFO', 'WARN');

-- CreateTable
CREATE TABLE "audit_log" (
    "id" SERIAL NOT NULL,
    "level" "AuditLevel" NOT NULL DEFAULT 'INFO',
    "orgId" INTEGER NOT NULL,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_invoices" (
    "id" SERIAL NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_log_orgId_key" ON "audit_log"("orgId");

-- AddForeignKey
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
`;

describe('keepTransferred', () => {
  it('drops the statements that would remove a moved object, and keeps the rest', () => {
    expect(keepTransferred(DROP, MOVE)).toBe(
      '-- orchestrate: table "audit_log" moves from core to billing: it is not dropped here; billing\'s migration takes it over.\n' +
        '-- orchestrate: enum type "AuditLevel" moves from core to billing: it is not dropped here; billing\'s migration takes it over.\n' +
        '-- AlterTable\nALTER TABLE "User" ADD COLUMN     "nickname" TEXT;\n',
    );
  });
});

describe('createTransferredIfMissing', () => {
  it('creates moved objects only where they do not exist, and other objects as before (PostgreSQL)', () => {
    const sql = createTransferredIfMissing(CREATE, MOVE, 'postgresql', 'receive');
    expect(sql).toContain(`DO $orchestrate$\nBEGIN\n  IF to_regtype('"AuditLevel"') IS NULL THEN\n    CREATE TYPE "AuditLevel" AS ENUM ('INFO', 'WARN');\n  END IF;\nEND\n$orchestrate$;`);
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "audit_log" (');
    expect(sql).toContain('CREATE TABLE "billing_invoices" (');
    expect(sql).toContain('CREATE UNIQUE INDEX IF NOT EXISTS "audit_log_orgId_key" ON "audit_log"("orgId");');
    expect(sql).toContain(
      `  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_log_orgId_fkey' AND conrelid = '"audit_log"'::regclass) THEN\n    ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_orgId_fkey" FOREIGN KEY`,
    );
    expect(sql.startsWith('-- orchestrate: table "audit_log" moves from core to billing: core\'s migrations created it, so it is created here only where it does not exist yet.\n')).toBe(true);
  });

  it('on SQLite, where constraints live in CREATE TABLE, IF NOT EXISTS is enough', () => {
    const sqlite = `-- CreateTable\nCREATE TABLE "audit_log" (\n    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT\n);\n\n-- CreateIndex\nCREATE INDEX "audit_log_id_idx" ON "audit_log"("id");\n`;
    const sql = createTransferredIfMissing(sqlite, MOVE.slice(0, 1), 'sqlite', 'receive');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "audit_log" (');
    expect(sql).toContain('CREATE INDEX IF NOT EXISTS "audit_log_id_idx" ON "audit_log"("id");');
    expect(sql).not.toContain('DO $');
  });
});

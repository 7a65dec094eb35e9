import { describe, expect, it } from 'vitest';
import { restoreEnumOrder } from '../../src/plan/enum-order.js';

// What Prisma's engine writes as the down migration of removing SENT and VOID from Status.
const ENGINE_DOWN = `-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "Status" ADD VALUE 'SENT';
ALTER TYPE "Status" ADD VALUE 'VOID';
`;

const orders = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

describe('restoreEnumOrder', () => {
  it('puts re-added values back where they were, before the next value or after the previous one', () => {
    const out = restoreEnumOrder(ENGINE_DOWN, orders({ Status: ['DRAFT', 'SENT', 'paid', 'VOID'] }), orders({ Status: ['DRAFT', 'paid'] }));
    expect(out).toBe(ENGINE_DOWN.replace(`'SENT';`, `'SENT' BEFORE 'paid';`).replace(`'VOID';`, `'VOID' AFTER 'paid';`));
  });

  it('uses values added earlier in the same script as anchors, and quotes', () => {
    const sql = `ALTER TYPE "public"."Mood" ADD VALUE 'it''s';\nALTER TYPE "public"."Mood" ADD VALUE 'b';\n`;
    const out = restoreEnumOrder(sql, orders({ Mood: ['a', "it's", 'b', 'c'] }), orders({ Mood: ['a', 'c'] }));
    expect(out).toBe(`ALTER TYPE "public"."Mood" ADD VALUE 'it''s' BEFORE 'c';\nALTER TYPE "public"."Mood" ADD VALUE 'b' BEFORE 'c';\n`);
  });

  it('a value removed from the start goes before the first remaining one', () => {
    expect(restoreEnumOrder(`ALTER TYPE "S" ADD VALUE 'A';`, orders({ S: ['A', 'B'] }), orders({ S: ['B'] }))).toBe(`ALTER TYPE "S" ADD VALUE 'A' BEFORE 'B';`);
  });

  it('leaves alone what it cannot place: a value at its place already, unknown types, positioned statements, other SQL', () => {
    const sql = `ALTER TYPE "Other" ADD VALUE 'x';\nALTER TYPE "S" ADD VALUE 'C' AFTER 'B';\nSELECT 'ALTER TYPE "S" ADD VALUE ''Z''';\n`;
    expect(restoreEnumOrder(sql, orders({ S: ['A', 'B', 'C'] }), orders({ S: ['A', 'B'] }))).toBe(sql);
    expect(restoreEnumOrder(`ALTER TYPE "S" ADD VALUE 'A';`, orders({ S: ['A'] }), orders({ S: [] }))).toBe(`ALTER TYPE "S" ADD VALUE 'A';`);
  });
});

/**
 * Exact rollbacks for enums. When a revision removes values from an enum, Prisma's engine writes
 * the down migration as `ALTER TYPE "T" ADD VALUE 'x';`, which PostgreSQL appends at the end:
 * after a rollback the enum's order (and so `ORDER BY` on it and `enum_range`) would differ.
 * These functions put each re-added value back at its place with `BEFORE` / `AFTER`.
 */
import { codeOf, splitStatements } from '../db/split.js';
import { parseCached, type Composed } from '../schema/compose.js';

/** Enum type (database name) → its values as labelled in the database, in order. */
export type EnumOrders = Map<string, string[]>;

// `ALTER TYPE "T" ADD VALUE 'x'`, optionally schema-qualified and IF NOT EXISTS, no position yet.
const ADD_VALUE = /^ALTER\s+TYPE\s+((?:"(?:[^"]|"")+"\s*\.\s*)?"((?:[^"]|"")+)")\s+ADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?'((?:[^']|'')*)'\s*(;?)\s*$/i;

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * Rewrites each `ALTER TYPE "T" ADD VALUE 'x'` of `downSql` into `... ADD VALUE 'x' BEFORE 'y'`
 * (or `AFTER 'z'`) so that, once the script has run, T's values are in the order `before` gives.
 * `after` is the order the script starts from (the schema after the change); statements that
 * already name a position, and types `before` does not know, are left as they are.
 *
 * @example
 *   restoreEnumOrder(`ALTER TYPE "Status" ADD VALUE 'SENT';`, new Map([['Status', ['DRAFT', 'SENT', 'PAID']]]), new Map([['Status', ['DRAFT', 'PAID']]]));
 *   // `ALTER TYPE "Status" ADD VALUE 'SENT' BEFORE 'PAID';`
 */
export function restoreEnumOrder(downSql: string, before: EnumOrders, after: EnumOrders): string {
  if (!/ADD\s+VALUE/i.test(downSql)) return downSql;
  const present = new Map<string, Set<string>>();
  const edits: { at: number; text: string }[] = [];
  for (const statement of splitStatements(downSql)) {
    const code = codeOf(statement);
    const match = ADD_VALUE.exec(code.text);
    if (!match) continue;
    const type = match[2]!.replace(/""/g, '"');
    const value = match[3]!.replace(/''/g, "'");
    const order = before.get(type);
    if (!order || !order.includes(value)) continue;
    let current = present.get(type);
    if (!current) {
      current = new Set(after.get(type) ?? order.filter((v) => v !== value));
      present.set(type, current);
    }
    const index = order.indexOf(value);
    const next = order.slice(index + 1).find((v) => current.has(v));
    const previous = order.slice(0, index).reverse().find((v) => current.has(v));
    current.add(value);
    const position = next !== undefined ? ` BEFORE ${literal(next)}` : previous !== undefined ? ` AFTER ${literal(previous)}` : '';
    if (!position) continue;
    // Insert before the statement's `;` (or at its end), keeping everything else byte for byte.
    const end = statement.start + (statement.text.length - (statement.text.endsWith(';') ? 1 : 0));
    let at = end;
    while (at > statement.start && /\s/.test(downSql[at - 1]!)) at--;
    edits.push({ at, text: position });
  }
  let out = downSql;
  for (const edit of edits.reverse()) out = out.slice(0, edit.at) + edit.text + out.slice(edit.at);
  return out;
}

/** The enums of a composed schema (null: no schema yet) with their values in order. */
export function enumOrders(composed: Composed | null): EnumOrders {
  const orders: EnumOrders = new Map();
  for (const file of composed?.files ?? []) {
    for (const block of parseCached({ owner: '', path: file.path, text: file.content }).blocks) {
      if (block.kind === 'enum' && block.values) orders.set(block.dbName, block.values);
    }
  }
  return orders;
}

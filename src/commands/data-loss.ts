/**
 * What a downgrade destroys: the tables and columns its down.sql scripts drop, with the rows
 * they hold now. On a terminal the user confirms; elsewhere `--yes` is needed when rows would be
 * lost, so that a script never drops data by accident.
 */
import type { Plan } from '../apply/plan.js';
import type { Driver } from '../db/driver.js';
import { codeOf, splitStatements } from '../db/split.js';
import { UsageError, databaseErrorFields } from '../errors.js';
import type { Context } from './context.js';

export interface Drop {
  owner: string;
  migration: string;
  table: string;
  /** null: the whole table. */
  column: string | null;
  /** Rows of the table (non-null values of the column); null when it could not be counted. */
  rows: number | null;
}

/** `"schema"."name"`, `name` or `"name"`: the last part, unquoted. */
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
const DROP_TABLE = new RegExp(String.raw`^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)`, 'i');
const ALTER_TABLE = new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${QUALIFIED})\s+([\s\S]*)$`, 'i');
const DROP_COLUMN = new RegExp(String.raw`(?:^|,)\s*DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(${IDENT})`, 'gi');

function unquote(name: string): string {
  const last = name.trim().match(new RegExp(`${IDENT}$`))![0];
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase();
}

/** The tables and columns one script drops. */
export function droppedObjects(sql: string): { table: string; column: string | null }[] {
  const found: { table: string; column: string | null }[] = [];
  for (const statement of splitStatements(sql)) {
    const text = codeOf(statement).text.trim();
    const table = DROP_TABLE.exec(text);
    if (table) {
      for (const name of table[1]!.split(/\s*,\s*/)) found.push({ table: unquote(name), column: null });
      continue;
    }
    const alter = ALTER_TABLE.exec(text);
    if (!alter) continue;
    for (const m of alter[2]!.matchAll(DROP_COLUMN)) {
      // `DROP CONSTRAINT x` is not a column.
      if (/^constraint$/i.test(m[1]!)) continue;
      found.push({ table: unquote(alter[1]!), column: unquote(m[1]!) });
    }
  }
  return found;
}

/** Every table and column the plan's down.sql scripts drop, with their rows now. */
export async function dataLoss(db: Driver, plan: Plan): Promise<Drop[]> {
  const drops: Drop[] = [];
  const q = db.dialect.quoteIdentifier;
  for (const step of plan.steps) {
    if (step.kind !== 'revert') continue;
    for (const { table, column } of droppedObjects(step.sql)) {
      let rows: number | null = null;
      try {
        const [row] = await db.query<{ n: number | string }>(`SELECT count(${column === null ? '*' : q(column)}) AS n FROM ${q(table)}`);
        rows = Number(row?.n ?? 0);
      } catch (error) {
        // Not there (undefined table or column): nothing to lose, and the script will say so.
        if (['42P01', '42703'].includes(databaseErrorFields(error).code ?? '')) continue;
      }
      drops.push({ owner: step.owner, migration: step.migration, table, column, rows });
    }
  }
  return drops;
}

const what = (d: Drop) => (d.column === null ? `table ${d.table}` : `column ${d.table}.${d.column}`);
const rowsText = (d: Drop) => (d.rows === null ? 'rows unknown' : `${d.rows} row${d.rows === 1 ? '' : 's'}`);

/**
 * Lists what will be dropped and, when rows would be lost, asks on a terminal (`ctx.confirm`) or
 * refuses without `--yes`.
 */
export async function confirmDataLoss(ctx: Context, drops: Drop[], yes: boolean): Promise<void> {
  if (drops.length === 0) return;
  ctx.reporter.info(`This downgrade drops:`);
  for (const d of drops) ctx.reporter.info(`  ${what(d)} (${rowsText(d)}), by ${d.owner}/${d.migration}`);
  const losing = drops.filter((d) => d.rows !== 0);
  if (losing.length === 0 || yes) return;
  const list = losing.map((d) => `${what(d)} (${rowsText(d)})`).join(', ');
  if (!ctx.confirm) {
    throw new UsageError(`Refusing to drop data without confirmation, nothing was rolled back: ${list}; back it up if you need it, then run the same command with --yes.`);
  }
  if (!(await ctx.confirm(`Drop ${list}? This cannot be undone. [y/N] `))) {
    throw new UsageError('Downgrade cancelled, nothing was rolled back.');
  }
}

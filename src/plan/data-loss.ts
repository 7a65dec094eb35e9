/**
 * Statements of a generated migration that lose data, worded as Prisma's `migrate dev` words
 * them when it cannot count rows (a diff of two schemas has no database to count in).
 */
import { codeOf, splitStatements } from '../db/split.js';

export interface DataLoss {
  /** What the statement does to data. */
  kind: 'drop-table' | 'drop-column' | 'recreate-column' | 'drop-type' | 'alter-type' | 'set-not-null';
  table?: string;
  column?: string;
  /** The enum type, for `drop-type`. */
  type?: string;
  /** The statement, as generated (first line of it). */
  statement: string;
  message: string;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
const DROP_TABLE = new RegExp(String.raw`^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${QUALIFIED})`, 'i');
const DROP_TYPE = new RegExp(String.raw`^DROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?(${QUALIFIED})`, 'i');
const ALTER_TABLE = new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${QUALIFIED})\s+([\s\S]*)$`, 'i');
const RENAME_TO = new RegExp(String.raw`^ALTER\s+TABLE\s+(${QUALIFIED})\s+RENAME\s+TO\s+(${IDENT})`, 'i');
const DROP_COLUMN = new RegExp(String.raw`^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(${IDENT})`, 'i');
const ADD_COLUMN = new RegExp(String.raw`^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT})`, 'i');
const ALTER_TYPE = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?(${IDENT})\s+(?:SET\s+DATA\s+)?TYPE\s+(.+?)(?:\s+USING\b[\s\S]*)?$`, 'i');
const SET_NOT_NULL = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?(${IDENT})\s+SET\s+NOT\s+NULL$`, 'i');

function unquote(name: string): string {
  const last = name.trim().match(new RegExp(`${IDENT}$`))![0];
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last;
}

/** The comma-separated actions of one ALTER TABLE (commas inside parentheses or quotes do not split). */
function actions(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === quoted) quoted = null;
    } else if (c === '"' || c === "'") quoted = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/**
 * The column types of the tables as a side's CREATE TABLE script declares them (`"table"` →
 * `"column"` → type), to say what a changed column is cast from.
 */
export function columnTypes(createScript: string): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  for (const statement of splitStatements(createScript)) {
    const text = codeOf(statement).text.trim().replace(/\s*;$/, '');
    const m = new RegExp(String.raw`^CREATE\s+TABLE\s+(${QUALIFIED})\s*\(([\s\S]*)\)$`, 'i').exec(text);
    if (!m) continue;
    const columns = new Map<string, string>();
    for (const part of actions(m[2]!)) {
      const col = new RegExp(String.raw`^(${IDENT})\s+(.+?)(?:\s+(?:NOT\s+NULL|NULL|DEFAULT|PRIMARY|UNIQUE|REFERENCES|CHECK|COLLATE|GENERATED)\b[\s\S]*)?$`, 'i').exec(part);
      if (col && !/^(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)$/i.test(col[1]!)) columns.set(unquote(col[1]!), col[2]!.trim());
    }
    tables.set(unquote(m[1]!), columns);
  }
  return tables;
}

/**
 * Every statement of `sql` that loses data, or fails when there is data in the way.
 * `before` is the column types of the side the script starts from (see `columnTypes`).
 *
 * @example
 *   dataLoss('ALTER TABLE "User" DROP COLUMN "bio";').map((w) => w.message);
 *   // ['You are about to drop the column `bio` on the `User` table. All the data in the column will be lost.']
 */
export function dataLoss(sql: string, before: Map<string, Map<string, string>> = new Map()): DataLoss[] {
  const statements = splitStatements(sql).map((s) => codeOf(s).text.trim().replace(/\s*;$/, ''));
  // SQLite's table redefinition creates "new_T", copies the rows, drops T and renames: no loss there.
  const redefined = new Set<string>();
  for (const text of statements) {
    const m = RENAME_TO.exec(text);
    if (m && unquote(m[1]!) === `new_${unquote(m[2]!)}`) redefined.add(unquote(m[2]!));
  }
  const found: DataLoss[] = [];
  for (const text of statements) {
    const statement = text.split('\n')[0]!;
    const dropTable = DROP_TABLE.exec(text);
    if (dropTable) {
      const table = unquote(dropTable[1]!);
      if (redefined.has(table)) continue;
      found.push({ kind: 'drop-table', table, statement, message: `You are about to drop the \`${table}\` table. If the table is not empty, all the data it contains will be lost.` });
      continue;
    }
    const dropType = DROP_TYPE.exec(text);
    if (dropType) {
      const type = unquote(dropType[1]!);
      // Prisma recreates an enum to remove values: the renamed old type is dropped, after its columns moved to the new one.
      if (/_old$/.test(type)) continue;
      found.push({ kind: 'drop-type', type, statement, message: `You are about to drop the enum \`${type}\`. If you are still using this enum, this will fail.` });
      continue;
    }
    const alter = ALTER_TABLE.exec(text);
    if (!alter) continue;
    const table = unquote(alter[1]!);
    const parts = actions(alter[2]!);
    const added = new Set(parts.map((p) => ADD_COLUMN.exec(p)).filter((m) => m && !/^CONSTRAINT$/i.test(m[1]!)).map((m) => unquote(m![1]!)));
    for (const part of parts) {
      const drop = DROP_COLUMN.exec(part);
      if (drop && !/^(CONSTRAINT|DEFAULT|NOT)$/i.test(drop[1]!)) {
        const column = unquote(drop[1]!);
        found.push(
          added.has(column)
            ? { kind: 'recreate-column', table, column, statement, message: `The \`${column}\` column on the \`${table}\` table would be dropped and recreated. This will lead to data loss.` }
            : { kind: 'drop-column', table, column, statement, message: `You are about to drop the column \`${column}\` on the \`${table}\` table. All the data in the column will be lost.` },
        );
        continue;
      }
      const notNull = SET_NOT_NULL.exec(part);
      if (notNull) {
        const column = unquote(notNull[1]!);
        found.push({ kind: 'set-not-null', table, column, statement, message: `Made the column \`${column}\` on table \`${table}\` required. This step will fail if there are existing NULL values in that column.` });
        continue;
      }
      const type = ALTER_TYPE.exec(part);
      if (type) {
        const column = unquote(type[1]!);
        const from = before.get(table)?.get(column);
        found.push({
          kind: 'alter-type',
          table,
          column,
          statement,
          message: `You are about to alter the column \`${column}\` on the \`${table}\` table. The data in that column could be lost. The data in that column will be cast from \`${from ?? 'its current type'}\` to \`${type[2]!.trim()}\`.`,
        });
      }
    }
  }
  return found;
}

import { codeOf, splitStatements } from '../db/split.js';
import type { Ownership } from '../schema/compose.js';
import { findRedefinitions, previousDefinition, redefinitionProblems } from './redefine.js';

/** One object a generated statement touches that its owner does not own. */
export interface Violation {
  statement: string;
  object: string;
  owner: string;
  /** Set when the object is the owner's own but dropping it would destroy another owner's columns. */
  dropsExtensionOf?: string;
  /** Set when the owner's own enum would be recreated while other owners' columns use it. */
  recreatesEnumOf?: string[];
}

const ID = String.raw`(?:"[^"]+"\.)?"([^"]+)"`;
const re = (s: string) => new RegExp(s.replaceAll('ID', ID), 'i');
const CREATE_TABLE = re(String.raw`^CREATE\s+TABLE\s+ID`);
const DROP_TABLE = re(String.raw`^DROP\s+TABLE\s+ID`);
const ALTER_TABLE = re(String.raw`^ALTER\s+TABLE\s+ID\s+([\s\S]*)$`);
const CREATE_INDEX = re(String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?ID\s+ON\s+ID`);
const DROP_INDEX = re(String.raw`^DROP\s+INDEX\s+ID`);
const ALTER_INDEX = re(String.raw`^ALTER\s+INDEX\s+ID`);
const TYPE_STMT = re(String.raw`^(?:CREATE|ALTER|DROP)\s+TYPE\s+ID`);

/** Splits `ADD COLUMN "a" ..., DROP COLUMN "b"` at top-level commas. */
function actions(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"' || c === "'") {
      const end = body.indexOf(c, i + 1);
      const stop = end === -1 ? body.length : end;
      cur += body.slice(i, stop + 1);
      i = stop;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

const quoted = (s: string) => [...s.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
/**
 * Tables no model declares: Prisma's implicit many-to-many tables (`_AToB`) belong to whoever
 * declares the relation, which is the owner being diffed (everything else is held constant);
 * any other unknown table is reported.
 */
const implicit = (table: string) => (table.startsWith('_') ? undefined : '(undeclared)');
const baseEnum = (name: string) => name.replace(/_(new|old)$/, '');
const codes = (sql: string) => splitStatements(sql).map((s) => codeOf(s).text.replace(/;$/, ''));
const oneLineOf = (s: string) => s.replace(/\s+/g, ' ');

/**
 * Checks that every object a generated migration creates, alters or drops belongs to `owner`:
 * tables and enums it declares, columns and indexes it adds with `extend model`.
 * `before` and `after` are the ownership maps of the two sides of the diff (a dropped object
 * is only known on the `before` side); `everyone` is the ownership of the whole enabled schema,
 * so that no owner drops a table carrying others' columns or recreates an enum others use.
 */
export function findViolations(sql: string, owner: string, before: Ownership, after: Ownership, everyone?: Ownership, previous?: string): Violation[] {
  const extendedBy = everyone?.extenders ?? new Map<string, string[]>();
  const ownerOf = (kind: keyof Ownership, key: string): string | undefined =>
    (after[kind] as Map<string, unknown>).get(key) as string | undefined ?? (before[kind] as Map<string, unknown>).get(key) as string | undefined;
  const contributes = (table: string) =>
    ownerOf('tables', table) === owner || after.extended.get(owner)?.has(table) || before.extended.get(owner)?.has(table);
  const violations: Violation[] = [];
  const flag = (statement: string, object: string, actual: string | undefined) => {
    if (actual !== undefined && actual !== owner) violations.push({ statement, object, owner: actual });
  };

  // The same psql-like splitter the runner uses; the regexes below read each statement's code
  // without its leading `-- CreateTable` style comment.
  const statements = codes(sql);
  // SQLite table rebuilds: checked as a whole (see redefine.ts), their statements skipped below.
  const skip = new Set<number>();
  const redefinitions = findRedefinitions(statements);
  const previousStatements = previous === undefined || redefinitions.length === 0 ? [] : codes(previous);
  for (const block of redefinitions) {
    for (const i of block.statements) skip.add(i);
    const t = block.table;
    const tableOwner = ownerOf('tables', t) ?? implicit(t) ?? owner;
    const isOwn = (column: string) => (ownerOf('columns', `${t}.${column}`) ?? tableOwner) === owner;
    const seen = previous === undefined ? null : previousDefinition(previousStatements, t);
    for (const p of redefinitionProblems(block, seen, isOwn)) {
      const column = /^column "[^"]*"\."([^"]*)"$/.exec(p.object)?.[1];
      violations.push({ statement: p.statement, object: p.object, owner: (column && ownerOf('columns', `${t}.${column}`)) || (tableOwner === owner ? '(another owner)' : tableOwner) });
    }
    // Columns added by owners this diff cannot see (not core, not a dependency) are not in the
    // rebuilt table: the rebuild would drop them.
    const visible = (o: string) => [...after.columns, ...before.columns].some(([key, who]) => who === o && key.startsWith(`${t}.`));
    for (const other of everyone?.columnExtenders?.get(t) ?? []) {
      if (other !== owner && !visible(other)) violations.push({ statement: oneLineOf(block.create), object: `table "${t}"`, owner: other, dropsExtensionOf: other });
    }
  }
  for (const [index, statement] of statements.entries()) {
    if (skip.has(index)) continue;
    const oneLine = statement.replace(/\s+/g, ' ');
    let m: RegExpExecArray | null;
    if ((m = CREATE_TABLE.exec(statement)) || (m = DROP_TABLE.exec(statement))) {
      flag(oneLine, `table "${m[1]}"`, ownerOf('tables', m[1]!) ?? implicit(m[1]!));
      // Dropping (or, through @@map, recreating) a table would take other owners' columns with it.
      if (DROP_TABLE.test(statement)) {
        const model = before.modelOfTable.get(m[1]!) ?? after.modelOfTable.get(m[1]!);
        for (const other of (model && extendedBy.get(model)) || []) {
          if (other !== owner) violations.push({ statement: oneLine, object: `table "${m[1]}"`, owner: other, dropsExtensionOf: other });
        }
      }
    } else if ((m = ALTER_TABLE.exec(statement))) {
      const table = m[1]!;
      const tableOwner = ownerOf('tables', table);
      if (tableOwner === undefined && implicit(table) === undefined) continue;
      for (const action of actions(m[2]!)) {
        const col = /^(?:ADD|DROP|ALTER)\s+COLUMN\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"([^"]+)"/i.exec(action) ?? /^RENAME\s+COLUMN\s+"([^"]+)"/i.exec(action);
        if (col) {
          flag(oneLine, `column "${table}"."${col[1]}"`, ownerOf('columns', `${table}.${col[1]}`) ?? tableOwner);
          continue;
        }
        const fk = /^ADD\s+CONSTRAINT\s+"[^"]+"\s+FOREIGN\s+KEY\s*\(([^)]*)\)/i.exec(action);
        if (fk) {
          for (const c of quoted(fk[1]!)) flag(oneLine, `column "${table}"."${c}"`, ownerOf('columns', `${table}.${c}`) ?? tableOwner);
          continue;
        }
        const con = /^(?:ADD|DROP|RENAME)\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?"([^"]+)"/i.exec(action);
        if (con) {
          if (tableOwner === owner) continue;
          // A constraint on another owner's table is ours when it is named after one of our columns.
          const name = con[1]!;
          const ours = [...after.columns, ...before.columns].some(([key, o]) => o === owner && key.startsWith(`${table}.`) && name.startsWith(`${table}_${key.slice(table.length + 1)}`));
          if (!ours) flag(oneLine, `constraint "${name}" on table "${table}"`, tableOwner ?? '(unknown)');
          continue;
        }
        flag(oneLine, `table "${table}"`, tableOwner);
      }
    } else if ((m = CREATE_INDEX.exec(statement))) {
      if (!contributes(m[2]!)) flag(oneLine, `index "${m[1]}" on table "${m[2]}"`, ownerOf('tables', m[2]!) ?? implicit(m[2]!));
    } else if ((m = DROP_INDEX.exec(statement)) || (m = ALTER_INDEX.exec(statement))) {
      const name = m[1]!;
      const tables = new Set([...after.tables.keys(), ...before.tables.keys()]);
      const table = [...tables].filter((t) => name.startsWith(`${t}_`)).sort((a, b) => b.length - a.length)[0];
      if (table && !contributes(table)) flag(oneLine, `index "${name}" on table "${table}"`, ownerOf('tables', table));
    } else if ((m = TYPE_STMT.exec(statement))) {
      flag(oneLine, `enum "${baseEnum(m[1]!)}"`, ownerOf('enumTypes', baseEnum(m[1]!)) ?? ownerOf('enumTypes', m[1]!));
      // Removing enum values recreates the type (CREATE "x_new", DROP "x_old"); other owners'
      // columns of that type are not in this owner's diff and would block the DROP.
      const users = (everyone?.enumUsers.get(baseEnum(m[1]!)) ?? []).filter((o) => o !== owner);
      if (users.length > 0 && /^(?:CREATE|DROP)\s+TYPE/i.test(statement) && /_(?:new|old)"/.test(statement.split('\n')[0]!)) {
        violations.push({ statement: oneLine, object: `enum "${baseEnum(m[1]!)}"`, owner: users[0]!, recreatesEnumOf: users });
      }
    }
  }
  return violations;
}

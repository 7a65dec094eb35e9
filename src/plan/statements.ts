/**
 * What each statement of a generated migration touches, read for the ownership guard.
 *
 * PostgreSQL scripts are read with PostgreSQL's own parser (libpg-query, WebAssembly, loaded
 * only when there is SQL to read): every statement kind Prisma's schema engine emits is mapped
 * to the tables, columns, constraints, indexes and enums it touches, and any other kind is
 * reported as unknown so that the guard refuses it. SQLite scripts (PRAGMAs, table rebuilds)
 * are read from their text, as the engine writes them.
 */
import { codeOf, splitStatements } from '../db/split.js';
import { oneLine, topLevelItems, unquote } from './redefine.js';

/** One object a statement creates, changes or drops. */
export type Touch =
  | { kind: 'table'; table: string; drop?: boolean }
  /** Also each local column of a foreign key: whoever owns them owns the key. */
  | { kind: 'column'; table: string; column: string }
  | { kind: 'constraint'; table: string; name: string }
  /** `table` is known for CREATE INDEX; otherwise only the name says which table. */
  | { kind: 'index'; name: string; table?: string }
  | { kind: 'enum'; name: string; recreates?: boolean }
  /** Sequences are named `<table>_<column>_seq` by PostgreSQL and Prisma. */
  | { kind: 'sequence'; name: string }
  /** Database extensions and schemas: declared only by core's datasource block. */
  | { kind: 'datasource'; object: string }
  /** A statement kind the guard does not understand, e.g. `GRANT` or `CREATE FUNCTION`. */
  | { kind: 'unknown'; what: string };

/** One statement of a script: its code on one line (no comments) and what it touches. */
export interface ReadStatement {
  text: string;
  touches: Touch[];
}

type Node = Record<string, unknown>;
const obj = (v: unknown): Node => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {});
const list = (v: unknown): Node[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** The strings of a name list (`[{String: {sval}}]`), e.g. `schema.type`. */
const names = (v: unknown): string[] => list(v).map((n) => str(obj(n.String).sval) ?? '');
const last = (v: unknown): string => names(v).at(-1) ?? '';
const relname = (v: unknown): string => str(obj(v).relname) ?? '';

type Parser = typeof import('libpg-query');
let parser: Promise<Parser> | undefined;

/** Loads PostgreSQL's parser once per process, on the first script there is to read. */
function loadParser(): Promise<Parser> {
  parser ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    return m;
  });
  return parser;
}

/** Leading whitespace and comments of a statement as the parser cuts it (it starts after the previous `;`). */
const LEADING = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/** Thrown when PostgreSQL's parser rejects a script; the message is the parser's. */
export class UnreadableSql extends Error {}

/**
 * Splits and reads a PostgreSQL script with PostgreSQL's parser.
 *
 * @example
 *   await readPostgres('ALTER TABLE "User" ADD COLUMN "age" INTEGER;');
 *   // [{ text: 'ALTER TABLE "User" ADD COLUMN "age" INTEGER', touches: [{ kind: 'column', table: 'User', column: 'age' }] }]
 */
export async function readPostgres(sql: string): Promise<ReadStatement[]> {
  const { parseSync } = await loadParser();
  let tree: Node;
  try {
    tree = obj(parseSync(sql));
  } catch (error) {
    throw new UnreadableSql(error instanceof Error ? error.message : String(error), { cause: error });
  }
  // Locations are byte offsets into the UTF-8 text.
  const bytes = new TextEncoder().encode(sql);
  const decoder = new TextDecoder();
  return list(tree.stmts).map((raw) => {
    const start = Number(raw.stmt_location ?? 0);
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : start + Number(raw.stmt_len);
    const text = oneLine(decoder.decode(bytes.subarray(start, end)).replace(LEADING, ''));
    return { text, touches: touchesOf(obj(raw.stmt)) };
  });
}

/** A parse node's kind in SQL's words: `CreateFunction` → `CREATE FUNCTION`. */
const words = (camel: string) => camel.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

/** The kind of a parse node, e.g. `CreateStmt`, and its fields. */
function kindOf(node: Node): [string, Node] {
  const key = Object.keys(node)[0] ?? '';
  return [key, obj(node[key])];
}

const COLUMN_ACTIONS = new Set([
  'AT_AddColumn',
  'AT_DropColumn',
  'AT_AlterColumnType',
  'AT_ColumnDefault',
  'AT_DropNotNull',
  'AT_SetNotNull',
  'AT_AddIdentity',
  'AT_SetIdentity',
  'AT_DropIdentity',
  'AT_SetStatistics',
  'AT_SetStorage',
  'AT_SetCompression',
  'AT_DropExpression',
]);

function touchesOf(stmt: Node): Touch[] {
  const [kind, n] = kindOf(stmt);
  switch (kind) {
    case 'TransactionStmt':
      // BEGIN/COMMIT around an enum's recreation: touches nothing.
      return [];
    case 'CreateStmt':
      return [{ kind: 'table', table: relname(n.relation) }];
    case 'AlterTableStmt':
      return alterTable(n);
    case 'IndexStmt':
      return [{ kind: 'index', name: str(n.idxname) ?? '', table: relname(n.relation) }];
    case 'CreateEnumStmt':
      return [enumTouch(last(n.typeName), 'create')];
    case 'AlterEnumStmt':
      return [enumTouch(last(n.typeName), 'alter')];
    case 'CreateSeqStmt':
    case 'AlterSeqStmt':
      return [{ kind: 'sequence', name: relname(n.sequence) }];
    case 'CreateExtensionStmt':
    case 'AlterExtensionStmt':
      return [{ kind: 'datasource', object: `extension "${str(n.extname) ?? ''}"` }];
    case 'CreateSchemaStmt':
      return [{ kind: 'datasource', object: `schema "${str(n.schemaname) ?? ''}"` }];
    case 'ViewStmt':
      return [{ kind: 'table', table: relname(n.view) }];
    case 'DropStmt':
      return dropTouches(n);
    case 'RenameStmt':
      return renameTouches(n);
    case 'CommentStmt':
      return commentTouches(n);
    default:
      return [{ kind: 'unknown', what: words(kind.replace(/Stmt$/, '')) }];
  }
}

function enumTouch(name: string, action: 'create' | 'drop' | 'alter'): Touch {
  // Removing enum values recreates the type: CREATE "x_new", ALTER "x" RENAME TO "x_old", DROP "x_old".
  const recreates = (action === 'create' && name.endsWith('_new')) || (action === 'drop' && name.endsWith('_old'));
  return recreates ? { kind: 'enum', name, recreates } : { kind: 'enum', name };
}

function alterTable(n: Node): Touch[] {
  const table = relname(n.relation);
  if (n.objtype !== 'OBJECT_TABLE') return [{ kind: 'unknown', what: `ALTER ${String(n.objtype ?? '').replace(/^OBJECT_/, '')}` }];
  const touches: Touch[] = [];
  for (const item of list(n.cmds)) {
    const cmd = obj(item.AlterTableCmd);
    const subtype = str(cmd.subtype) ?? '';
    if (COLUMN_ACTIONS.has(subtype)) {
      const column = subtype === 'AT_AddColumn' ? str(obj(obj(cmd.def).ColumnDef).colname) : str(cmd.name);
      touches.push({ kind: 'column', table, column: column ?? '' });
    } else if (subtype === 'AT_AddConstraint') {
      const c = obj(obj(cmd.def).Constraint);
      if (c.contype === 'CONSTR_FOREIGN') touches.push(...names(c.fk_attrs).map((column): Touch => ({ kind: 'column', table, column })));
      else touches.push({ kind: 'constraint', table, name: str(c.conname) ?? '' });
    } else if (subtype === 'AT_DropConstraint' || subtype === 'AT_ValidateConstraint') {
      touches.push({ kind: 'constraint', table, name: str(cmd.name) ?? '' });
    } else {
      touches.push({ kind: 'unknown', what: `ALTER TABLE … ${words(subtype.replace(/^AT_/, ''))}` });
    }
  }
  return touches;
}

function dropTouches(n: Node): Touch[] {
  const objects = list(n.objects);
  switch (n.removeType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_VIEW':
      return objects.map((o) => ({ kind: 'table', table: last(obj(o.List).items), drop: n.removeType === 'OBJECT_TABLE' }));
    case 'OBJECT_INDEX':
      return objects.map((o) => ({ kind: 'index', name: last(obj(o.List).items) }));
    case 'OBJECT_SEQUENCE':
      return objects.map((o) => ({ kind: 'sequence', name: last(obj(o.List).items) }));
    case 'OBJECT_TYPE':
      return objects.map((o) => enumTouch(last(obj(o.TypeName).names), 'drop'));
    case 'OBJECT_EXTENSION':
    case 'OBJECT_SCHEMA':
      return objects.map((o) => ({ kind: 'datasource', object: `${n.removeType === 'OBJECT_SCHEMA' ? 'schema' : 'extension'} "${str(obj(o.String).sval) ?? ''}"` }));
    default:
      return [{ kind: 'unknown', what: `DROP ${String(n.removeType ?? '').replace(/^OBJECT_/, '')}` }];
  }
}

function renameTouches(n: Node): Touch[] {
  const table = relname(n.relation);
  switch (n.renameType) {
    case 'OBJECT_COLUMN':
      return [{ kind: 'column', table, column: str(n.subname) ?? '' }];
    case 'OBJECT_TABCONSTRAINT':
      return [{ kind: 'constraint', table, name: str(n.subname) ?? '' }];
    case 'OBJECT_INDEX':
      return [{ kind: 'index', name: table }];
    case 'OBJECT_TABLE':
      return [{ kind: 'table', table }, { kind: 'table', table: str(n.newname) ?? '' }];
    case 'OBJECT_SEQUENCE':
      return [{ kind: 'sequence', name: table }];
    case 'OBJECT_TYPE':
      return [enumTouch(last(obj(obj(n.object).List).items), 'alter')];
    default:
      return [{ kind: 'unknown', what: `RENAME ${String(n.renameType ?? '').replace(/^OBJECT_/, '')}` }];
  }
}

function commentTouches(n: Node): Touch[] {
  const path = names(obj(obj(n.object).List).items);
  switch (n.objtype) {
    case 'OBJECT_TABLE':
    case 'OBJECT_VIEW':
      return [{ kind: 'table', table: path.at(-1) ?? '' }];
    case 'OBJECT_COLUMN':
      return [{ kind: 'column', table: path.at(-2) ?? '', column: path.at(-1) ?? '' }];
    case 'OBJECT_INDEX':
      return [{ kind: 'index', name: path.at(-1) ?? '' }];
    case 'OBJECT_TYPE':
      return [enumTouch(last(obj(obj(n.object).TypeName).names), 'alter')];
    default:
      return [{ kind: 'unknown', what: `COMMENT ON ${String(n.objtype ?? '').replace(/^OBJECT_/, '')}` }];
  }
}

const ID = String.raw`(?:"[^"]+"\.)?"([^"]+)"`;
const re = (s: string) => new RegExp(s.replaceAll('ID', ID), 'i');
const CREATE_TABLE = re(String.raw`^CREATE\s+TABLE\s+ID`);
const DROP_TABLE = re(String.raw`^DROP\s+TABLE\s+ID`);
const ALTER_TABLE = re(String.raw`^ALTER\s+TABLE\s+ID\s+([\s\S]*)$`);
const CREATE_INDEX = re(String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+ID\s+ON\s+ID`);
const DROP_INDEX = re(String.raw`^DROP\s+INDEX\s+ID`);
const quotedNames = (s: string) => [...s.matchAll(/"((?:[^"]|"")+)"/g)].map((m) => unquote(m[1]!));

/** The code of each statement of a script, without its leading comment or its final `;`. */
export const statementCodes = (sql: string): string[] => splitStatements(sql).map((s) => codeOf(s).text.replace(/;$/, ''));

/** The two PRAGMAs Prisma's engine wraps table rebuilds in; they change no schema object. */
const FOREIGN_KEYS_PRAGMA = /^PRAGMA\s+(?:defer_)?foreign_keys\s*=\s*(?:ON|OFF)$/i;

/** An SQLite statement's kind in SQL's words: `CREATE TRIGGER`, `INSERT`, `PRAGMA journal_mode`. */
function sqliteKind(code: string): string {
  const raw = code.trim().split(/[\s(=;]+/);
  const words = raw.map((w) => w.toUpperCase());
  if (words[0] === 'PRAGMA') return `PRAGMA ${(raw[1] ?? '').toLowerCase()}`;
  if (['CREATE', 'DROP', 'ALTER'].includes(words[0] ?? '')) {
    const object = words.slice(1).find((w) => !['TEMP', 'TEMPORARY', 'UNIQUE', 'VIRTUAL'].includes(w));
    return object ? `${words[0]} ${object}` : words[0]!;
  }
  return words[0]!;
}

/**
 * Reads an SQLite script as Prisma's engine writes it (PostgreSQL's parser cannot read its
 * PRAGMAs): tables, columns, constraints and indexes by name, and the foreign-key PRAGMAs
 * around table rebuilds, which touch nothing. Any other statement (a trigger, a view, an
 * INSERT outside a rebuild, another PRAGMA) is reported as unknown, so that the guard refuses
 * it. Table rebuilds are checked as a whole (see redefine.ts) before this reads what is left.
 */
export function readSqlite(code: string): ReadStatement {
  const text = oneLine(code);
  let m: RegExpExecArray | null;
  if (code.trim() === '' || FOREIGN_KEYS_PRAGMA.test(code.trim())) return { text, touches: [] };
  if ((m = CREATE_TABLE.exec(code))) return { text, touches: [{ kind: 'table', table: m[1]! }] };
  if ((m = DROP_TABLE.exec(code))) return { text, touches: [{ kind: 'table', table: m[1]!, drop: true }] };
  if ((m = CREATE_INDEX.exec(code))) return { text, touches: [{ kind: 'index', name: m[1]!, table: m[2]! }] };
  if ((m = DROP_INDEX.exec(code))) return { text, touches: [{ kind: 'index', name: m[1]! }] };
  if (!(m = ALTER_TABLE.exec(code))) return { text, touches: [{ kind: 'unknown', what: sqliteKind(code) }] };
  const table = m[1]!;
  const touches: Touch[] = [];
  for (const action of topLevelItems(m[2]!)) {
    const col = /^(?:ADD|DROP|ALTER)\s+COLUMN\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"([^"]+)"/i.exec(action) ?? /^RENAME\s+COLUMN\s+"([^"]+)"/i.exec(action);
    const fk = /^ADD\s+CONSTRAINT\s+"[^"]+"\s+FOREIGN\s+KEY\s*\(([^)]*)\)/i.exec(action);
    const con = /^(?:ADD|DROP|RENAME)\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?"([^"]+)"/i.exec(action);
    if (col) touches.push({ kind: 'column', table, column: col[1]! });
    else if (fk) touches.push(...quotedNames(fk[1]!).map((column): Touch => ({ kind: 'column', table, column })));
    else if (con) touches.push({ kind: 'constraint', table, name: con[1]! });
    else touches.push({ kind: 'table', table });
  }
  return { text, touches };
}

/**
 * SQLite cannot alter most of a table in place, so Prisma rebuilds it: `CREATE TABLE "new_T"`,
 * copy the rows, `DROP TABLE "T"`, rename, recreate the indexes. An extension that adds a
 * foreign-key column (or a NOT NULL column with a default) to a core table with `extend model`
 * therefore rebuilds core's table. That is allowed when the rebuilt table keeps everything of
 * the other owners exactly as it was, and differs only in the extension's own columns,
 * constraints and indexes. These pure functions find such blocks in a script and check that.
 */

/** One rebuild block of a script, as statement indexes into the list it was found in. */
export interface Redefinition {
  table: string;
  /** Indexes of every statement of the block (create, copy, drop, rename, indexes). */
  statements: number[];
  create: string;
  /** `INSERT INTO "new_T" (cols) SELECT cols FROM "T"`; null when the block has none. */
  copy: { into: string[]; select: string[]; from: string } | null;
  /** `CREATE [UNIQUE] INDEX` statements on the table after the rename, by index name. */
  indexes: Map<string, string>;
}

/** The parts of a `CREATE TABLE` that belong to someone: columns, named constraints, other clauses. */
export interface TableShape {
  columns: Map<string, string>;
  constraints: Map<string, string>;
  /** Unnamed table constraints (`PRIMARY KEY (...)`, `UNIQUE (...)`), by their text. */
  clauses: string[];
}

export interface RedefinitionProblem {
  /** What is changed or lost, e.g. `column "User"."email"`. */
  object: string;
  /** The statement that shows it, on one line. */
  statement: string;
}

const NAME = String.raw`"((?:[^"]|"")+)"`;
const CREATE_NEW = new RegExp(String.raw`^CREATE\s+TABLE\s+"new_((?:[^"]|"")+)"\s*\(`, 'i');
const COPY = new RegExp(String.raw`^INSERT\s+INTO\s+${NAME}\s*\(([^)]*)\)\s*SELECT\s+([\s\S]*?)\s+FROM\s+${NAME}\s*$`, 'i');
const DROP = new RegExp(String.raw`^DROP\s+TABLE\s+${NAME}\s*$`, 'i');
const RENAME = new RegExp(String.raw`^ALTER\s+TABLE\s+${NAME}\s+RENAME\s+TO\s+${NAME}\s*$`, 'i');
const INDEX = new RegExp(String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+${NAME}\s+ON\s+${NAME}\s*\(`, 'i');
const CREATE = new RegExp(String.raw`^CREATE\s+TABLE\s+${NAME}\s*\(`, 'i');
const PRAGMA = /^PRAGMA\b/i;

/** An identifier's text inside its double quotes, `""` read as `"`. */
export const unquote = (s: string) => s.replace(/""/g, '"');
/** A statement on one line, as messages quote it. */
export const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const names = (list: string) => [...list.matchAll(/"((?:[^"]|"")+)"/g)].map((m) => unquote(m[1]!));

/** Splits a body at top-level commas (outside parentheses and quotes). */
export function topLevelItems(body: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"' || c === "'" || c === '`') {
      const end = body.indexOf(c, i + 1);
      const stop = end === -1 ? body.length : end;
      cur += body.slice(i, stop + 1);
      i = stop;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      items.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) items.push(cur.trim());
  return items;
}

/** Columns, named constraints and other clauses of a `CREATE TABLE` statement. */
export function tableShape(create: string): TableShape {
  const open = create.indexOf('(');
  const close = create.lastIndexOf(')');
  const shape: TableShape = { columns: new Map(), constraints: new Map(), clauses: [] };
  if (open === -1 || close <= open) return shape;
  for (const item of topLevelItems(create.slice(open + 1, close))) {
    const constraint = new RegExp(String.raw`^CONSTRAINT\s+${NAME}\s+([\s\S]*)$`, 'i').exec(item);
    const column = new RegExp(String.raw`^${NAME}\s*([\s\S]*)$`).exec(item);
    if (constraint) shape.constraints.set(unquote(constraint[1]!), oneLine(constraint[2]!));
    else if (column) shape.columns.set(unquote(column[1]!), oneLine(column[2]!));
    else shape.clauses.push(oneLine(item));
  }
  return shape;
}

/**
 * The rebuild blocks of a script (statements as code without comments or the final `;`):
 * `CREATE TABLE "new_T"`, then the copy, `DROP TABLE "T"`, the rename and the index
 * statements on `T`, with the PRAGMA lines Prisma puts between them.
 */
export function findRedefinitions(statements: string[]): Redefinition[] {
  const found: Redefinition[] = [];
  for (let i = 0; i < statements.length; i++) {
    const m = CREATE_NEW.exec(statements[i]!);
    if (!m) continue;
    const table = unquote(m[1]!);
    const block: Redefinition = { table, statements: [i], create: statements[i]!, copy: null, indexes: new Map() };
    let j = i + 1;
    const at = (re: RegExp) => (j < statements.length ? re.exec(statements[j]!) : null);
    let c: RegExpExecArray | null;
    if ((c = at(COPY)) && unquote(c[1]!) === `new_${table}`) {
      block.copy = { into: names(c[2]!), select: names(c[3]!), from: unquote(c[4]!) };
      block.statements.push(j++);
    }
    if (!((c = at(DROP)) && unquote(c[1]!) === table)) continue;
    block.statements.push(j++);
    if (!((c = at(RENAME)) && unquote(c[1]!) === `new_${table}` && unquote(c[2]!) === table)) continue;
    block.statements.push(j++);
    while ((c = at(INDEX)) && unquote(c[2]!) === table) {
      block.indexes.set(unquote(c[1]!), oneLine(statements[j]!));
      block.statements.push(j++);
    }
    found.push(block);
    i = j - 1;
  }
  return found;
}

/** The `CREATE TABLE` and index statements of `table` in a script that creates a whole schema. */
export function previousDefinition(statements: string[], table: string): { create: string; indexes: Map<string, string> } | null {
  const create = statements.find((s) => {
    const m = CREATE.exec(s);
    return m !== null && unquote(m[1]!) === table;
  });
  if (!create) return null;
  const indexes = new Map<string, string>();
  for (const s of statements) {
    const m = INDEX.exec(s);
    if (m && unquote(m[2]!) === table) indexes.set(unquote(m[1]!), oneLine(s));
  }
  return { create, indexes };
}

/** The columns a constraint or index names (before any REFERENCES clause). */
function ownColumnsOf(text: string): string[] {
  const local = text.split(/\bREFERENCES\b/i)[0]!;
  const paren = local.indexOf('(');
  return paren === -1 ? [] : names(local.slice(paren));
}

/**
 * What a rebuild of `table` changes or loses that is not the migrating owner's: every column,
 * named constraint, other clause and index of the table before the rebuild that the owner
 * does not own must come back unchanged (and its data must be copied); anything new or
 * changed must be the owner's. `isOwn(column)` says whether a column is the owner's.
 *
 * @example
 *   redefinitionProblems(block, previousDefinition(before, 'User'), (c) => c === 'billing_customer_id'); // [] when only that column changes
 */
export function redefinitionProblems(
  block: Redefinition,
  previous: { create: string; indexes: Map<string, string> } | null,
  isOwn: (column: string) => boolean,
): RedefinitionProblem[] {
  const t = block.table;
  const create = oneLine(block.create);
  if (!previous) return [{ object: `table "${t}"`, statement: create }];
  const before = tableShape(previous.create);
  const after = tableShape(block.create);
  const problems: RedefinitionProblem[] = [];
  const flag = (object: string, statement: string) => {
    if (!problems.some((p) => p.object === object)) problems.push({ object, statement });
  };
  const ownsAny = (text: string) => ownColumnsOf(text).some(isOwn);

  for (const [name, def] of before.columns) {
    if (isOwn(name)) continue;
    if (after.columns.get(name) !== def) flag(`column "${t}"."${name}"`, create);
  }
  for (const [name, def] of after.columns) {
    if (!isOwn(name) && before.columns.get(name) !== def) flag(`column "${t}"."${name}"`, create);
  }
  for (const [name, def] of before.constraints) {
    if (ownsAny(def)) continue;
    if (after.constraints.get(name) !== def) flag(`constraint "${name}" on table "${t}"`, create);
  }
  for (const [name, def] of after.constraints) {
    if (!ownsAny(def) && before.constraints.get(name) !== def) flag(`constraint "${name}" on table "${t}"`, create);
  }
  for (const clause of new Set([...before.clauses, ...after.clauses])) {
    if (ownsAny(clause)) continue;
    if (before.clauses.includes(clause) !== after.clauses.includes(clause)) flag(`constraint \`${clause}\` on table "${t}"`, create);
  }

  // Every kept column of another owner must be copied as it is, from the old table.
  const copy = block.copy;
  const kept = [...before.columns.keys()].filter((c) => after.columns.has(c) && !isOwn(c));
  if (!copy) {
    if (kept.length > 0) flag(`the rows of table "${t}"`, create);
  } else {
    const statement = `INSERT INTO "new_${t}" (${copy.into.map((c) => `"${c}"`).join(', ')}) SELECT ... FROM "${copy.from}"`;
    const pairs = new Map(copy.into.map((c, i) => [c, copy.select[i]]));
    const exact = copy.from === t && copy.into.length === copy.select.length;
    for (const c of kept) {
      if (!exact || pairs.get(c) !== c) flag(`column "${t}"."${c}"`, statement);
    }
    for (const [into, from] of pairs) {
      if (!isOwn(into) && from !== into) flag(`column "${t}"."${into}"`, statement);
    }
  }

  // DROP TABLE dropped every index; the others' ones must come back as they were.
  for (const [name, text] of previous.indexes) {
    if (ownsAny(text)) continue;
    if (block.indexes.get(name) !== text) flag(`index "${name}" on table "${t}"`, block.indexes.get(name) ?? create);
  }
  for (const [name, text] of block.indexes) {
    if (!ownsAny(text) && previous.indexes.get(name) !== text) flag(`index "${name}" on table "${t}"`, text);
  }
  return problems;
}

/** Statements a rebuild block surrounds itself with (`PRAGMA foreign_keys=OFF` ...), harmless anywhere. */
export const isPragma = (statement: string) => PRAGMA.test(statement);

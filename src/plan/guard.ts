import { CORE } from '../project/project.js';
import type { Provider } from '../project/provider.js';
import type { Ownership } from '../schema/compose.js';
import { findRedefinitions, oneLine, previousDefinition, redefinitionProblems } from './redefine.js';
import { readPostgres, readSqlite, statementCodes, UnreadableSql, type ReadStatement, type Touch } from './statements.js';

/** One object a generated statement touches that its owner does not own. */
export interface Violation {
  statement: string;
  object: string;
  owner: string;
  /** Set when the object is the owner's own but dropping it would destroy another owner's columns. */
  dropsExtensionOf?: string;
  /** Set when the owner's own enum would be recreated while other owners' columns use it. */
  recreatesEnumOf?: string[];
  /**
   * Set when the guard cannot tell what the statement touches (a kind it does not know, e.g.
   * `GRANT` or `CREATE FUNCTION`, or SQL PostgreSQL's parser rejects): it is refused, whoever owns what.
   */
  unrecognised?: string;
}

/**
 * Tables no model declares: Prisma's implicit many-to-many tables (`_AToB`) belong to whoever
 * declares the relation, which is the owner being diffed (everything else is held constant);
 * any other unknown table is reported.
 */
const implicit = (table: string) => (table.startsWith('_') ? undefined : '(undeclared)');
const baseEnum = (name: string) => name.replace(/_(new|old)$/, '');

/**
 * Checks that every object a generated migration creates, alters or drops belongs to `owner`:
 * tables and enums it declares, columns and indexes it adds with `extend model`.
 * `before` and `after` are the ownership maps of the two sides of the diff (a dropped object
 * is only known on the `before` side); `everyone` is the ownership of the whole enabled schema,
 * so that no owner drops a table carrying others' columns or recreates an enum others use.
 *
 * PostgreSQL scripts are read with PostgreSQL's parser, SQLite scripts from their text (table
 * rebuilds as a whole, against `previous`: the whole schema of the side the script starts
 * from); on both, any statement kind the guard does not know is a violation.
 *
 * @example
 *   await findViolations('ALTER TABLE "User" ADD COLUMN "x" TEXT;', 'billing', before, after); // [{ object: 'column "User"."x"', owner: 'core', ... }]
 */
export async function findViolations(
  sql: string,
  owner: string,
  before: Ownership,
  after: Ownership,
  everyone?: Ownership,
  previous?: string,
  provider: Provider = 'postgresql',
): Promise<Violation[]> {
  if (sql.trim() === '') return [];
  const guard = new OwnershipCheck(owner, before, after, everyone);
  if (provider === 'sqlite') {
    checkSqlite(guard, sql, previous);
    return guard.violations;
  }
  let statements: ReadStatement[];
  try {
    statements = await readPostgres(sql);
  } catch (error) {
    if (!(error instanceof UnreadableSql)) throw error;
    return [{ statement: oneLine(sql).slice(0, 160), object: 'the migration', owner, unrecognised: `SQL PostgreSQL's parser rejects (${error.message})` }];
  }
  for (const statement of statements) guard.check(statement);
  return guard.violations;
}

function checkSqlite(guard: OwnershipCheck, sql: string, previous: string | undefined): void {
  // The same psql-like splitter the runner uses.
  const statements = statementCodes(sql);
  // Table rebuilds: checked as a whole (see redefine.ts), their statements skipped below.
  const skip = new Set<number>();
  const redefinitions = findRedefinitions(statements);
  const previousStatements = previous === undefined || redefinitions.length === 0 ? [] : statementCodes(previous);
  for (const block of redefinitions) {
    for (const i of block.statements) skip.add(i);
    guard.checkRebuild(block, previous === undefined ? null : previousDefinition(previousStatements, block.table));
  }
  for (const [index, code] of statements.entries()) {
    if (!skip.has(index)) guard.check(readSqlite(code));
  }
}

/** The ownership rules, applied to what each statement touches. */
class OwnershipCheck {
  readonly violations: Violation[] = [];

  constructor(
    private readonly owner: string,
    private readonly before: Ownership,
    private readonly after: Ownership,
    private readonly everyone: Ownership | undefined,
  ) {}

  private ownerOf(kind: 'tables' | 'columns' | 'enumTypes', key: string): string | undefined {
    return this.after[kind].get(key) ?? this.before[kind].get(key);
  }

  private contributes(table: string): boolean {
    return this.ownerOf('tables', table) === this.owner || !!this.after.extended.get(this.owner)?.has(table) || !!this.before.extended.get(this.owner)?.has(table);
  }

  private flag(statement: string, object: string, actual: string | undefined): void {
    if (actual !== undefined && actual !== this.owner) this.violations.push({ statement, object, owner: actual });
  }

  /** The longest known table name that `name` starts with followed by `_` (indexes, sequences). */
  private tableByPrefix(name: string): string | undefined {
    const tables = new Set([...this.after.tables.keys(), ...this.before.tables.keys()]);
    return [...tables].filter((t) => name.startsWith(`${t}_`)).sort((a, b) => b.length - a.length)[0];
  }

  check({ text, touches }: ReadStatement): void {
    for (const touch of touches) this.checkTouch(text, touch);
  }

  private checkTouch(text: string, touch: Touch): void {
    switch (touch.kind) {
      case 'table': {
        const t = touch.table;
        this.flag(text, `table "${t}"`, this.ownerOf('tables', t) ?? implicit(t));
        // Dropping (or, through @@map, recreating) a table would take other owners' columns with it.
        if (touch.drop) {
          const model = this.before.modelOfTable.get(t) ?? this.after.modelOfTable.get(t);
          for (const other of (model && this.everyone?.extenders.get(model)) || []) {
            if (other !== this.owner) this.violations.push({ statement: text, object: `table "${t}"`, owner: other, dropsExtensionOf: other });
          }
        }
        return;
      }
      case 'column': {
        const tableOwner = this.ownerOf('tables', touch.table);
        if (tableOwner === undefined && implicit(touch.table) === undefined) return;
        this.flag(text, `column "${touch.table}"."${touch.column}"`, this.ownerOf('columns', `${touch.table}.${touch.column}`) ?? tableOwner);
        return;
      }
      case 'constraint': {
        const table = touch.table;
        const tableOwner = this.ownerOf('tables', table);
        if ((tableOwner === undefined && implicit(table) === undefined) || tableOwner === this.owner) return;
        // A constraint on another owner's table is ours when it is named after one of our columns.
        const ours = [...this.after.columns, ...this.before.columns].some(
          ([key, o]) => o === this.owner && key.startsWith(`${table}.`) && touch.name.startsWith(`${table}_${key.slice(table.length + 1)}`),
        );
        if (!ours) this.flag(text, `constraint "${touch.name}" on table "${table}"`, tableOwner ?? '(unknown)');
        return;
      }
      case 'index': {
        const table = touch.table ?? this.tableByPrefix(touch.name);
        if (table === undefined || this.contributes(table)) return;
        this.flag(text, `index "${touch.name}" on table "${table}"`, this.ownerOf('tables', table) ?? (touch.table === undefined ? undefined : implicit(table)));
        return;
      }
      case 'sequence': {
        // `<table>_<column>_seq`: the column's owner (an autoincrement default) owns it.
        const table = this.tableByPrefix(touch.name);
        if (table === undefined) return this.flag(text, `sequence "${touch.name}"`, '(undeclared)');
        const column = touch.name.slice(table.length + 1).replace(/_seq$/, '');
        this.flag(text, `sequence "${touch.name}" of table "${table}"`, this.ownerOf('columns', `${table}.${column}`) ?? this.ownerOf('tables', table));
        return;
      }
      case 'enum': {
        const base = baseEnum(touch.name);
        this.flag(text, `enum "${base}"`, this.ownerOf('enumTypes', base) ?? this.ownerOf('enumTypes', touch.name));
        // Other owners' columns of the recreated type are not in this owner's diff and would block the DROP.
        const users = (this.everyone?.enumUsers.get(base) ?? []).filter((o) => o !== this.owner);
        if (touch.recreates && users.length > 0) this.violations.push({ statement: text, object: `enum "${base}"`, owner: users[0]!, recreatesEnumOf: users });
        return;
      }
      case 'datasource':
        // Only core's schema has the datasource block that declares extensions and schemas.
        this.flag(text, touch.object, CORE);
        return;
      case 'unknown':
        this.violations.push({ statement: text, object: `${/^[AEIOU]/.test(touch.what) ? 'an' : 'a'} ${touch.what} statement`, owner: this.owner, unrecognised: touch.what });
        return;
    }
  }

  /** An SQLite table rebuild: everything of other owners must come back as it was. */
  checkRebuild(block: ReturnType<typeof findRedefinitions>[number], seen: ReturnType<typeof previousDefinition>): void {
    const t = block.table;
    const tableOwner = this.ownerOf('tables', t) ?? implicit(t) ?? this.owner;
    const isOwn = (column: string) => (this.ownerOf('columns', `${t}.${column}`) ?? tableOwner) === this.owner;
    for (const p of redefinitionProblems(block, seen, isOwn)) {
      const column = /^column "[^"]*"\."([^"]*)"$/.exec(p.object)?.[1];
      this.violations.push({
        statement: p.statement,
        object: p.object,
        owner: (column && this.ownerOf('columns', `${t}.${column}`)) || (tableOwner === this.owner ? '(another owner)' : tableOwner),
      });
    }
    // Columns added by owners this diff cannot see (not core, not a dependency) are not in the
    // rebuilt table: the rebuild would drop them.
    const visible = (o: string) => [...this.after.columns, ...this.before.columns].some(([key, who]) => who === o && key.startsWith(`${t}.`));
    for (const other of this.everyone?.columnExtenders?.get(t) ?? []) {
      if (other !== this.owner && !visible(other)) this.violations.push({ statement: oneLine(block.create), object: `table "${t}"`, owner: other, dropsExtensionOf: other });
    }
  }
}

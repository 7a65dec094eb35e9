/**
 * Moving a model (or enum) from one owner to another: splitting a monolith (core → extension)
 * or handing a table to an extension that builds on the one that had it.
 *
 * Diffed owner by owner, a move is a DROP in the giving owner's migration and a CREATE in the
 * receiving owner's: every row of the table would be lost on an upgraded database. A move is
 * instead written as a transfer:
 *
 * - the giving owner's migration leaves the table (its constraints, its enum type) in place,
 *   and its down.sql creates them only where they do not exist;
 * - the receiving owner's migration creates them only where they do not exist yet.
 *
 * On a fresh install the giving owner's history runs first (core before extensions, an
 * extension after those it depends on) and creates the table, so the receiving migration finds
 * it; on an upgraded database it exists already. Both end in the same schema. A move in the
 * other direction (an extension's model promoted to core) cannot work that way: core's
 * migrations run first, and the extension's existing migration would create the table twice.
 */
import type { Problem } from '../errors.js';
import { splitStatements, codeOf } from '../db/split.js';
import { transitiveDependencies, type Owner, type Project } from '../project/project.js';
import { compose, parseCached, type Ownership } from '../schema/compose.js';
import { ownerSource } from '../schema/sources.js';
import type { DiffEngine } from './diff-engine.js';
import { emptyOwnership } from './revision.js';

export interface Transfer {
  object: 'table' | 'enum';
  /** The table or enum type name in the database (after `@@map`). */
  name: string;
  from: string;
  to: string;
}

/** Tables and enum types held by an owner's latest snapshot that the schemas now give to another owner. */
export function findTransfers(atSnapshot: Map<string, Ownership>, now: Ownership): Transfer[] {
  const found: Transfer[] = [];
  for (const [owner, ownership] of atSnapshot) {
    for (const [object, names, current] of [
      ['table', ownership.tables, now.tables],
      ['enum', ownership.enumTypes, now.enumTypes],
    ] as const) {
      for (const [name, holder] of names) {
        const to = current.get(name);
        if (holder === owner && to !== undefined && to !== owner) found.push({ object, name, from: owner, to });
      }
    }
  }
  return found;
}

const flagOf = (owner: Owner) => (owner.kind === 'core' ? '--core' : `--extension ${owner.name}`);
const label = (t: Transfer) => `${t.object === 'table' ? 'table' : 'enum type'} "${t.name}"`;
const ownerLabel = (o: Owner) => (o.kind === 'core' ? 'core' : `extension "${o.name}"`);

/**
 * What stops a set of transfers from being written: an owner of a transfer left out of the run,
 * or a direction in which fresh installs would create the object twice.
 */
export function transferProblems(project: Project, transfers: Transfer[], selected: Set<string>): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(project.owners.map((o) => [o.name, o]));
  // One sentence per pair of owners: a model and its enum move together.
  const pairs = new Map<string, Transfer[]>();
  for (const t of transfers) pairs.set(`${t.from} ${t.to}`, [...(pairs.get(`${t.from} ${t.to}`) ?? []), t]);
  for (const moved of pairs.values()) {
    const from = byName.get(moved[0]!.from)!;
    const to = byName.get(moved[0]!.to)!;
    const what = `${moved.map(label).join(' and ')} ${moved.length === 1 ? 'moves' : 'move'} from ${ownerLabel(from)} to ${ownerLabel(to)}`;
    const missing = [from, to].filter((o) => !selected.has(o.name));
    if (missing.length > 0) {
      problems.push({
        code: 'ownership',
        owner: missing[0]!.name,
        message: `${what}, and both migrations of the move are written together (one keeps it, the other takes it over): revise both in one run (\`orchestrate revision ${flagOf(from)} ${flagOf(to)} -m <name>\`, or --all).`,
      });
      continue;
    }
    const runsAfter = to.kind === 'extension' && (from.kind === 'core' || transitiveDependencies(to, project).some((d) => d.name === from.name));
    if (!runsAfter) {
      problems.push({
        code: 'ownership',
        owner: to.name,
        message:
          `${what}, whose migrations run first on a fresh install, so ${from.name}'s existing migration would then create ${moved.length === 1 ? 'it' : 'them'} a second time; ` +
          (to.kind === 'core'
            ? `keep ${moved.length === 1 ? 'it' : 'them'} in ${from.name} (a model cannot be promoted from an extension to core), or copy the data into a new core model with another table name.`
            : `add "${from.name}" to the dependencies in ${to.name}'s extension.json so that ${to.name} runs after it, or keep ${moved.length === 1 ? 'it' : 'them'} in ${from.name}.`),
      });
    }
  }
  return problems;
}

const NAME = String.raw`(?:"[^"]+"\.)?"([^"]+)"`;
const CREATE_TABLE = new RegExp(String.raw`^CREATE TABLE ${NAME}`);
const CREATE_INDEX = new RegExp(String.raw`^CREATE (UNIQUE )?INDEX ${NAME} ON ${NAME}`);
const ADD_CONSTRAINT = new RegExp(String.raw`^ALTER TABLE ${NAME} ADD CONSTRAINT "([^"]+)"`);
const DROP_CONSTRAINT = new RegExp(String.raw`^ALTER TABLE ${NAME} DROP CONSTRAINT`);
const DROP_TABLE = new RegExp(String.raw`^DROP TABLE ${NAME}`);
const CREATE_TYPE = new RegExp(String.raw`^CREATE TYPE ${NAME} AS ENUM`);
const DROP_TYPE = new RegExp(String.raw`^DROP TYPE ${NAME}`);

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The giving owner's forward SQL without the statements that drop a transferred object (the
 * table, its constraints, its enum type): the object stays for the receiving owner.
 */
export function keepTransferred(sql: string, transfers: Transfer[]): string {
  const tables = new Set(transfers.filter((t) => t.object === 'table').map((t) => t.name));
  const enums = new Set(transfers.filter((t) => t.object === 'enum').map((t) => t.name));
  const kept = rewrite(sql, (code) => {
    const table = DROP_TABLE.exec(code)?.[1] ?? DROP_CONSTRAINT.exec(code)?.[1];
    if (table !== undefined && tables.has(table)) return null;
    const type = DROP_TYPE.exec(code)?.[1];
    if (type !== undefined && enums.has(type)) return null;
    return code;
  });
  return header(transfers, (t) => `${label(t)} moves from ${t.from} to ${t.to}: it is not dropped here; ${t.to}'s migration takes it over.`) + kept;
}

/**
 * SQL that creates a transferred object only where it does not exist yet: `IF NOT EXISTS`
 * where PostgreSQL and SQLite have it, a guarded `DO` block for constraints and enum types.
 */
export function createTransferredIfMissing(sql: string, transfers: Transfer[], provider: 'postgresql' | 'sqlite', role: 'receive' | 'restore'): string {
  const tables = new Set(transfers.filter((t) => t.object === 'table').map((t) => t.name));
  const enums = new Set(transfers.filter((t) => t.object === 'enum').map((t) => t.name));
  const guarded = rewrite(sql, (code) => {
    const created = CREATE_TABLE.exec(code);
    if (created && tables.has(created[1]!)) return code.replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS ');
    const index = CREATE_INDEX.exec(code);
    if (index && tables.has(index[3]!)) return code.replace(/^CREATE (UNIQUE )?INDEX /, (m) => `${m}IF NOT EXISTS `);
    const constraint = ADD_CONSTRAINT.exec(code);
    if (constraint && tables.has(constraint[1]!) && provider === 'postgresql') {
      const quoted = code.match(/^ALTER TABLE ((?:"[^"]+"\.)?"[^"]+")/)![1]!;
      return doIf(`NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = ${literal(constraint[2]!)} AND conrelid = ${literal(quoted)}::regclass)`, code);
    }
    const type = CREATE_TYPE.exec(code);
    if (type && enums.has(type[1]!)) {
      const quoted = code.match(/^CREATE TYPE ((?:"[^"]+"\.)?"[^"]+")/)![1]!;
      return doIf(`to_regtype(${literal(quoted)}) IS NULL`, code);
    }
    return code;
  });
  const why =
    role === 'receive'
      ? (t: Transfer) => `${label(t)} moves from ${t.from} to ${t.to}: ${t.from}'s migrations created it, so it is created here only where it does not exist yet.`
      : (t: Transfer) => `${label(t)} moved from ${t.from} to ${t.to}: rolling back restores it only where it does not exist.`;
  return header(transfers, why) + guarded;
}

function doIf(condition: string, statement: string): string {
  const body = statement.replace(/;\s*$/, '');
  return `DO $orchestrate$\nBEGIN\n  IF ${condition} THEN\n    ${body.replace(/\n/g, '\n    ')};\n  END IF;\nEND\n$orchestrate$;`;
}

function header(transfers: Transfer[], line: (t: Transfer) => string): string {
  return transfers.map((t) => `-- orchestrate: ${line(t)}\n`).join('');
}

/**
 * Rewrites a script statement by statement (`change` gets each statement's code without its
 * leading comments; null drops the statement with them). Text between statements is kept.
 */
function rewrite(sql: string, change: (code: string) => string | null): string {
  let out = '';
  let at = 0;
  for (const statement of splitStatements(sql)) {
    const code = codeOf(statement).text;
    const replaced = change(code);
    if (replaced === code) continue;
    const codeStart = statement.start + statement.text.length - code.length;
    if (replaced === null) {
      // The statement goes, with its `-- DropTable` comment and the blank line after it.
      out += sql.slice(at, statement.start);
      at = statement.end;
      while (sql[at] === '\n') at++;
      continue;
    }
    out += sql.slice(at, codeStart) + replaced;
    at = statement.end;
  }
  return out + sql.slice(at);
}

/** The tables and enum types an owner's schema text declares as its own (after `@@map`). */
function declared(owner: string, text: string): Ownership {
  const tables = new Map<string, string>();
  const enumTypes = new Map<string, string>();
  for (const block of parseCached({ owner, path: `${owner}/snapshot.prisma`, text }).blocks) {
    if (block.extend) continue;
    if (block.kind === 'model') tables.set(block.dbName, owner);
    if (block.kind === 'enum') enumTypes.set(block.dbName, owner);
  }
  return { ...emptyOwnership(), tables, enumTypes };
}

/**
 * The transfers between the owners' latest snapshots and the schemas now, and what stops them
 * (see `transferProblems`). Needs no engine: it runs before any diff, so that a refused move
 * is reported as a move rather than as the composition error its half-moved schemas give.
 */
export function findTransfersOf(project: Project, selected: Owner[], snapshots: Map<string, string | null>, now: Ownership): { transfers: Transfer[]; problems: Problem[] } {
  const atSnapshot = new Map<string, Ownership>();
  for (const owner of project.owners) {
    const snapshot = snapshots.get(owner.name) ?? null;
    if (snapshot !== null) atSnapshot.set(owner.name, declared(owner.name, snapshot));
  }
  const transfers = findTransfers(atSnapshot, now);
  return { transfers, problems: transfers.length === 0 ? [] : transferProblems(project, transfers, new Set(selected.map((o) => o.name))) };
}

/**
 * A transfer must be a pure move: diffing every owner's snapshot against every schema must not
 * touch a moved object, or the receiving `IF NOT EXISTS` would keep the old shape on upgraded
 * databases.
 */
export async function changedWhileMoving(engine: DiffEngine, project: Project, transfers: Transfer[], snapshots: Map<string, string | null>, current: Map<string, string>): Promise<Problem[]> {
  if (transfers.length === 0) return [];
  const involved = new Set(transfers.flatMap((t) => [t.from, t.to]));
  const before = compose(
    project.owners.flatMap((o) => {
      const text = involved.has(o.name) ? (snapshots.get(o.name) ?? null) : current.get(o.name)!;
      return text === null ? [] : [ownerSource(project, o, text)];
    }),
  );
  const after = compose(project.owners.map((o) => ownerSource(project, o, current.get(o.name)!)));
  const changes = splitStatements(await engine.diff(before.files, after.files)).map((s) => codeOf(s).text);
  const problems: Problem[] = [];
  for (const t of transfers) {
    const touched = changes.find((c) => statementTargets(c).includes(t.name));
    if (touched) {
      problems.push({
        code: 'ownership',
        owner: t.to,
        message: `${label(t)} moves from ${t.from} to ${t.to} and changes at the same time (${touched.replace(/\s+/g, ' ').replace(/;$/, '').slice(0, 120)}); move it unchanged in one revision, then change it in the next.`,
      });
    }
  }
  return problems;
}

/** The table or type names a generated statement names first (its subject and, for an index, its table). */
function statementTargets(code: string): string[] {
  const m = new RegExp(String.raw`^(?:CREATE|ALTER|DROP)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TYPE)\s+${NAME}(?:\s+ON\s+${NAME})?`).exec(code);
  return m ? [m[1], m[2]].filter((x): x is string => x !== undefined) : [];
}

import { CheckError } from '../errors.js';
import type { DiffEngine, DiffSide } from './diff-engine.js';
import type { Requirement } from '../migrations/folder.js';
import { transitiveDependencies, type Owner, type Project } from '../project/project.js';
import { scanProvider } from '../project/provider.js';
import { compose, type Composed, type Ownership } from '../schema/compose.js';
import { ownerSource, relativePath } from '../schema/sources.js';
import { enumOrders, restoreEnumOrder } from './enum-order.js';
import { findViolations } from './guard.js';

/** The two schema states an owner's new migration moves between, and the resulting SQL. */
export interface OwnerDiff {
  owner: string;
  /** Forward SQL ('' when the owner has no change). */
  up: string;
  /** Reverse SQL. */
  down: string;
  /** The schemas diffed: what the migrations produce, and what the schema says (null: nothing). */
  before: DiffSide;
  after: DiffSide;
}

/**
 * The world an owner's schema lives in: core and its dependencies at their current state,
 * plus the owner itself as `ownText` (null: the owner absent, i.e. before its first migration).
 */
export function world(project: Project, owner: Owner, current: Map<string, string>, ownText: string | null, ownPath?: string): Composed | null {
  // A snapshot is named as itself in messages: its text may differ from the schema file's.
  const own = () => {
    const source = ownerSource(project, owner, ownText!);
    return ownPath ? { ...source, file: { ...source.file, path: relativePath(project, ownPath) } } : source;
  };
  if (owner.kind === 'core') {
    if (ownText === null || ownText.trim() === '') return null;
    return compose([own()]);
  }
  const sources = [project.core, ...transitiveDependencies(owner, project)].map((o) => ownerSource(project, o, current.get(o.name)!));
  if (ownText !== null) sources.push(own());
  return compose(sources);
}

const sideOf = (c: Composed | null): DiffSide => (c ? c.files : 'empty');

export const emptyOwnership = (): Ownership => ({ blocks: new Map(), tables: new Map(), columns: new Map(), enumTypes: new Map(), extended: new Map(), modelOfTable: new Map(), extenders: new Map(), enumUsers: new Map() });

/**
 * Diffs one owner from what its migrations produce (`snapshot`) to what its schema says now,
 * both ways, and refuses SQL that would touch another owner's objects.
 */
export async function diffOwner(
  engine: DiffEngine,
  project: Project,
  owner: Owner,
  current: Map<string, string>,
  snapshot: string | null,
  everyone?: Ownership,
  snapshotPath?: string,
): Promise<OwnerDiff> {
  const before = world(project, owner, current, snapshot, snapshotPath);
  const after = world(project, owner, current, current.get(owner.name)!);
  const up = await engine.diff(sideOf(before), sideOf(after));
  if (up === '') return { owner: owner.name, up: '', down: '', before: sideOf(before), after: sideOf(after) };
  const down = restoreEnumOrder(await engine.diff(sideOf(after), sideOf(before)), enumOrders(before), enumOrders(after));
  const ob = before?.ownership ?? emptyOwnership();
  const oa = after?.ownership ?? emptyOwnership();
  // Whole tables first: they say most about what went wrong.
  // An SQLite table rebuild is checked against the table as it was: the whole schema of the
  // side the script starts from, written out by the engine (only when there is a rebuild).
  const rebuilds = (sql: string) => /\bCREATE\s+TABLE\s+"new_/i.test(sql);
  const upFrom = rebuilds(up) ? await engine.diff('empty', sideOf(before)) : undefined;
  const downFrom = rebuilds(down) ? await engine.diff('empty', sideOf(after)) : undefined;
  const provider = scanProvider((after ?? before)!.merged, relativePath(project, project.core.schemaPath)) ?? 'postgresql';
  const found = await Promise.all([findViolations(up, owner.name, ob, oa, everyone, upFrom, provider), findViolations(down, owner.name, oa, ob, undefined, downFrom, provider)]);
  const violations = found.flat().sort(
    (a, b) => Number(!a.object.startsWith('table')) - Number(!b.object.startsWith('table')),
  );
  if (violations.length > 0) {
    const v = violations[0]!;
    const who = owner.kind === 'core' ? 'core' : `extension "${owner.name}"`;
    if (v.unrecognised) {
      throw new CheckError(
        `The migration for ${who} contains ${v.object}, which the ownership guard cannot check (statement: ${v.statement.slice(0, 160)}); ` +
          `write that change by hand in a migration made with \`orchestrate revision --empty\`, or report the statement if Prisma generated it.`,
        { code: 'ownership', owner: owner.name },
      );
    }
    if (v.recreatesEnumOf) {
      throw new CheckError(
        `The migration for ${who} would recreate ${v.object} (removing values does that), but columns of ${v.recreatesEnumOf.map((o) => `extension "${o}"`).join(', ')} use it and would block or lose it (statement: ${v.statement.slice(0, 160)}); ` +
          `keep the values, or first move those columns off the enum in their own migrations.`,
        { code: 'ownership', owner: owner.name },
      );
    }
    if (v.dropsExtensionOf) {
      throw new CheckError(
        `The migration for ${who} would drop ${v.object}, and with it the columns extension "${v.dropsExtensionOf}" adds to it (statement: ${v.statement.slice(0, 160)}); ` +
          `keep the table (renaming it with @@map recreates it), or first uninstall "${v.dropsExtensionOf}" (\`orchestrate downgrade --extension ${v.dropsExtensionOf} --target base\`) and remove its \`extend model\`.`,
        { code: 'ownership', owner: owner.name },
      );
    }
    throw new CheckError(
      `The migration for ${who} would change ${v.object}, which belongs to ${v.owner === 'core' ? 'core' : `extension "${v.owner}"`} (statement: ${v.statement.slice(0, 160)}); ` +
        `an owner may only change its own models, enums and the fields it adds with \`extend model\` — move that change to its owner's schema.` +
        (violations.length > 1 ? ` (${violations.length - 1} more such statement(s).)` : ''),
      { code: 'ownership', owner: owner.name },
    );
  }
  return { owner: owner.name, up, down, before: sideOf(before), after: sideOf(after) };
}

/**
 * The leading comment lines of a new migration.sql: `-- orchestrate:requires` (latest migration
 * of core and each dependency) and `-- orchestrate:parent` (the owner's migration it was
 * generated from; two for a merge). Both are covered by the checksum.
 */
export function requirementsHeader(requires: Requirement[], parents: string[] = []): string {
  return requires.map((r) => `-- orchestrate:requires ${r.owner} ${r.migration}\n`).join('') + parents.map((p) => `-- orchestrate:parent ${p}\n`).join('');
}

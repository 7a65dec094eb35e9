/**
 * Revision as a use case: a plan (what each owner's new migration would hold, as data) and a
 * separate write step. The command in src/commands/revision.ts only words the results.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadSettings } from '../config/settings.js';
import { removeAbandoned } from '../db/abandoned.js';
import { explicitDatabaseUrl } from '../db/url.js';
import type { DiffEngine, DiffSide } from '../engine/engine.js';
import { CheckError, InterruptedError, UsageError, throwProblems, type Problem } from '../errors.js';
import { DOWN_SQL, LOCK_FILE, MIGRATION_SQL, SNAPSHOT, lockFileContent, nextMigrationName, readMigrations, slugify, type MigrationFiles, type Requirement } from '../migrations/folder.js';
import { findFork, forkMessage, type Fork } from '../migrations/heads.js';
import { columnTypes, dataLoss, type DataLoss } from '../plan/data-loss.js';
import type * as PlanModule from '../plan/revision.js';
import type { Transfer } from '../plan/transfer.js';
import { assertInsideRoot, loadProject, selectOwners, transitiveDependencies, type Owner, type Project, type Selection } from '../project/project.js';
import { assertSameProvider, coreSchemaProvider, type Provider } from '../project/provider.js';
import type { Composed } from '../schema/compose.js';
import { ownerSource, readOwnerHistory, readSchemaText, relativePath, type OwnerHistory } from '../schema/sources.js';
import { databaseSourceOf, type RunContext } from './context.js';

export interface RevisionOptions extends Selection {
  /** Migration name (slugified); default `init` for a first migration, else `migration` (`merge` with `merge`). */
  name?: string;
  /** A blank migration for hand-written SQL. */
  empty?: boolean;
  /** Replace each owner's migrations by one fresh initial migration. */
  regenerate?: boolean;
  /** With `regenerate`: even when some of them are applied in the database. */
  force?: boolean;
  /** Plan only, to report owners with changes without a migration. */
  check?: boolean;
  /** Join an owner's two heads with a merge migration. */
  merge?: boolean;
  engine?: 'wasm' | 'prisma-cli';
  /** Called as each owner is diffed, in order. */
  onProgress?: (event: RevisionProgress) => void;
  /** Stops planning between owners (the engine is closed, nothing is written). */
  signal?: AbortSignal;
}

/** The run starts (the project is read), then each owner is diffed. */
export type RevisionProgress = RevisionStart | RevisionOwnerDone;

export interface RevisionStart {
  kind: 'start';
  /** Selected owners, and those whose schema differs from their latest snapshot. */
  owners: number;
  changed: number;
}

export interface RevisionOwnerDone {
  kind: 'owner';
  owner: string;
  /** 1-based position among the selected owners, and their number. */
  index: number;
  total: number;
  /** `pending`: it has changes (or a merge) to write. */
  status: 'pending' | 'unchanged';
  statements: number;
  durationMs: number;
}

/** A statement of a new migration that loses data (or fails when data is in the way). */
export interface DataLossWarning extends DataLoss {
  code: 'data-loss';
  owner: string;
}

export interface RevisionEntry {
  owner: string;
  status: 'created' | 'merged' | 'unchanged' | 'pending';
  migration?: string;
  path?: string;
  statements?: number;
  replaced?: string[];
  /** The heads a merge migration joins. */
  parents?: string[];
}

export interface RevisionData {
  check: boolean;
  owners: RevisionEntry[];
  /** Statements that lose data, per owner, in owner order. */
  warnings: DataLossWarning[];
  /** What `revision --check` found (schema changes without a migration). */
  problems: Problem[];
}

export interface Planned {
  owner: Owner;
  history: OwnerHistory;
  up: string;
  down: string;
  snapshot: string;
  /** The owner's migrations the new one follows (none for a first or regenerated migration). */
  parents: string[];
  merge: boolean;
  warnings: DataLossWarning[];
  /** The side a diffed migration starts from (for the types its casts start from). */
  before?: DiffSide;
}

/** What a revision run would write, computed without writing anything. */
export interface RevisionPlan {
  project: Project;
  selected: Owner[];
  /** Owners with a change, and their forward and reverse SQL. */
  planned: Planned[];
  folders: FolderCache;
  options: RevisionOptions;
  /** The core datasource's provider, written into each new folder's migration_lock.toml. */
  provider: Provider;
}

const EMPTY_MIGRATION = '-- This is an empty migration.\n';

/**
 * Composition and the planner load the schema parser (a large part of start-up): they are
 * imported once the run has said what it is about to do, so that the first line shows at once.
 */
const loadPlanner = (): Promise<[typeof import('../schema/compose.js'), typeof PlanModule, typeof import('../plan/transfer.js')]> =>
  Promise.all([import('../schema/compose.js'), import('../plan/revision.js'), import('../plan/transfer.js')]);
const ownerFlag = (o: Owner) => (o.kind === 'core' ? '--core' : `--extension ${o.name}`);

/** Statements of a script, not counting comments. */
export function statementCount(sql: string): number {
  return sql.split(/;\s*$/m).filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '').length;
}

function explicitUrl(ctx: RunContext): string | undefined {
  return explicitDatabaseUrl({ url: ctx.globals.url, env: ctx.env })?.url;
}

/** Loads the engine chosen, once for the whole run. */
async function startEngine(ctx: RunContext, choice: RevisionOptions['engine'], provider: Provider): Promise<DiffEngine> {
  // A diff of SQLite schemas needs no database: the URL (a file) is not given to the engine.
  const url = provider === 'sqlite' ? undefined : explicitUrl(ctx);
  if (choice === 'prisma-cli') {
    if (provider === 'sqlite') throw new UsageError('--engine prisma-cli is only wired for PostgreSQL projects; leave it out on SQLite, where the in-process engine diffs with no database at all.');
    const { startPrismaCliEngine } = await import('../engine/prisma-cli.js');
    return startPrismaCliEngine({ url, cwd: ctx.root });
  }
  const { startWasmEngine } = await import('../engine/engine.js');
  return startWasmEngine({ url, provider });
}

function validateFlags(opts: RevisionOptions): void {
  if (opts.check && (opts.empty || opts.regenerate || opts.merge)) throw new UsageError('--check only reports; it cannot be combined with --empty, --regenerate or --merge.');
  if (opts.merge && (opts.empty || opts.regenerate)) throw new UsageError('--merge writes a merge migration of its own; it cannot be combined with --empty or --regenerate.');
  if (opts.empty && opts.regenerate) throw new UsageError('--empty and --regenerate do not go together: --regenerate writes the full schema as one migration.');
  if (opts.force && !opts.regenerate) throw new UsageError('--force only applies to --regenerate.');
  if (opts.name !== undefined && slugify(opts.name) === '') throw new UsageError(`-m ${JSON.stringify(opts.name)} has no letters or digits to name a migration folder with; use e.g. -m add_invoices.`);
}

function interrupted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new InterruptedError(`Interrupted ${what}; nothing was written.`);
}

/**
 * What adopted histories (latest migration without a snapshot) produce, replayed in a shadow.
 * The replay (and the schema parser it loads) is only imported when some owner needs it: a
 * project with snapshots starts printing progress at once.
 */
async function adoptedSnapshots(project: Project, selected: Owner[]): Promise<Map<string, string>> {
  const adopted = project.owners.some((o) => {
    const latest = readMigrations(o.migrationsDir).at(-1);
    return latest !== undefined && !existsSync(latest.snapshotPath);
  });
  if (!adopted) return new Map();
  const { replayedSnapshots } = await import('../shadow/produce.js');
  return replayedSnapshots(project, selected);
}

/** Everything `revision` does short of writing: flags, reading, composing, heads, diffing, the guard. */
export async function planRevisionRun(ctx: RunContext, opts: RevisionOptions): Promise<RevisionPlan> {
  validateFlags(opts);
  const project = loadProject(loadSettings(ctx.root), { extensions: ctx.globals.extensions, env: ctx.env });
  const selected = selectOwners(project, opts);
  const current = new Map(project.owners.map((o) => [o.name, readSchemaText(project, o)]));
  // An adopted history has no snapshot: what it produces comes from replaying it in a shadow.
  const folders = folderCache(project, opts.regenerate ? new Map() : await adoptedSnapshots(project, selected));
  const histories = new Map(selected.map((o) => [o.name, folders.history(o)]));
  // New migrations are written for the core datasource's provider; folders written for another
  // one are refused, as Prisma Migrate refuses them.
  const provider = (await coreSchemaProvider(project)) ?? 'postgresql';
  for (const owner of selected) assertSameProvider(owner, (file) => relativePath(project, file), provider);

  // An owner with two heads: its latest snapshot holds one branch only, so a diff from it would
  // repeat the other branch's change. Only a merge may go on.
  const forks = new Map<string, Fork>();
  for (const owner of selected) {
    if (opts.regenerate) continue;
    const fork = findFork(histories.get(owner.name)!.migrations);
    if (fork) forks.set(owner.name, fork);
  }
  if (!opts.merge && forks.size > 0) {
    const problems: Problem[] = selected.filter((o) => forks.has(o.name)).map((o) => ({ code: 'multiple-heads', owner: o.name, message: forkMessage(o.name, ownerFlag(o), forks.get(o.name)!) }));
    throw new CheckError(problems.map((p) => p.message).join('\n'), { problems });
  }
  if (opts.merge && forks.size === 0) {
    throw new UsageError(`Nothing to merge: ${selected.length === 1 ? `${selected[0]!.name} has` : `each of the ${selected.length} selected owners has`} one head; run \`orchestrate revision\` without --merge to generate a migration.`);
  }

  const changed = opts.merge
    ? selected.filter((o) => forks.has(o.name))
    : selected.filter((o) => opts.regenerate || opts.empty || histories.get(o.name)!.snapshot !== current.get(o.name));
  opts.onProgress?.({ kind: 'start', owners: selected.length, changed: changed.length });
  const [{ compose, validateComposed }, { diffOwner }, transfer] = await loadPlanner();
  // The engine loads while the whole enabled schema is validated; bad input is reported first
  // (the engine is then closed unused).
  const needsEngine = !opts.empty && changed.length > 0 && !(opts.regenerate && !opts.force);
  let starting: Promise<DiffEngine> | null = needsEngine ? startEngine(ctx, opts.engine, provider) : null;
  starting?.catch(() => {});
  const closeStarting = async () => {
    const e = starting;
    starting = null;
    await e?.then((x) => x.close()).catch(() => {});
  };
  let all: Composed;
  const snapshots = new Map(project.owners.map((o) => [o.name, latestSnapshot(folders, o)]));
  let transfers: Transfer[] = [];
  try {
    all = compose(project.owners.map((o) => ownerSource(project, o, current.get(o.name)!)));
    await validateComposed(all);
    refuseReservedTables(project, all);
    if (opts.regenerate) refuseOrphanedRequirements(project, folders, selected, histories);
    // Models that moved between owners (see applyTransfers); refused moves stop here, before any diff.
    if (!opts.regenerate && !opts.empty && !opts.merge) {
      const found = transfer.findTransfersOf(project, selected, snapshots, all.ownership);
      throwProblems(found.problems, CheckError);
      transfers = found.transfers;
    }
  } catch (error) {
    await closeStarting();
    throw error;
  }
  // Who extends which model and uses which enum, across every enabled owner: an owner's own
  // world does not show it.
  const everyone = all.ownership;
  // (Without --force this opens the database, so the engine waits for it: the embedded one has one opener.)
  if (opts.regenerate && !opts.force) await refuseAppliedRegeneration(ctx, project, selected, histories);
  if (opts.signal?.aborted) await closeStarting();
  interrupted(opts.signal, 'before diffing');
  const engine: DiffEngine | null = starting ? await starting : !opts.empty && changed.length > 0 ? await startEngine(ctx, opts.engine, provider) : null;
  const planned: Planned[] = [];
  const changedNames = new Set(changed.map((o) => o.name));
  try {
    let index = 0;
    for (const owner of selected) {
      index++;
      interrupted(opts.signal, `while diffing ${owner.name}`);
      const started = performance.now();
      const history = histories.get(owner.name)!;
      const head = history.migrations.at(-1)?.name;
      const progress = (p: Planned | null) =>
        opts.onProgress?.({ kind: 'owner', owner: owner.name, index, total: selected.length, status: p ? 'pending' : 'unchanged', statements: p && !p.merge ? statementCount(p.up) : 0, durationMs: performance.now() - started });
      if (!changedNames.has(owner.name)) {
        progress(null);
        continue;
      }
      let p: Planned | null = null;
      if (opts.merge) {
        p = await planMerge(engine!, project, owner, current, history, forks.get(owner.name)!);
      } else if (opts.empty) {
        p = { owner, history, up: EMPTY_MIGRATION, down: EMPTY_MIGRATION, snapshot: history.snapshot ?? '', parents: head ? [head] : [], merge: false, warnings: [] };
      } else {
        const diff = await diffOwner(engine!, project, owner, current, opts.regenerate ? null : history.snapshot, everyone, history.migrations.at(-1)?.snapshotPath);
        if (diff.up !== '') {
          p = { owner, history, up: diff.up, down: diff.down, snapshot: current.get(owner.name)!, parents: head && !opts.regenerate ? [head] : [], merge: false, warnings: [], before: diff.before };
        }
      }
      if (p) planned.push(p);
      progress(p);
    }
    if (engine) await applyTransfers(engine, project, transfers, snapshots, current, planned, provider);
    // Warnings about the SQL as it will be written (a handed-over table is not dropped).
    for (const p of planned) if (p.before !== undefined) p.warnings = await lossOf(engine!, p.owner, p.up, p.before);
    if (!opts.check && !opts.merge && engine) await refuseUnmigratedWorld(engine, project, folders, selected, current, planned);
  } finally {
    await engine?.close();
  }
  return { project, selected, planned, folders, options: opts, provider };
}

/**
 * A model that moved between owners is handed over instead of dropped and created again (see
 * plan/transfer.ts): the giving owner keeps the table, the receiving one creates it only where
 * it does not exist. Refused, before anything is written, when the move cannot be done that way.
 */
async function applyTransfers(engine: DiffEngine, project: Project, transfers: Transfer[], snapshots: Map<string, string | null>, current: Map<string, string>, planned: Planned[], provider: Provider): Promise<void> {
  if (transfers.length === 0) return;
  const [, , { changedWhileMoving, createTransferredIfMissing, keepTransferred }] = await loadPlanner();
  throwProblems(await changedWhileMoving(engine, project, transfers, snapshots, current), CheckError);
  for (const p of planned) {
    const given = transfers.filter((t) => t.from === p.owner.name);
    const taken = transfers.filter((t) => t.to === p.owner.name);
    if (given.length > 0) {
      p.up = keepTransferred(p.up, given);
      p.down = createTransferredIfMissing(p.down, given, provider, 'restore');
    }
    if (taken.length > 0) p.up = createTransferredIfMissing(p.up, taken, provider, 'receive');
  }
}

/** An owner's latest snapshot, or null when it has none (no migrations yet, or an adopted history). */
function latestSnapshot(folders: FolderCache, owner: Owner): string | null {
  try {
    return folders.history(owner).snapshot ?? null;
  } catch {
    return null;
  }
}

/** The data-loss warnings of a new migration; the column types it casts from come from the side it starts on. */
async function lossOf(engine: DiffEngine, owner: Owner, up: string, before: DiffSide): Promise<DataLossWarning[]> {
  const casts = /\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b/i.test(up);
  const types = casts && before !== 'empty' ? columnTypes(await engine.diff('empty', before)) : undefined;
  return dataLoss(up, types).map((w) => ({ code: 'data-loss', owner: owner.name, ...w }));
}

/** The statements of a script, whitespace and comments aside, in a stable order. */
function statementSet(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/--[^\n]*/g, '').replace(/\s+/g, ' ').trim())
    .filter((s) => s !== '')
    .sort();
}

/**
 * A merge migration joins two heads. It changes nothing by itself, so it is only right when
 * both branches together give the current schema; with snapshots that is checked by
 * composition: from one head's snapshot to the schema must be exactly the other branch's
 * change (from where they forked to its head), and the other way round.
 */
async function planMerge(engine: DiffEngine, project: Project, owner: Owner, current: Map<string, string>, history: OwnerHistory, fork: Fork): Promise<Planned> {
  const schemaFile = relativePath(project, owner.schemaPath);
  if (fork.heads.length !== 2) {
    throw new UsageError(`${owner.name} has ${fork.heads.length} heads (${fork.heads.join(', ')}); a merge joins two: keep two of them (move the other folders aside), merge, then bring the others back and merge again.`);
  }
  const byName = new Map(history.migrations.map((m) => [m.name, m]));
  const snapshotOf = (name: string | null): string | null => {
    if (name === null) return null;
    const file = byName.get(name)!.snapshotPath;
    if (!existsSync(file)) {
      throw new UsageError(`Cannot merge ${owner.name}'s heads: ${relativePath(project, byName.get(name)!.dir)} has no snapshot.prisma, so orchestrate cannot tell what that branch produces; restore it from version control, or write the merge by hand with two \`-- orchestrate:parent\` lines.`);
    }
    return readFileSync(file, 'utf8');
  };
  const [a, b] = fork.heads as [string, string];
  const [, { world }] = await loadPlanner();
  const side = (text: string | null, file?: string) => {
    const w = world(project, owner, current, text, file);
    return w ? w.files : 'empty';
  };
  const [base, sa, sb] = [snapshotOf(fork.base), snapshotOf(a), snapshotOf(b)];
  const now = side(current.get(owner.name)!);
  const branchA = await engine.diff(side(base), side(sa));
  const branchB = await engine.diff(side(base), side(sb));
  const fromA = await engine.diff(side(sa), now);
  const fromB = await engine.diff(side(sb), now);
  const same = (x: string, y: string) => JSON.stringify(statementSet(x)) === JSON.stringify(statementSet(y));
  if (!same(fromA, branchB) || !same(fromB, branchA)) {
    throw new CheckError(
      `Cannot merge ${owner.name}'s heads ${a} and ${b}: ${schemaFile} is not what the two branches give together (it has changes of its own, or both branches changed the same objects); make ${schemaFile} what both branches left it, merge, then generate further changes with \`orchestrate revision ${ownerFlag(owner)}\`.`,
      { code: 'multiple-heads', owner: owner.name },
    );
  }
  const up = `-- Merge migration: joins ${a} and ${b}, which together give the schema; it changes nothing.\n${EMPTY_MIGRATION}`;
  return { owner, history, up, down: EMPTY_MIGRATION, snapshot: current.get(owner.name)!, parents: [a, b], merge: true, warnings: [] };
}

/** `revision --check`: owners with schema changes without a migration, as problems. */
export function checkData(plan: RevisionPlan): RevisionData {
  const pending = new Set(plan.planned.map((p) => p.owner.name));
  const problems: Problem[] = plan.planned.map((p) => {
    const file = relativePath(plan.project, p.owner.schemaPath);
    return { code: 'pending-changes', owner: p.owner.name, file, message: `${p.owner.name}: ${file} has changes without a migration; run \`orchestrate revision ${ownerFlag(p.owner)} -m <name>\`.` };
  });
  return {
    check: true,
    owners: plan.selected.map((o) => ({ owner: o.name, status: pending.has(o.name) ? 'pending' : 'unchanged' })),
    warnings: plan.planned.flatMap((p) => p.warnings),
    problems,
  };
}

/**
 * An extension migration records the latest core and dependency migrations it was generated
 * against. If core or a dependency has schema changes without a migration (and is not being
 * revised in this run), the new migration could rely on them while naming an older migration:
 * refuse, and say how to include them.
 */
async function refuseUnmigratedWorld(engine: DiffEngine, project: Project, folders: FolderCache, selected: Owner[], current: Map<string, string>, planned: Planned[]): Promise<void> {
  const selectedNames = new Set(selected.map((o) => o.name));
  const checked = new Map<string, boolean>();
  const [, { diffOwner }] = await loadPlanner();
  for (const p of planned) {
    if (p.owner.kind !== 'extension') continue;
    for (const dep of [project.core, ...transitiveDependencies(p.owner, project)]) {
      if (selectedNames.has(dep.name)) continue;
      if (!checked.has(dep.name)) {
        const snapshot = folders.history(dep).snapshot;
        const pending = snapshot !== current.get(dep.name) && (await diffOwner(engine, project, dep, current, snapshot)).up !== '';
        checked.set(dep.name, pending);
      }
      if (checked.get(dep.name)) {
        throw new CheckError(
          `${dep.name} has schema changes without a migration, and ${p.owner.name}'s new migration would be generated against them; include it (\`orchestrate revision ${ownerFlag(dep)} --extension ${p.owner.name}\`, or --all) so that ${p.owner.name}'s migration can require it.`,
          { code: 'pending-changes', owner: dep.name },
        );
      }
    }
  }
}

/** Prefix of the folders and files a revision is still writing, in the migrations folder itself. */
export const TEMP_PREFIX = '.orchestrate-tmp-';

/** Removes what an earlier revision left half-written when it was killed (its process is gone). */
export function removeStaleTemporaries(migrationsDir: string): string[] {
  return removeAbandoned(migrationsDir, TEMP_PREFIX, '-');
}

/**
 * Writes the migrations of a plan. Each folder is written under a temporary name in its
 * migrations folder and renamed into place once complete, so that an interruption (the signal,
 * or the process killed) leaves every migration complete or absent. Readers skip dot folders;
 * the next run removes those of processes that are gone.
 */
export async function writeRevisionRun(plan: RevisionPlan, options: { signal?: AbortSignal } = {}): Promise<RevisionData> {
  const { project, folders, selected, planned, options: opts, provider } = plan;
  const latest = new Map<string, string | undefined>(project.owners.map((o) => [o.name, folders.migrations(o).at(-1)?.name]));
  const entries = new Map<string, RevisionEntry>(selected.map((o) => [o.name, { owner: o.name, status: 'unchanged' }]));
  const [, { requirementsHeader }] = await loadPlanner();
  const result = (): RevisionData => ({ check: false, owners: [...entries.values()], warnings: planned.flatMap((p) => p.warnings), problems: [] });
  for (const p of planned) assertInsideRoot(project.settings, p.owner.migrationsDir, `The migrations folder of ${p.owner.name}`);
  for (const p of planned) removeStaleTemporaries(p.owner.migrationsDir);
  for (const p of planned) {
    const existing = opts.regenerate ? [] : p.history.migrations.map((m) => m.name);
    const slug = slugify(opts.name ?? (opts.merge ? 'merge' : existing.length === 0 ? 'init' : 'migration'));
    const dir = p.owner.migrationsDir;
    mkdirSync(dir, { recursive: true });
    // A folder taken meanwhile (another revision in the same second) is never overwritten.
    let name = nextMigrationName(existing, slug);
    while (existsSync(path.join(dir, name))) name = nextMigrationName([...existing, name], slug);
    const requires: Requirement[] = [];
    if (p.owner.kind === 'extension') {
      for (const dep of [project.core, ...transitiveDependencies(p.owner, project)]) {
        const m = latest.get(dep.name);
        if (m) requires.push({ owner: dep.name, migration: m });
      }
    }
    const temp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${name}`);
    try {
      if (options.signal?.aborted) throw new InterruptedError('interrupted');
      await mkdir(temp);
      await writeFile(path.join(temp, MIGRATION_SQL), requirementsHeader(requires, p.parents) + p.up);
      await writeFile(path.join(temp, DOWN_SQL), p.down);
      await writeFile(path.join(temp, SNAPSHOT), p.snapshot);
      const lock = path.join(dir, LOCK_FILE);
      const lockTemp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${LOCK_FILE}`);
      const needsLock = !existsSync(lock);
      if (needsLock) await writeFile(lockTemp, lockFileContent(provider));
      if (options.signal?.aborted) throw new InterruptedError('interrupted');
      // From here to the end of the block nothing awaits, so a signal cannot land halfway.
      const replaced = opts.regenerate ? p.history.migrations : [];
      const parked = replaced.map((m) => {
        const to = path.join(dir, `${TEMP_PREFIX}${process.pid}-old-${m.name}`);
        renameSync(m.dir, to);
        return to;
      });
      if (needsLock) renameSync(lockTemp, lock);
      renameSync(temp, path.join(dir, name));
      for (const old of parked) rmSync(old, { recursive: true, force: true });
      latest.set(p.owner.name, name);
      entries.set(p.owner.name, {
        owner: p.owner.name,
        status: p.merge ? 'merged' : 'created',
        migration: name,
        path: relativePath(project, path.join(dir, name)),
        statements: p.merge ? 0 : statementCount(p.up),
        ...(replaced.length ? { replaced: replaced.map((m) => m.name) } : {}),
        ...(p.merge ? { parents: p.parents } : {}),
      });
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      rmSync(path.join(dir, `${TEMP_PREFIX}${process.pid}-${LOCK_FILE}`), { force: true });
      if (error instanceof InterruptedError || options.signal?.aborted) {
        const done = [...entries.values()].filter((e) => e.status === 'created' || e.status === 'merged');
        throw new InterruptedError(
          `Interrupted while writing ${p.owner.name}'s migration, which was not written${done.length ? `; written before: ${done.map((e) => e.path).join(', ')}` : ''}; run the same command again to write the rest.`,
          { result: result() },
        );
      }
      throw error;
    }
  }
  return result();
}

/** `--regenerate` replaces history; refuse when the target database has any of it applied. */
async function refuseAppliedRegeneration(ctx: RunContext, project: Project, selected: Owner[], histories: Map<string, OwnerHistory>): Promise<void> {
  const { appliedMigrationNames } = await import('../db/applied.js');
  for (const owner of selected) {
    const names = histories.get(owner.name)!.migrations.map((m) => m.name);
    if (names.length === 0) continue;
    const applied = await appliedMigrationNames(databaseSourceOf(ctx), project, owner);
    const hit = names.filter((n) => applied.has(n));
    if (hit.length > 0) {
      throw new CheckError(
        `Refusing to regenerate ${owner.name}: ${hit.length} of its migrations (${hit.slice(0, 3).join(', ')}${hit.length > 3 ? ', ...' : ''}) are applied in the target database; roll them back first (\`orchestrate downgrade ${ownerFlag(owner)} --target base\`) or pass --force if you will rebuild that database.`,
      );
    }
  }
}

/** History tables are the tool's own: a model mapped onto one would corrupt the history. */
function refuseReservedTables(project: Project, all: Composed): void {
  const prefix = project.settings.historyTablePrefix;
  for (const [table, owner] of all.ownership.tables) {
    if (table === prefix || table.startsWith(`${prefix}_`)) {
      const o = project.owners.find((x) => x.name === owner)!;
      throw new UsageError(
        `${relativePath(project, o.schemaPath)}: a model of ${owner} is mapped to the table "${table}", which is reserved for migration history (prefix "${prefix}"); choose another @@map name.`,
      );
    }
  }
}

/**
 * `--regenerate` deletes an owner's migrations; other owners' migrations that require one of
 * them would then name a migration that no longer exists. Those owners must be regenerated in
 * the same run (their new migrations then require the new one).
 */
function refuseOrphanedRequirements(project: Project, folders: FolderCache, selected: Owner[], histories: Map<string, OwnerHistory>): void {
  const regenerated = new Set(selected.map((o) => o.name));
  const replaced = new Set(selected.flatMap((o) => histories.get(o.name)!.migrations.map((m) => `${o.name}/${m.name}`)));
  if (replaced.size === 0) return;
  const hits: string[] = [];
  const dependents = new Set<string>();
  for (const other of [project.core, ...project.discovered.values()]) {
    if (regenerated.has(other.name)) continue;
    for (const m of folders.migrations(other)) {
      for (const r of m.requires) {
        if (!replaced.has(`${r.owner}/${r.migration}`)) continue;
        hits.push(`${relativePath(project, path.join(m.dir, MIGRATION_SQL))} requires ${r.owner}/${r.migration}`);
        dependents.add(other.name);
      }
    }
  }
  if (hits.length === 0) return;
  const owners = [...dependents];
  throw new UsageError(
    `Cannot regenerate: ${hits.slice(0, 3).join('; ')}${hits.length > 3 ? `; and ${hits.length - 3} more` : ''}, which would no longer exist; regenerate the dependents in the same run (${owners.map((o) => `--extension ${o}`).join(' ')} --regenerate), or keep the history.`,
  );
}

export interface FolderCache {
  /** An owner's migration folders (no snapshot needed: names and requires only). */
  migrations(owner: Owner): MigrationFiles[];
  /** Its folders plus the snapshot of the latest one (an error when that snapshot is missing). */
  history(owner: Owner): OwnerHistory;
}

/** Reads each owner's migration folders once per run: several checks and the writer need them. */
function folderCache(project: Project, replayed = new Map<string, string>()): FolderCache {
  const lists = new Map<string, MigrationFiles[]>();
  const histories = new Map<string, OwnerHistory>();
  const migrations = (owner: Owner) => {
    let list = lists.get(owner.name);
    if (!list) lists.set(owner.name, (list = readMigrations(owner.migrationsDir)));
    return list;
  };
  return {
    migrations,
    history(owner) {
      let h = histories.get(owner.name);
      const produced = replayed.get(owner.name);
      if (!h) histories.set(owner.name, (h = produced !== undefined ? { migrations: migrations(owner), snapshot: produced } : readOwnerHistory(project, owner, migrations(owner))));
      return h;
    },
  };
}

// The public API: requests by owner name, plans as plain data.

export interface RevisionRequest {
  /** Owners to revise; omitted or empty means core and every enabled extension. */
  owners?: string[];
  /** Migration name (slugified); default `init` for a first migration, else `migration`. */
  name?: string;
  /** A blank migration for hand-written SQL. */
  empty?: boolean;
  /** Replace each owner's migrations by one fresh initial migration. */
  regenerate?: boolean;
  /** With `regenerate`: even when some of them are applied in the database. */
  force?: boolean;
  /** Join each selected owner's two heads with a merge migration. */
  merge?: boolean;
  engine?: 'wasm' | 'prisma-cli';
  onProgress?: (event: RevisionProgress) => void;
}

export interface RevisionOwnerPlan {
  owner: string;
  /** `pending`: the owner's schema has changes without a migration. */
  status: 'pending' | 'unchanged';
  /** Forward SQL of the new migration ('' when unchanged). */
  up: string;
  /** Reverse SQL (down.sql). */
  down: string;
  /** Statements of `up` that lose data. */
  warnings: DataLossWarning[];
}

export interface RevisionPlanData {
  owners: RevisionOwnerPlan[];
}

export type RevisionWritten = RevisionData;

/** The run's own plan behind each data plan handed out, for `writeRevision`. */
const internal = new WeakMap<RevisionPlanData, RevisionPlan>();

function selection(request: RevisionRequest): { core?: boolean; extension?: string[]; all?: boolean } {
  const owners = request.owners ?? [];
  if (owners.length === 0) return { all: true };
  return { core: owners.includes('core'), extension: owners.filter((o) => o !== 'core') };
}

/**
 * Diffs every selected owner and runs the ownership guard; writes nothing.
 *
 * @example
 *   const plan = await planRevision(ctx, { owners: ['billing'], name: 'add_invoices' });
 *   plan.owners.filter((o) => o.status === 'pending').map((o) => o.up);
 */
export async function planRevision(ctx: RunContext, request: RevisionRequest & { check?: boolean } = {}): Promise<RevisionPlanData> {
  const { owners: _owners, ...rest } = request;
  const plan = await planRevisionRun(ctx, { ...selection(request), ...rest });
  const byOwner = new Map(plan.planned.map((p) => [p.owner.name, p]));
  const data: RevisionPlanData = {
    owners: plan.selected.map((o) => {
      const p = byOwner.get(o.name);
      return { owner: o.name, status: p ? 'pending' : 'unchanged', up: p?.up ?? '', down: p?.down ?? '', warnings: p?.warnings ?? [] };
    }),
  };
  internal.set(data, plan);
  return data;
}

/**
 * Writes the migration folders of a plan made by `planRevision` (each owner with a change gets
 * one; nothing else is written).
 */
export async function writeRevision(plan: RevisionPlanData, options: { signal?: AbortSignal } = {}): Promise<RevisionWritten> {
  const planned = internal.get(plan);
  if (!planned) throw new TypeError('writeRevision takes a plan returned by planRevision of the same orchestrator.');
  if (planned.options.check) throw new TypeError('writeRevision cannot write a plan made for checking only.');
  return writeRevisionRun(planned, options);
}

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CheckError, UsageError, throwProblems } from '../errors.js';
import type { DiffEngine } from '../engine/engine.js';
import {
  DOWN_SQL,
  readMigrations,
  type MigrationFiles,
  LOCK_FILE,
  MIGRATION_SQL,
  SNAPSHOT,
  lockFileContent,
  nextMigrationName,
  slugify,
  type Requirement,
} from '../migrations/folder.js';
import { diffOwner, requirementsHeader } from '../plan/revision.js';
import { changedWhileMoving, createTransferredIfMissing, findTransfersOf, keepTransferred, type Transfer } from '../plan/transfer.js';
import { assertInsideRoot, selectOwners, transitiveDependencies, type Owner, type Project, type Selection } from '../project/project.js';
import { assertSameProvider, coreSchemaProvider, type Provider } from '../project/provider.js';
import { compose, validateComposed, type Composed } from '../schema/compose.js';
import { ownerSource, readOwnerHistory, readSchemaText, relativePath, type OwnerHistory } from '../schema/sources.js';
import { replayedSnapshots } from '../shadow/produce.js';
import { contextProject, databaseSource, explicitUrl, type CommandResult, type Context } from './context.js';

export interface RevisionOptions extends Selection {
  name?: string;
  empty?: boolean;
  regenerate?: boolean;
  force?: boolean;
  check?: boolean;
  engine?: 'wasm' | 'prisma-cli';
}

export interface RevisionEntry {
  owner: string;
  status: 'created' | 'unchanged' | 'pending';
  migration?: string;
  path?: string;
  statements?: number;
  replaced?: string[];
}

export interface RevisionData {
  check: boolean;
  owners: RevisionEntry[];
}

const EMPTY_MIGRATION = '-- This is an empty migration.\n';

/** Loads the engine the user chose, once for the whole command. */
async function startEngine(ctx: Context, choice: RevisionOptions['engine'], provider: Provider): Promise<DiffEngine> {
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
  if (opts.check && (opts.empty || opts.regenerate)) throw new UsageError('--check only reports; it cannot be combined with --empty or --regenerate.');
  if (opts.empty && opts.regenerate) throw new UsageError('--empty and --regenerate do not go together: --regenerate writes the full schema as one migration.');
  if (opts.force && !opts.regenerate) throw new UsageError('--force only applies to --regenerate.');
  if (opts.name !== undefined && slugify(opts.name) === '') throw new UsageError(`-m ${JSON.stringify(opts.name)} has no letters or digits to name a migration folder with; use e.g. -m add_invoices.`);
}

export interface Planned {
  owner: Owner;
  history: OwnerHistory;
  up: string;
  down: string;
  snapshot: string;
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

/**
 * `orchestrate revision`: for each selected owner, diff what its migrations produce against
 * its schema (the rest of its world held at the current state) and write one new migration.
 */
export async function revision(ctx: Context, opts: RevisionOptions): Promise<CommandResult<RevisionData>> {
  const plan = await planRevision(ctx, opts);
  if (opts.check) return checkResult(plan.project, plan.selected, plan.planned);
  return writeRevision(plan);
}

/** Writes the migrations of a plan; nothing else runs between the diffs and the writes. */
export function writeRevision(plan: RevisionPlan): CommandResult<RevisionData> {
  return write(plan.project, plan.folders, plan.selected, plan.planned, plan.options, plan.provider);
}

/** Everything `revision` does short of writing: flags, reading, composing, diffing, the guard. */
export async function planRevision(ctx: Context, opts: RevisionOptions): Promise<RevisionPlan> {
  validateFlags(opts);
  const project = contextProject(ctx);
  const selected = selectOwners(project, opts);
  const current = new Map(project.owners.map((o) => [o.name, readSchemaText(project, o)]));
  // An adopted history has no snapshot: what it produces comes from replaying it in a shadow.
  const folders = folderCache(project, opts.regenerate ? new Map() : await replayedSnapshots(project, selected));
  const histories = new Map(selected.map((o) => [o.name, folders.history(o)]));
  // New migrations are written for the core datasource's provider; folders written for another
  // one are refused, as Prisma Migrate refuses them.
  const provider = (await coreSchemaProvider(project)) ?? 'postgresql';
  for (const owner of selected) assertSameProvider(owner, (file) => relativePath(project, file), provider);

  const changed = selected.filter((o) => opts.regenerate || opts.empty || histories.get(o.name)!.snapshot !== current.get(o.name));
  // The engine (and its database connection) start while the whole schema is validated.
  // Validate the whole enabled schema first (fast), so bad input never waits for the engine.
  const all = compose(project.owners.map((o) => ownerSource(project, o, current.get(o.name)!)));
  await validateComposed(all);
  refuseReservedTables(project, all);
  // Who extends which model and uses which enum, across every enabled owner: an owner's own
  // world does not show it.
  const everyone = all.ownership;
  if (opts.regenerate) refuseOrphanedRequirements(project, folders, selected, histories);
  // Models that moved between owners (see writeTransfers); refused moves stop here, before any diff.
  const snapshots = new Map(project.owners.map((o) => [o.name, latestSnapshot(folders, o)]));
  const { transfers, problems: transferProblems } = opts.regenerate || opts.empty ? { transfers: [], problems: [] } : findTransfersOf(project, selected, snapshots, everyone);
  throwProblems(transferProblems, CheckError);
  if (opts.regenerate && !opts.force) await refuseAppliedRegeneration(ctx, project, selected, histories);
  const engine: DiffEngine | null = !opts.empty && changed.length > 0 ? await startEngine(ctx, opts.engine, provider) : null;
  const planned: Planned[] = [];
  try {
    for (const owner of changed) {
      const history = histories.get(owner.name)!;
      if (opts.empty) {
        planned.push({ owner, history, up: EMPTY_MIGRATION, down: EMPTY_MIGRATION, snapshot: history.snapshot ?? '' });
        continue;
      }
      const diff = await diffOwner(engine!, project, owner, current, opts.regenerate ? null : history.snapshot, everyone, history.migrations.at(-1)?.snapshotPath);
      if (diff.up !== '') planned.push({ owner, history, up: diff.up, down: diff.down, snapshot: current.get(owner.name)! });
    }
    if (engine) await writeTransfers(engine, project, transfers, snapshots, current, planned, provider);
    if (!opts.check && engine) await refuseUnmigratedWorld(engine, project, folders, selected, current, planned);
  } finally {
    await engine?.close();
  }
  return { project, selected, planned, folders, options: opts, provider };
}

function checkResult(project: Project, selected: Owner[], planned: Planned[]): CommandResult<RevisionData> {
  const pending = new Set(planned.map((p) => p.owner.name));
  const owners: RevisionEntry[] = selected.map((o) => ({ owner: o.name, status: pending.has(o.name) ? 'pending' : 'unchanged' }));
  const lines = planned.map(
    (p) => `${p.owner.name}: ${relativePath(project, p.owner.schemaPath)} has changes without a migration; run \`orchestrate revision ${p.owner.kind === 'core' ? '--core' : `--extension ${p.owner.name}`} -m <name>\`.`,
  );
  if (planned.length === 0) lines.push(`No changes: the migrations of ${selected.length} owner(s) match their schemas.`);
  return { data: { check: true, owners }, text: lines.join('\n'), exitCode: planned.length > 0 ? 3 : 0 };
}

/**
 * A model that moved between owners is handed over instead of dropped and created again (see
 * plan/transfer.ts): the giving owner keeps the table, the receiving one creates it only where
 * it does not exist. Refused, before anything is written, when the move cannot be done that way.
 */
async function writeTransfers(engine: DiffEngine, project: Project, transfers: Transfer[], snapshots: Map<string, string | null>, current: Map<string, string>, planned: Planned[], provider: Provider): Promise<void> {
  if (transfers.length === 0) return;
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

/**
 * An extension migration records the latest core and dependency migrations it was generated
 * against. If core or a dependency has schema changes without a migration (and is not being
 * revised in this run), the new migration could rely on them while naming an older migration:
 * refuse, and say how to include them.
 */
async function refuseUnmigratedWorld(engine: DiffEngine, project: Project, folders: FolderCache, selected: Owner[], current: Map<string, string>, planned: Planned[]): Promise<void> {
  const selectedNames = new Set(selected.map((o) => o.name));
  const checked = new Map<string, boolean>();
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
        const flag = dep.kind === 'core' ? '--core' : `--extension ${dep.name}`;
        throw new CheckError(
          `${dep.name} has schema changes without a migration, and ${p.owner.name}'s new migration would be generated against them; include it (\`orchestrate revision ${flag} --extension ${p.owner.name}\`, or --all) so that ${p.owner.name}'s migration can require it.`,
          { code: 'pending-changes', owner: dep.name },
        );
      }
    }
  }
}

function write(project: Project, folders: FolderCache, selected: Owner[], planned: Planned[], opts: RevisionOptions, provider: Provider): CommandResult<RevisionData> {
  const latest = new Map<string, string | undefined>(project.owners.map((o) => [o.name, folders.migrations(o).at(-1)?.name]));
  const entries = new Map<string, RevisionEntry>(selected.map((o) => [o.name, { owner: o.name, status: 'unchanged' }]));
  const lines: string[] = [];
  for (const p of planned) assertInsideRoot(project.settings, p.owner.migrationsDir, `The migrations folder of ${p.owner.name}`);
  // Writes are synchronous and happen after every diff succeeded: an error or Ctrl-C before
  // this point leaves the project untouched, and nothing can interrupt the loop halfway.
  for (const p of planned) {
    const existing = opts.regenerate ? [] : p.history.migrations.map((m) => m.name);
    const slug = slugify(opts.name ?? (existing.length === 0 ? 'init' : 'migration'));
    // A folder taken meanwhile (another revision in the same second) is never overwritten.
    mkdirSync(p.owner.migrationsDir, { recursive: true });
    let name = nextMigrationName(existing, slug);
    while (!tryMkdir(path.join(p.owner.migrationsDir, name))) name = nextMigrationName([...existing, name], slug);
    const requires: Requirement[] = [];
    if (p.owner.kind === 'extension') {
      for (const dep of [project.core, ...transitiveDependencies(p.owner, project)]) {
        const m = latest.get(dep.name);
        if (m) requires.push({ owner: dep.name, migration: m });
      }
    }
    const replaced = opts.regenerate ? p.history.migrations.map((m) => m.name) : [];
    for (const old of p.history.migrations.filter((m) => replaced.includes(m.name))) rmSync(old.dir, { recursive: true, force: true });
    const dir = path.join(p.owner.migrationsDir, name);
    const lock = path.join(p.owner.migrationsDir, LOCK_FILE);
    if (!existsSync(lock)) writeFileSync(lock, lockFileContent(provider));
    writeFileSync(path.join(dir, MIGRATION_SQL), requirementsHeader(requires) + p.up);
    writeFileSync(path.join(dir, DOWN_SQL), p.down);
    writeFileSync(path.join(dir, SNAPSHOT), p.snapshot);
    latest.set(p.owner.name, name);
    const statements = p.up.split(/;\s*$/m).filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '').length;
    entries.set(p.owner.name, { owner: p.owner.name, status: 'created', migration: name, path: relativePath(project, dir), statements, ...(replaced.length ? { replaced } : {}) });
    lines.push(`${p.owner.name}: created ${relativePath(project, dir)}${opts.empty ? ' (empty, for hand-written SQL)' : ` (${statements} statement${statements === 1 ? '' : 's'})`}${replaced.length ? `, replacing ${replaced.length} migration(s)` : ''}`);
  }
  if (planned.length === 0) lines.push(`No changes: the migrations of ${selected.length} owner(s) match their schemas.`);
  return { data: { check: false, owners: [...entries.values()] }, text: lines.join('\n') };
}

/** `--regenerate` replaces history; refuse when the target database has any of it applied. */
async function refuseAppliedRegeneration(ctx: Context, project: Project, selected: Owner[], histories: Map<string, OwnerHistory>): Promise<void> {
  const { appliedMigrationNames } = await import('../db/applied.js');
  for (const owner of selected) {
    const names = histories.get(owner.name)!.migrations.map((m) => m.name);
    if (names.length === 0) continue;
    const applied = await appliedMigrationNames(databaseSource(ctx), project, owner);
    const hit = names.filter((n) => applied.has(n));
    if (hit.length > 0) {
      throw new CheckError(
        `Refusing to regenerate ${owner.name}: ${hit.length} of its migrations (${hit.slice(0, 3).join(', ')}${hit.length > 3 ? ', ...' : ''}) are applied in the target database; roll them back first (\`orchestrate downgrade ${owner.kind === 'core' ? '--core' : `--extension ${owner.name}`} --target base\`) or pass --force if you will rebuild that database.`,
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

function tryMkdir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
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

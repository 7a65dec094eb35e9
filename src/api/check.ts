/**
 * `check` as a use case: every problem of the project and its database, as data. The command
 * in src/commands/check.ts only words the report.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildState, stateProblems } from '../apply/state.js';
import { readHistory } from '../db/history.js';
import type { Driver } from '../db/driver.js';
import { OrchestrateError, RuntimeError, UsageError, messageOf, type Problem } from '../errors.js';
import { MIGRATION_NAME, MisnamedMigrationsError, misnamedError, readMigrations, type MigrationFiles } from '../migrations/folder.js';
import { baselineOf, describeBaseline, type Baseline } from '../project/baseline.js';
import { loadProject, selectOwners, type Owner, type Project, type Selection } from '../project/project.js';
import { loadSettings } from '../config/settings.js';
import { compose, validateComposed, type Composed } from '../schema/compose.js';
import { ownerSource, readSchemaText, relativePath } from '../schema/sources.js';
import { databaseSourceOf, type RunContext } from './context.js';
import { planRevision } from './revision.js';
import { disabledExtensionWarnings, disabledHistoryTables, enabledWith, isStrict, uninstallCommand, type DisabledTable, type Warning } from './warnings.js';

export interface CheckReport {
  ok: boolean;
  /** Enabled owners, in project order. */
  owners: string[];
  /** Migration folders of those owners. */
  migrations: number;
  database: {
    checked: boolean;
    /** URL without password, or the embedded database's folder; null when none is configured. */
    location: string | null;
  };
  problems: Problem[];
  /**
   * Extension folders that are not enabled (their history tables, if any, are problems); empty
   * when strict, which makes them problems.
   */
  warnings: Warning[];
  /** What was skipped, and why; each owner's baseline, once. */
  notes: string[];
  /** Owners' baselines: their first migrations, which predate orchestrate (no down.sql, no snapshot). */
  baselines: Baseline[];
}

export interface CheckOptions extends Selection {
  /** Extensions that are not enabled are problems rather than warnings (also ORCHESTRATE_STRICT=1). */
  strict?: boolean;
}

const describe = (owner: Owner) => (owner.kind === 'core' ? '--core' : `--extension ${owner.name}`);

/** The problems an error carries, with `owner` filled in where the caller knows it. */
function problemsOf(error: OrchestrateError, owner?: string): Problem[] {
  return error.problems.map((p) => (p.owner === undefined && owner !== undefined ? { ...p, owner } : p));
}

/** Composition and Prisma validation of every enabled owner together, as `revision` does it. */
async function composeAll(project: Project, problems: Problem[]): Promise<Composed | null> {
  const texts = new Map<string, string>();
  for (const owner of project.owners) {
    try {
      texts.set(owner.name, readSchemaText(project, owner));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push(...problemsOf(error, owner.name));
    }
  }
  if (texts.size < project.owners.length) return null;
  try {
    const composed = compose(project.owners.map((o) => ownerSource(project, o, texts.get(o.name)!)));
    await validateComposed(composed);
    return composed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    problems.push(...problemsOf(error));
    return null;
  }
}

/** `lint.ignoreTables` of orchestrate.config.json: names, or globs with `*` and `?`. */
export function ignoredBy(patterns: string[]): (name: string) => boolean {
  const res = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (name) => res.some((re) => re.test(name));
}

/**
 * Extension tables and enum types carry their owner's name, so two extensions can never clash.
 * Tables adopted from an existing project keep their names: `lint.ignoreTables` leaves them alone.
 */
function lintNames(project: Project, composed: Composed, problems: Problem[]): void {
  const ignored = ignoredBy(project.settings.lintIgnoreTables);
  const byOwner = (map: Map<string, string>) => [...map.entries()].filter(([, owner]) => owner !== 'core').sort(([a], [b]) => (a < b ? -1 : 1));
  const kinds = [
    { code: 'table-prefix' as const, what: 'Table', names: composed.ownership.tables },
    { code: 'enum-prefix' as const, what: 'Enum type', names: composed.ownership.enumTypes },
  ];
  for (const { code, what, names } of kinds) {
    for (const [name, owner] of byOwner(names)) {
      if (name.startsWith(`${owner}_`) || ignored(name)) continue;
      const file = relativePath(project, project.discovered.get(owner)!.schemaPath);
      problems.push({
        code,
        owner,
        file,
        message: `${what} "${name}" of extension "${owner}" does not start with "${owner}_"; map it with @@map("${owner}_${name.toLowerCase()}") in ${file} so it cannot clash with core or another extension.`,
      });
    }
  }
}

/** Owners whose schema has changes without a migration, and what the guard refuses. */
async function pendingChanges(ctx: RunContext, project: Project, problems: Problem[]): Promise<void> {
  try {
    const plan = await planRevision(ctx, { check: true });
    for (const entry of plan.owners) {
      if (entry.status !== 'pending') continue;
      const owner = project.owners.find((o) => o.name === entry.owner)!;
      const file = relativePath(project, owner.schemaPath);
      problems.push({
        code: 'pending-changes',
        owner: owner.name,
        file,
        message: `${file} has changes without a migration; run \`orchestrate revision ${describe(owner)} -m <name>\`.`,
      });
    }
  } catch (error) {
    // The guard refusing a cross-owner change and unreadable migrations are findings; a broken
    // engine or database is not.
    if (error instanceof UsageError || (error instanceof OrchestrateError && error.exitCode === 3)) problems.push(...problemsOf(error));
    else throw error;
  }
}

/** One line of SQL for a message: statements without their `-- CreateIndex` style comments. */
function sqlLine(sql: string): string {
  return sql.split('\n').filter((l) => !/^\s*--/.test(l)).join(' ').replace(/\s+/g, ' ').trim();
}

/**
 * Drift: each selected owner's history replayed in a shadow database and compared with its
 * latest snapshot (or, for an adopted history without one, its schema). For an owner whose
 * schema is what differs, this replaces the pending-changes problem: it says the same, with SQL.
 */
async function drift(project: Project, owners: Owner[], problems: Problem[]): Promise<Set<string>> {
  const { findDrift } = await import('../shadow/drift.js');
  const current = new Map(project.owners.map((o) => [o.name, readSchemaText(project, o)]));
  let found;
  try {
    found = await findDrift(project, owners, current);
  } catch (error) {
    // A history that does not replay is a finding; a broken engine is not.
    if (!(error instanceof UsageError)) throw error;
    for (const p of problemsOf(error)) addOnce(problems, p);
    return new Set();
  }
  for (const d of found) {
    const owner = project.owners.find((o) => o.name === d.owner)!;
    const flag = describe(owner);
    const fix =
      d.against === 'schema'
        ? `\`orchestrate revision ${flag} -m <name>\` writes that migration (review it first with \`orchestrate diff --owner ${d.owner} --from migrations --to schema\`)`
        : `the next revision starts from that snapshot and would never write it: add it as a migration (\`orchestrate revision ${flag} --empty -m reconcile\`, with the SQL of \`orchestrate diff --owner ${d.owner} --from migrations --to snapshot\`), or correct the snapshot`;
    const message = `${d.owner}'s ${d.migrations} migration(s), replayed in a shadow database, do not produce what ${d.file} describes; reconciling them takes: ${sqlLine(d.sql)} — ${fix}.`;
    problems.push({ code: 'drift', owner: d.owner, file: d.file, message, sql: d.sql });
  }
  return new Set(found.filter((d) => d.against === 'schema').map((d) => d.owner));
}

/** Adds a problem unless the same one (code and message) is there already; the one with an owner wins. */
function addOnce(problems: Problem[], p: Problem, supersedes = false): void {
  // A fuller report of the same folder (e.g. every misnamed migration, not only those migrate refuses) replaces the earlier one.
  if (supersedes) {
    const where = p.message.split(' ')[0];
    for (let i = problems.length - 1; i >= 0; i--) if (problems[i]!.code === p.code && problems[i]!.message.split(' ')[0] === where) problems.splice(i, 1);
  }
  const same = problems.findIndex((q) => q.code === p.code && q.message === p.message);
  if (same < 0) problems.push(p);
  else if (problems[same]!.owner === undefined) problems[same] = p;
}

function readAllMigrations(project: Project, problems: Problem[], baselines: Baseline[]): Map<string, MigrationFiles[]> | null {
  const files = new Map<string, MigrationFiles[]>();
  for (const owner of project.owners) {
    try {
      // Names like Prisma's own (`01_init`) are fine in a baseline: its rows in the history table carry them.
      files.set(owner.name, readMigrations(owner.migrationsDir));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      // Names migrate refuses (spaces, control characters): name every folder check would flag
      // too, strictly, rather than only those.
      let reported: UsageError = error;
      if (error instanceof MisnamedMigrationsError) {
        try {
          readMigrations(owner.migrationsDir, { strictNames: true });
        } catch (strict) {
          if (strict instanceof MisnamedMigrationsError) reported = strict;
        }
      }
      // Revision planning may have tripped over the same folder already: report it once, with its owner.
      for (const p of problemsOf(reported, owner.name)) addOnce(problems, p, true);
    }
  }
  for (const owner of project.owners) {
    const migrations = files.get(owner.name) ?? [];
    // Migrations that predate orchestrate are reported once, as the owner's baseline.
    let baseline: Baseline | null = null;
    try {
      baseline = baselineOf(owner, migrations);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push(...problemsOf(error, owner.name));
    }
    if (baseline) baselines.push(baseline);
    const misnamed = migrations.slice(baseline?.count ?? 0).filter((m) => !MIGRATION_NAME.test(m.name));
    if (misnamed.length > 0) for (const p of problemsOf(misnamedError(owner.migrationsDir, misnamed.map((m) => m.name)), owner.name)) addOnce(problems, p);
    for (const m of migrations.slice(baseline?.count ?? 0)) {
      let down: string | null;
      try {
        down = m.down;
      } catch (error) {
        // A down.sql that is not UTF-8.
        if (!(error instanceof UsageError)) throw error;
        for (const p of problemsOf(error, owner.name)) addOnce(problems, p);
        continue;
      }
      if (down !== null) continue;
      problems.push({
        code: 'missing-down',
        owner: owner.name,
        migration: m.name,
        file: relativePath(project, m.dir),
        message: `${relativePath(project, m.dir)} has no down.sql, so \`orchestrate downgrade\` cannot roll it back; write the reverse SQL there (an empty file if there is nothing to undo).`,
      });
    }
  }
  for (const name of Object.keys(project.settings.baseline)) {
    if (name === 'core' || project.discovered.has(name)) continue;
    problems.push({
      code: 'input',
      message: `orchestrate.config.json: "baseline" names the owner "${name}", which is neither core nor an extension folder under ${relativePath(project, project.settings.extensionsDir)}; fix the name or remove the entry.`,
    });
  }
  // Every `requires` line must name an existing migration of an enabled owner.
  for (const owner of project.owners) {
    for (const m of files.get(owner.name) ?? []) {
      for (const r of m.requires) {
        const target = files.get(r.owner);
        if (!target || target.some((t) => t.name === r.migration)) continue;
        const file = relativePath(project, path.join(m.dir, 'migration.sql'));
        problems.push({
          code: 'unknown-requirement',
          owner: owner.name,
          migration: m.name,
          file,
          message: `${file} requires ${r.owner}/${r.migration}, which does not exist in ${relativePath(project, project.owners.find((o) => o.name === r.owner)!.migrationsDir)}; restore that migration, or regenerate ${owner.name} together with ${r.owner}.`,
        });
      }
    }
  }
  return files.size === project.owners.length ? files : null;
}

/**
 * History tables whose extension is not enabled: left over from an uninstall, or an extension
 * switched off with its objects still there. They are looked for in the history tables' schema.
 */
async function orphanTables(db: Driver, project: Project, problems: Problem[]): Promise<DisabledTable[]> {
  const tables = await disabledHistoryTables(db, project);
  for (const { extension, table, applied } of tables) {
    const known = project.discovered.has(extension);
    const drop = `DROP TABLE ${db.dialect.tableName({ schema: db.schema, name: table })}`;
    problems.push({
      code: 'orphan-history',
      owner: extension,
      message:
        applied > 0
          ? `History table "${table}" records ${applied} applied migration(s) of extension "${extension}", which is not enabled, so its tables are still in the database; enable it (APP_EXTENSIONS=${enabledWith(project, extension)}), or ${known ? '' : `restore extensions/${extension} and `}uninstall it with \`${uninstallCommand(project, extension)}\`.`
          : known
            ? `History table "${table}" of extension "${extension}", which is not enabled, records no applied migration; enable the extension (APP_EXTENSIONS=${enabledWith(project, extension)}), or drop the table (${drop}).`
            : `History table "${table}" of extension "${extension}", which is not enabled, records no applied migration; drop it (${drop}) or enable the extension again.`,
    });
  }
  return tables;
}

async function checkDatabase(db: Driver, project: Project, files: Map<string, MigrationFiles[]>, problems: Problem[]): Promise<DisabledTable[]> {
  const history = await readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable })));
  const state = buildState(project.owners, files, history);
  for (const s of state.owners) {
    // Two heads are found by revision planning too: reported once.
    for (const p of stateProblems(s, state.schema, state.dialect)) addOnce(problems, p);
    for (const a of s.applied) {
      for (const r of a.files?.requires ?? []) {
        const target = state.byName.get(r.owner);
        if (!target || target.applied.some((x) => x.name === r.migration)) continue;
        problems.push({
          code: 'unmet-requirement',
          owner: s.owner.name,
          migration: a.name,
          message: `${s.owner.name}/${a.name} is applied but requires ${r.owner}/${r.migration}, which is not; the database may lack objects it relies on — apply it (\`orchestrate migrate --all\`) or roll ${s.owner.name} back.`,
        });
      }
    }
  }
  return orphanTables(db, project, problems);
}

/**
 * Everything `revision --check` verifies, plus lint (naming, ownership, down.sql) and, when a
 * database is configured, orphan history tables and the state of applied migrations. Collects
 * every problem; throws only when the check itself cannot run (a broken engine or database).
 *
 * @example
 *   const report = await checkProject(ctx);
 *   report.problems.map((p) => p.code); // e.g. ['table-prefix', 'missing-down']
 */
export async function checkProject(ctx: RunContext, opts: CheckOptions = {}): Promise<CheckReport> {
  const project = loadProject(loadSettings(ctx.root), { extensions: ctx.globals.extensions, env: ctx.env });
  const strict = isStrict(ctx, opts.strict);
  const selected = new Set(selectOwners(project, opts).map((o) => o.name));
  const problems: Problem[] = [];
  let disabledTables: DisabledTable[] = [];

  const composed = await composeAll(project, problems);
  if (composed) {
    lintNames(project, composed, problems);
    // Drift first: planning the revision then reuses what the replays of adopted owners produced.
    const drifting = await drift(project, project.owners.filter((o) => selected.has(o.name)), problems);
    await pendingChanges(ctx, project, problems);
    // An adopted owner whose schema differs from its history: the drift problem says it, with SQL.
    for (let i = problems.length - 1; i >= 0; i--) if (problems[i]!.code === 'pending-changes' && drifting.has(problems[i]!.owner!)) problems.splice(i, 1);
  }
  const baselines: Baseline[] = [];
  const files = readAllMigrations(project, problems, baselines);
  const notes = baselines.map((b) => `${describeBaseline(b)}.`);
  const migrations = [...(files?.values() ?? [])].reduce((n, list) => n + list.length, 0);

  const { databaseTarget, openDatabase } = await import('../db/connect.js');
  const { projectProvider } = await import('../project/provider.js');
  const provider = projectProvider(project);
  const target = await databaseTarget(databaseSourceOf(ctx), provider);
  const database: CheckReport['database'] = { checked: false, location: null };
  let db: Driver | null = null;
  // No server configured and no embedded database yet: nothing was ever applied, nothing to open.
  const none = (target.kind === 'embedded' && !existsSync(path.join(target.dataDir, 'PG_VERSION'))) || (target.kind === 'sqlite' && !existsSync(target.file));
  if (!none) {
    try {
      db = await openDatabase(databaseSourceOf(ctx), { lockKey: project.settings.lockKey, readOnly: true, provider });
    } catch (error) {
      if (error instanceof OrchestrateError) throw error;
      throw new RuntimeError(`Cannot open the database to check it: ${messageOf(error)}.`, { cause: error });
    }
  }
  if (!db) {
    notes.push(
      `No database configured (--url, DATABASE_URL or prisma.config.ts) and no embedded database in ${target.kind === 'embedded' ? relativePath(project, target.dataDir) : target.kind === 'sqlite' ? relativePath(project, target.file) : '.orchestrate/pglite'}: skipped the checks of applied migrations and orphan history tables.`,
    );
  } else {
    try {
      database.location = db.location;
      if (files) disabledTables = await checkDatabase(db, project, files, problems);
      else notes.push('Skipped the checks of applied migrations: fix the migrations folders first.');
      database.checked = true;
    } finally {
      await db.close();
    }
  }

  // Folders of extensions that are not enabled; those with a history table are problems already.
  const warnings = disabledExtensionWarnings(project, null).filter((w) => !disabledTables.some((t) => t.extension === w.extension));
  if (strict) for (const w of warnings) problems.push({ code: 'disabled-extension', owner: w.extension, message: w.message });
  // With --core or --extension, only their problems (and those of the whole project) count.
  if (opts.core || (opts.extension ?? []).length > 0) {
    for (let i = problems.length - 1; i >= 0; i--) {
      const owner = problems[i]!.owner;
      if (owner !== undefined && !selected.has(owner) && project.owners.some((o) => o.name === owner)) problems.splice(i, 1);
    }
  }
  return { ok: problems.length === 0, owners: project.owners.map((o) => o.name), migrations, database, problems, warnings: strict ? [] : warnings, notes, baselines };
}


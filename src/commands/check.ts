import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildState } from '../apply/state.js';
import { CheckError, InputErrors, OrchestrateError, RuntimeError, UsageError, messageOf } from '../errors.js';
import type { Driver } from '../db/driver.js';
import { MisnamedMigrationsError, readMigrations, type MigrationFiles } from '../migrations/folder.js';
import { selectOwners, type Owner, type Project, type Selection } from '../project/project.js';
import { compose, validateComposed, type Composed } from '../schema/compose.js';
import { ownerSource, readSchemaText, relativePath } from '../schema/sources.js';
import { contextProject, type CommandResult, type Context } from './context.js';
import { revision } from './revision.js';
import { disabledExtensionWarnings, disabledHistoryTables, enabledWith, isStrict, uninstallCommand, type DisabledTable, type Warning } from './warnings.js';

export type ProblemKind =
  /** A schema file is missing or does not parse. */
  | 'schema'
  /** Composition or Prisma validation failed (duplicate owners, bad `extend model`, invalid schema). */
  | 'composition'
  /** A generated migration would change another owner's objects. */
  | 'ownership'
  /** Schema changes without a migration (what `revision --check` reports). */
  | 'pending-changes'
  /** An extension's table (after `@@map`) does not start with `<name>_`. */
  | 'table-prefix'
  /** An extension's enum type (after `@@map`) does not start with `<name>_`. */
  | 'enum-prefix'
  /** A migrations folder cannot be read (a directory without migration.sql, no snapshot). */
  | 'migrations'
  /** A migration has no down.sql, so `downgrade` cannot roll it back. */
  | 'missing-down'
  /** With --strict: an extension folder that is not enabled. */
  | 'disabled-extension'
  /** A history table of an extension that is not enabled. */
  | 'orphan-history'
  /** A directory in a migrations folder is not named `<timestamp>_<slug>`. */
  | 'migration-name'
  /** An applied migration whose migration.sql changed since. */
  | 'checksum-mismatch'
  /** A migration that started and never finished in an earlier run. */
  | 'failed-migration'
  /** An applied migration whose folder is gone. */
  | 'missing-migration'
  /** A `-- orchestrate:requires` line names a migration that does not exist. */
  | 'unknown-requirement'
  /** An applied migration requires one that is not applied. */
  | 'unmet-requirement';

export interface CheckProblem {
  kind: ProblemKind;
  /** `core`, an extension name, or null for problems of the whole project. */
  owner: string | null;
  message: string;
}

export interface CheckData {
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
  problems: CheckProblem[];
  /** Extension folders that are not enabled (their history tables, if any, are problems). */
  warnings: Warning[];
}

export interface CheckOptions extends Selection {
  /** Extensions that are not enabled are problems (exit 3) rather than warnings. */
  strict?: boolean;
}

const describe = (owner: Owner) => (owner.kind === 'core' ? '--core' : `--extension ${owner.name}`);

/** Attributes a `path:line: message` problem to the owner whose schema file it names. */
function ownerOfMessage(project: Project, message: string): string | null {
  for (const owner of project.owners) {
    if (message.startsWith(`${relativePath(project, owner.schemaPath)}:`)) return owner.name;
  }
  return null;
}

function problemsOf(error: unknown, kind: ProblemKind, project: Project, owner: string | null = null): CheckProblem[] {
  const lines = error instanceof InputErrors ? error.problems : [messageOf(error)];
  return lines.map((message) => ({ kind, owner: owner ?? ownerOfMessage(project, message), message }));
}

/** Composition and Prisma validation of every enabled owner together, as `revision` does it. */
async function composeAll(project: Project, problems: CheckProblem[]): Promise<Composed | null> {
  const texts = new Map<string, string>();
  for (const owner of project.owners) {
    try {
      texts.set(owner.name, readSchemaText(project, owner));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push(...problemsOf(error, 'schema', project, owner.name));
    }
  }
  if (texts.size < project.owners.length) return null;
  try {
    const composed = compose(project.owners.map((o) => ownerSource(project, o, texts.get(o.name)!)));
    await validateComposed(composed);
    return composed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    problems.push(...problemsOf(error, 'composition', project));
    return null;
  }
}

/** Extension tables and enum types carry their owner's name, so two extensions can never clash. */
function lintNames(project: Project, composed: Composed, problems: CheckProblem[]): void {
  const byOwner = (map: Map<string, string>) => [...map.entries()].filter(([, owner]) => owner !== 'core').sort(([a], [b]) => (a < b ? -1 : 1));
  const kinds = [
    { kind: 'table-prefix' as const, what: 'Table', names: composed.ownership.tables },
    { kind: 'enum-prefix' as const, what: 'Enum type', names: composed.ownership.enumTypes },
  ];
  for (const { kind, what, names } of kinds) {
    for (const [name, owner] of byOwner(names)) {
      if (name.startsWith(`${owner}_`)) continue;
      const file = relativePath(project, project.discovered.get(owner)!.schemaPath);
      problems.push({
        kind,
        owner,
        message: `${what} "${name}" of extension "${owner}" does not start with "${owner}_"; map it with @@map("${owner}_${name.toLowerCase()}") in ${file} so it cannot clash with core or another extension.`,
      });
    }
  }
}

/** What `revision --check` reports, as problems. */
async function pendingChanges(ctx: Context, project: Project, problems: CheckProblem[]): Promise<void> {
  try {
    const result = await revision(ctx, { all: true, check: true });
    for (const entry of result.data.owners) {
      if (entry.status !== 'pending') continue;
      const owner = project.owners.find((o) => o.name === entry.owner)!;
      problems.push({
        kind: 'pending-changes',
        owner: owner.name,
        message: `${relativePath(project, owner.schemaPath)} has changes without a migration; run \`orchestrate revision ${describe(owner)} -m <name>\`.`,
      });
    }
  } catch (error) {
    // The guard refusing a cross-owner change is a finding; a broken engine or database is not.
    if (error instanceof CheckError) problems.push(...problemsOf(error, 'ownership', project));
    else if (error instanceof UsageError) problems.push(...problemsOf(error, 'migrations', project));
    else throw error;
  }
}

function readAllMigrations(project: Project, problems: CheckProblem[]): Map<string, MigrationFiles[]> | null {
  const files = new Map<string, MigrationFiles[]>();
  for (const owner of project.owners) {
    try {
      files.set(owner.name, readMigrations(owner.migrationsDir));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      // `revision --check` may have tripped over the same folder already: report it once, with its owner.
      for (const p of problemsOf(error, error instanceof MisnamedMigrationsError ? 'migration-name' : 'migrations', project, owner.name)) {
        const same = problems.findIndex((q) => q.message === p.message);
        if (same >= 0) problems[same] = p;
        else problems.push(p);
      }
    }
  }
  for (const owner of project.owners) {
    for (const m of files.get(owner.name) ?? []) {
      if (m.down !== null) continue;
      problems.push({
        kind: 'missing-down',
        owner: owner.name,
        message: `${relativePath(project, m.dir)} has no down.sql, so \`orchestrate downgrade\` cannot roll it back; write the reverse SQL there (an empty file if there is nothing to undo).`,
      });
    }
  }
  // Every `requires` line must name an existing migration of an enabled owner.
  for (const owner of project.owners) {
    for (const m of files.get(owner.name) ?? []) {
      for (const r of m.requires) {
        const target = files.get(r.owner);
        if (!target || target.some((t) => t.name === r.migration)) continue;
        problems.push({
          kind: 'unknown-requirement',
          owner: owner.name,
          message: `${relativePath(project, path.join(m.dir, 'migration.sql'))} requires ${r.owner}/${r.migration}, which does not exist in ${relativePath(project, project.owners.find((o) => o.name === r.owner)!.migrationsDir)}; restore that migration, or regenerate ${owner.name} together with ${r.owner}.`,
        });
      }
    }
  }
  return files.size === project.owners.length ? files : null;
}

/** History tables whose extension is not enabled: left over from an uninstall, or an extension switched off with its objects still there. */
async function orphanTables(db: Driver, project: Project, problems: CheckProblem[]): Promise<DisabledTable[]> {
  const tables = await disabledHistoryTables(db, project);
  for (const { extension, table, applied } of tables) {
    const known = project.discovered.has(extension);
    problems.push({
      kind: 'orphan-history',
      owner: extension,
      message:
        applied > 0
          ? `History table "${table}" records ${applied} applied migration(s) of extension "${extension}", which is not enabled, so its tables are still in the database; enable it (APP_EXTENSIONS=${enabledWith(project, extension)}), or ${known ? '' : `restore extensions/${extension} and `}uninstall it with \`${uninstallCommand(project, extension)}\`.`
          : known
            ? `History table "${table}" of extension "${extension}", which is not enabled, records no applied migration; enable the extension (APP_EXTENSIONS=${enabledWith(project, extension)}), or drop the table (DROP TABLE ${db.dialect.quoteIdentifier(table)}).`
            : `History table "${table}" of extension "${extension}", which is not enabled, records no applied migration; drop it (DROP TABLE ${db.dialect.quoteIdentifier(table)}) or enable the extension again.`,
    });
  }
  return tables;
}

async function checkDatabase(db: Driver, project: Project, files: Map<string, MigrationFiles[]>, problems: CheckProblem[]): Promise<DisabledTable[]> {
  const { readHistory } = await import('../db/history.js');
  const history = await readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable })));
  const state = buildState(project.owners, files, history);
  for (const s of state.owners) {
    for (const a of s.modified) {
      const file = relativePath(project, path.join(a.files!.dir, 'migration.sql'));
      problems.push({
        kind: 'checksum-mismatch',
        owner: s.owner.name,
        message: `${file} was edited after it was applied (${s.owner.historyTable} recorded checksum ${a.row.checksum.slice(0, 12)}…, the file now has ${a.files!.checksum.slice(0, 12)}…); restore it as applied (e.g. \`git checkout -- ${file}\`) and put the change in a new migration.`,
      });
    }
    for (const row of s.failed) {
      problems.push({
        kind: 'failed-migration',
        owner: s.owner.name,
        message: `${s.owner.name}/${row.migrationName} failed in an earlier run and is still marked as started in ${s.owner.historyTable}; run \`orchestrate status\` for how to resolve it.`,
      });
    }
    for (const a of s.applied) {
      for (const r of a.files?.requires ?? []) {
        const target = state.byName.get(r.owner);
        if (!target || target.applied.some((x) => x.name === r.migration)) continue;
        problems.push({
          kind: 'unmet-requirement',
          owner: s.owner.name,
          message: `${s.owner.name}/${a.name} is applied but requires ${r.owner}/${r.migration}, which is not; the database may lack objects it relies on — apply it (\`orchestrate migrate --all\`) or roll ${s.owner.name} back.`,
        });
      }
    }
    for (const a of s.missing) {
      problems.push({
        kind: 'missing-migration',
        owner: s.owner.name,
        message: `${s.owner.name}/${a.name} is recorded as applied in ${s.owner.historyTable}, but ${relativePath(project, path.join(s.owner.migrationsDir, a.name))} does not exist; restore it from version control.`,
      });
    }
  }
  return orphanTables(db, project, problems);
}

/**
 * `orchestrate check`: everything `revision --check` verifies, plus lint (naming, ownership,
 * down.sql) and, when a database is configured, orphan history tables and edited applied
 * migrations. Collects every problem; exit 3 when there is any.
 *
 * @example
 *   const result = await check(ctx);
 *   result.data.problems.map((p) => p.kind); // e.g. ['table-prefix', 'missing-down']
 */
export async function check(ctx: Context, opts: CheckOptions = {}): Promise<CommandResult<CheckData>> {
  const project = contextProject(ctx);
  const strict = isStrict(ctx, opts.strict);
  const selected = new Set(selectOwners(project, opts).map((o) => o.name));
  const problems: CheckProblem[] = [];
  let disabledTables: DisabledTable[] = [];

  const composed = await composeAll(project, problems);
  if (composed) {
    lintNames(project, composed, problems);
    await pendingChanges(ctx, project, problems);
  }
  const files = readAllMigrations(project, problems);
  const migrations = [...(files?.values() ?? [])].reduce((n, list) => n + list.length, 0);

  const { databaseTarget, openDatabase } = await import('../db/connect.js');
  const target = await databaseTarget(ctx);
  const database: CheckData['database'] = { checked: false, location: null };
  const notes: string[] = [];
  let db: Driver | null = null;
  // No server configured and no embedded database yet: nothing was ever applied, nothing to open.
  const none = target.kind === 'embedded' && !existsSync(path.join(target.dataDir, 'PG_VERSION'));
  if (!none) {
    try {
      db = await openDatabase(ctx, { lockKey: project.settings.lockKey, readOnly: true });
    } catch (error) {
      if (error instanceof OrchestrateError) throw error;
      throw new RuntimeError(`Cannot open the database to check it: ${messageOf(error)}.`, { cause: error });
    }
  }
  if (!db) {
    notes.push(
      `No database configured (--url, DATABASE_URL or prisma.config.ts) and no embedded database in ${target.kind === 'embedded' ? relativePath(project, target.dataDir) : '.orchestrate/pglite'}: skipped the checks of applied migrations and orphan history tables.`,
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
  if (strict) for (const w of warnings) problems.push({ kind: 'disabled-extension', owner: w.extension, message: w.message });
  else for (const w of warnings) ctx.reporter.warn(w.message);
  // With --core or --extension, only their problems (and those of the whole project) count.
  if (opts.core || (opts.extension ?? []).length > 0) {
    for (let i = problems.length - 1; i >= 0; i--) {
      const owner = problems[i]!.owner;
      if (owner !== null && !selected.has(owner) && project.owners.some((o) => o.name === owner)) problems.splice(i, 1);
    }
  }
  const ok = problems.length === 0;
  const lines = problems.map((p) => `${p.kind}${p.owner ? ` (${p.owner})` : ''}: ${p.message}`);
  lines.push(...notes);
  const owners = project.owners.map((o) => o.name);
  if (ok) {
    lines.push(
      `ok: ${owners.length} owner(s) (${owners.join(', ')}), ${migrations} migration(s), schemas match their migrations${database.checked ? `, database ${database.location} consistent` : ''}.`,
    );
  } else {
    lines.push(`${problems.length} problem(s) found.`);
  }
  return { data: { ok, owners, migrations, database, problems, warnings: strict ? [] : warnings }, text: lines.join('\n'), exitCode: ok ? 0 : 3 };
}

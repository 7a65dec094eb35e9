/**
 * What is applied, pending, failed, edited or missing, per owner: a pure function of the
 * migration folders and the history rows. Planning and every state command start from here.
 */
import path from 'node:path';
import type { HistoryRow, HistorySnapshot } from '../db/history.js';
import type { Dialect } from '../db/driver.js';
import { postgresDialect } from '../db/postgres-dialect.js';
import type { Problem } from '../errors.js';
import { findFork, forkMessage } from '../migrations/heads.js';
import { checksumOf, type MigrationFiles } from '../migrations/folder.js';
import type { Owner } from '../project/project.js';

export interface AppliedMigration {
  name: string;
  /** The row that records it (the latest finished, not rolled back, row of that name). */
  row: HistoryRow;
  /** Its folder on disk, or null when the folder is gone. */
  files: MigrationFiles | null;
  /** Whether migration.sql still has the checksum recorded when it was applied. */
  checksumMatches: boolean;
}

export interface OwnerState {
  owner: Owner;
  tableExists: boolean;
  /** Migration folders on disk, in apply order. */
  files: MigrationFiles[];
  /** Every row of the owner's history table, oldest first. */
  rows: HistoryRow[];
  /** Applied migrations, in name (= apply) order. */
  applied: AppliedMigration[];
  /** Rows of migrations that started and never finished nor were rolled back (Prisma's P3009). */
  failed: HistoryRow[];
  /** Folders not applied (and not failed), in apply order. */
  pending: MigrationFiles[];
  /** Applied migrations whose migration.sql changed since. */
  modified: AppliedMigration[];
  /** Applied migrations whose folder is gone. */
  missing: AppliedMigration[];
}

export interface State {
  /** The schema of the history tables. */
  schema: string;
  /** The SQL of the database the state was read from (for the statements messages give). */
  dialect: Dialect;
  /** Every enabled owner, core first, in project order. */
  owners: OwnerState[];
  byName: Map<string, OwnerState>;
}

/**
 * Prisma compares checksums after normalising line endings, so that a checkout with
 * `core.autocrlf` does not look like an edit; so do we.
 */
export function checksumMatches(files: MigrationFiles, recorded: string): boolean {
  if (files.checksum === recorded) return true;
  const lf = files.sql.replace(/\r\n/g, '\n');
  return checksumOf(lf) === recorded || checksumOf(lf.replace(/\n/g, '\r\n')) === recorded;
}

/**
 * Whether a history row records its migration as applied. The one definition: rolled-back rows
 * are ignored, as Prisma Migrate ignores them; a finished row means applied; a row neither
 * finished nor rolled back is a failed migration.
 */
export const isApplied = (row: Pick<HistoryRow, 'finishedAt' | 'rolledBackAt'>) => row.finishedAt !== null && row.rolledBackAt === null;
export const isFailed = (row: Pick<HistoryRow, 'finishedAt' | 'rolledBackAt'>) => row.finishedAt === null && row.rolledBackAt === null;

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The state of every owner (see `isApplied` for what counts as applied).
 *
 * @example
 *   const state = buildState(project.owners, files, await readHistory(db, tables));
 *   state.byName.get('core')!.pending.map((m) => m.name);
 */
export function buildState(owners: Owner[], files: Map<string, MigrationFiles[]>, history: HistorySnapshot, dialect: Dialect = postgresDialect): State {
  const rowsByOwner = new Map<string, HistoryRow[]>();
  for (const row of history.rows) {
    const list = rowsByOwner.get(row.owner);
    if (list) list.push(row);
    else rowsByOwner.set(row.owner, [row]);
  }
  const states = owners.map((owner): OwnerState => {
    const ownerFiles = files.get(owner.name) ?? [];
    const fileByName = new Map(ownerFiles.map((f) => [f.name, f]));
    const rows = rowsByOwner.get(owner.name) ?? [];
    const appliedRows = new Map<string, HistoryRow>();
    for (const row of rows) {
      if (!isApplied(row)) continue;
      const previous = appliedRows.get(row.migrationName);
      if (!previous || previous.startedAt <= row.startedAt) appliedRows.set(row.migrationName, row);
    }
    const failed = rows.filter(isFailed);
    const applied = [...appliedRows.entries()]
      .map(([name, row]): AppliedMigration => {
        const f = fileByName.get(name) ?? null;
        return { name, row, files: f, checksumMatches: f ? checksumMatches(f, row.checksum) : false };
      })
      .sort(byName);
    const failedNames = new Set(failed.map((r) => r.migrationName));
    return {
      owner,
      tableExists: history.existingTables.has(owner.historyTable),
      files: ownerFiles,
      rows,
      applied,
      failed,
      pending: ownerFiles.filter((f) => !appliedRows.has(f.name) && !failedNames.has(f.name)),
      modified: applied.filter((a) => a.files !== null && !a.checksumMatches),
      missing: applied.filter((a) => a.files === null),
    };
  });
  return { schema: history.schema, dialect, owners: states, byName: new Map(states.map((s) => [s.owner.name, s])) };
}

/** `owner/migration`, the way every message names a migration. */
export const qualified = (owner: string, migration: string) => `${owner}/${migration}`;

/**
 * What stops a run on an owner: migrations that failed in an earlier run, applied migrations
 * edited since, applied migrations whose folder is gone. Worded here once for every command.
 *
 * @example
 *   stateProblems(state.byName.get('core')!, state.schema).map((p) => p.code); // ['checksum-mismatch']
 */
export function stateProblems(s: OwnerState, schema: string, dialect: Dialect = postgresDialect): Problem[] {
  const owner = s.owner.name;
  const table = s.owner.historyTable;
  const problems: Problem[] = [];
  for (const row of s.failed) {
    const name = row.migrationName;
    problems.push({
      code: 'failed-migration',
      owner,
      migration: name,
      message: `${qualified(owner, name)} failed in an earlier run and may be partly applied (its row in ${table} has no finished_at), so nothing can be applied to ${owner}: finish or undo its changes by hand, then record it as applied with \`orchestrate stamp ${owner} ${name}\` if its changes are now complete, or as rolled back with \`${dialect.markRolledBack({ schema, name: table }, [row.id])}\` if they are undone, and run the command again.`,
    });
  }
  for (const a of s.modified) {
    const file = path.join(a.files!.dir, 'migration.sql');
    problems.push({
      code: 'checksum-mismatch',
      owner,
      migration: a.name,
      file,
      message: `${qualified(owner, a.name)} was edited after it was applied: ${file} has checksum ${a.files!.checksum.slice(0, 12)}… but ${table} recorded ${a.row.checksum.slice(0, 12)}…; restore the file as it was applied (e.g. \`git checkout -- ${file}\`) and put the new change in a new migration.`,
    });
  }
  for (const a of s.missing) {
    const dir = path.join(s.owner.migrationsDir, a.name);
    problems.push({
      code: 'missing-migration',
      owner,
      migration: a.name,
      file: dir,
      message: `${qualified(owner, a.name)} is recorded as applied in ${table}, but ${dir} does not exist; restore that folder from version control (a teammate's migration may be missing from your checkout).`,
    });
  }
  // Two heads: both branches' migrations would run, and the snapshot the next revision starts
  // from holds only one of them.
  const fork = findFork(s.files);
  if (fork) problems.push({ code: 'multiple-heads', owner, message: forkMessage(owner, s.owner.kind === 'core' ? '--core' : `--extension ${owner}`, fork) });
  return problems;
}

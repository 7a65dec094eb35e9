/**
 * What is applied, pending, failed, edited or missing, per owner: a pure function of the
 * migration folders and the history rows. Planning and every state command start from here.
 */
import type { HistoryRow, HistorySnapshot } from '../db/history.js';
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

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Rolled-back rows are ignored, as Prisma Migrate ignores them; a finished row means applied;
 * a row neither finished nor rolled back is a failed migration.
 *
 * @example
 *   const state = buildState(project.owners, files, await readHistory(db, tables));
 *   state.byName.get('core')!.pending.map((m) => m.name);
 */
export function buildState(owners: Owner[], files: Map<string, MigrationFiles[]>, history: HistorySnapshot): State {
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
      if (row.rolledBackAt !== null || row.finishedAt === null) continue;
      const previous = appliedRows.get(row.migrationName);
      if (!previous || previous.startedAt <= row.startedAt) appliedRows.set(row.migrationName, row);
    }
    const failed = rows.filter((r) => r.rolledBackAt === null && r.finishedAt === null);
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
  return { schema: history.schema, owners: states, byName: new Map(states.map((s) => [s.owner.name, s])) };
}

/** `owner/migration`, the way every message names a migration. */
export const qualified = (owner: string, migration: string) => `${owner}/${migration}`;

/** Status as data: per owner, each migration applied, pending, failed, edited or missing. */
import type { OwnerState, State } from '../apply/state.js';

export type MigrationStatus = 'applied' | 'pending' | 'failed' | 'modified' | 'missing';

export interface StatusOwner {
  owner: string;
  historyTable: string;
  historyTableExists: boolean;
  migrations: { migration: string; status: MigrationStatus; appliedAt: string | null }[];
  counts: Record<MigrationStatus, number>;
}

export interface StatusData {
  database: string;
  owners: StatusOwner[];
  counts: Record<MigrationStatus, number>;
  /** Nothing pending, failed, edited or missing. */
  upToDate: boolean;
}

const zero = (): Record<MigrationStatus, number> => ({ applied: 0, pending: 0, failed: 0, modified: 0, missing: 0 });

export function ownerStatus(s: OwnerState): StatusOwner {
  const rows = new Map<string, { migration: string; status: MigrationStatus; appliedAt: string | null }>();
  for (const f of s.files) rows.set(f.name, { migration: f.name, status: 'pending', appliedAt: null });
  for (const a of s.applied) {
    const status: MigrationStatus = a.files === null ? 'missing' : a.checksumMatches ? 'applied' : 'modified';
    rows.set(a.name, { migration: a.name, status, appliedAt: (a.row.finishedAt ?? a.row.startedAt).toISOString() });
  }
  for (const r of s.failed) rows.set(r.migrationName, { migration: r.migrationName, status: 'failed', appliedAt: null });
  const migrations = [...rows.values()].sort((a, b) => (a.migration < b.migration ? -1 : 1));
  const counts = zero();
  for (const m of migrations) counts[m.status]++;
  return { owner: s.owner.name, historyTable: s.owner.historyTable, historyTableExists: s.tableExists, migrations, counts };
}

/**
 * The status of the selected owners (all when `selected` is omitted).
 *
 * @example
 *   statusOf(state, 'postgresql://db/app').upToDate; // false while anything is pending
 */
export function statusOf(state: State, database: string, selected?: Set<string>): StatusData {
  const owners = state.owners.filter((s) => !selected || selected.has(s.owner.name)).map(ownerStatus);
  const counts = zero();
  for (const o of owners) for (const k of Object.keys(counts) as MigrationStatus[]) counts[k] += o.counts[k];
  const upToDate = counts.pending + counts.failed + counts.modified + counts.missing === 0;
  return { database, owners, counts, upToDate };
}

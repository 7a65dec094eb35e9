/** `status`: applied, pending, failed, edited and missing migrations per owner. Reads only. */
import type { OwnerState } from '../apply/state.js';
import { selectOwners, type Selection } from '../project/project.js';
import { unmigratedChanges, type SchemaChange } from '../schema/unmigrated.js';
import { palette, plural, readState, table, timestampText } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';
import { disabledExtensionWarnings, isStrict, reportWarnings, type Warning } from './warnings.js';

export interface StatusOptions extends Selection {
  /** Exit 3 when anything is pending, failed, edited or missing. */
  exitCode?: boolean;
  /** Refuse (exit 3) instead of warning about extensions that are not enabled. */
  strict?: boolean;
}

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
  /** Extensions that are not enabled but have a folder or a history table. */
  warnings: Warning[];
  /** Owners whose schema changed since their latest migration (`revision` writes the migration). */
  schemaChanges: SchemaChange[];
}

function ownerStatus(s: OwnerState): StatusOwner {
  const rows = new Map<string, { migration: string; status: MigrationStatus; appliedAt: string | null }>();
  for (const f of s.files) rows.set(f.name, { migration: f.name, status: 'pending', appliedAt: null });
  for (const a of s.applied) {
    const status: MigrationStatus = a.files === null ? 'missing' : a.checksumMatches ? 'applied' : 'modified';
    rows.set(a.name, { migration: a.name, status, appliedAt: (a.row.finishedAt ?? a.row.startedAt).toISOString() });
  }
  for (const r of s.failed) rows.set(r.migrationName, { migration: r.migrationName, status: 'failed', appliedAt: null });
  const migrations = [...rows.values()].sort((a, b) => (a.migration < b.migration ? -1 : 1));
  const counts: Record<MigrationStatus, number> = { applied: 0, pending: 0, failed: 0, modified: 0, missing: 0 };
  for (const m of migrations) counts[m.status]++;
  return { owner: s.owner.name, historyTable: s.owner.historyTable, historyTableExists: s.tableExists, migrations, counts };
}

/** Owners from which `status` lists only those with work. */
export const COMPACT_AT = 50;

const COLORS: Record<MigrationStatus, string> = { applied: '32', pending: '33', failed: '31', modified: '31', missing: '31' };

/**
 * @example
 *   const { data, exitCode } = await status(ctx, { all: true, exitCode: true });
 */
export async function status(ctx: Context, opts: StatusOptions): Promise<CommandResult<StatusData>> {
  const project = contextProject(ctx);
  const strict = isStrict(ctx, opts.strict);
  const selected = new Set(selectOwners(project, opts).map((o) => o.name));
  const { state, database, disabledTables } = await readState(ctx, project, { disabledTables: true });
  const warnings = disabledExtensionWarnings(project, disabledTables);
  reportWarnings(ctx, warnings, strict);
  const owners: StatusOwner[] = state.owners.filter((s) => selected.has(s.owner.name)).map(ownerStatus);
  const counts: Record<MigrationStatus, number> = { applied: 0, pending: 0, failed: 0, modified: 0, missing: 0 };
  for (const o of owners) for (const k of Object.keys(counts) as MigrationStatus[]) counts[k] += o.counts[k];
  const upToDate = counts.pending + counts.failed + counts.modified + counts.missing === 0;
  const schemaChanges = await unmigratedChanges(
    project,
    project.owners.filter((o) => selected.has(o.name)),
    new Map(state.owners.map((s) => [s.owner.name, s.files])),
  );

  const paint = palette(ctx);
  // At 50 owners and more, a table per owner scrolls the problems away: show only owners with
  // something to do, and count the others.
  const compact = owners.length >= COMPACT_AT;
  const changed = new Set(schemaChanges.map((c) => c.owner));
  const shown = compact ? owners.filter((o) => o.counts.applied !== o.migrations.length || changed.has(o.owner)) : owners;
  const blocks = shown.map((o) => {
    const summary = (Object.keys(o.counts) as MigrationStatus[])
      .filter((k) => o.counts[k] > 0)
      .map((k) => `${o.counts[k]} ${k}`)
      .join(', ');
    const head = `${o.owner} (${o.historyTable}): ${summary || 'no migrations'}`;
    if (o.migrations.length === 0) return head;
    const body = table(
      ['MIGRATION', 'STATUS', 'APPLIED AT'],
      o.migrations.map((m) => [m.migration, m.status, m.appliedAt ? timestampText(new Date(m.appliedAt)) : '']),
      '  ',
      (r, c, text) => (c === 1 ? paint(COLORS[o.migrations[r]!.status], text) : text),
    );
    return `${head}\n${body}`;
  });
  const total = (Object.keys(counts) as MigrationStatus[])
    .filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`)
    .join(', ');
  if (compact) {
    const quiet = owners.length - shown.length;
    blocks.push(`${plural(quiet, 'other owner')} up to date (${owners.filter((o) => !shown.includes(o)).reduce((n, o) => n + o.counts.applied, 0)} applied); \`orchestrate status --extension <name>\` shows one.`);
  }
  const footer = [
    upToDate ? `Up to date: ${plural(owners.length, 'owner')}, ${counts.applied} applied.` : `Not up to date: ${total}.`,
    ...schemaChanges.map(
      (c) => `${c.owner}: ${c.schema} has ${c.reason === 'changed' ? 'schema changes' : 'models'} without a migration; write one with \`${c.command}\`.`,
    ),
  ].join('\n');
  return {
    data: { database, owners, counts, upToDate, warnings, schemaChanges },
    text: `${blocks.join('\n\n')}\n\n${footer}`,
    exitCode: opts.exitCode && (!upToDate || schemaChanges.length > 0) ? 3 : 0,
  };
}

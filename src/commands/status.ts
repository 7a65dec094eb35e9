/** `status`: applied, pending, failed, edited and missing migrations per owner. Reads only. */
import { statusOf, type MigrationStatus, type StatusData as OwnersStatus } from '../api/status.js';
import { selectOwners, type Selection } from '../project/project.js';
import { unmigratedChanges, type SchemaChange } from '../schema/unmigrated.js';
import { palette, plural, readState, table, timestampText } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';
import { disabledExtensionWarnings, isStrict, reportWarnings, type Warning } from '../api/warnings.js';

export type { MigrationStatus, StatusOwner } from '../api/status.js';

export interface StatusOptions extends Selection {
  /** Exit 3 when anything is pending, failed, edited or missing. */
  exitCode?: boolean;
  /** Refuse (exit 3) instead of warning about extensions that are not enabled. */
  strict?: boolean;
}

/** `status --json`: the owners' status, plus what the command warns about. */
export interface StatusData extends OwnersStatus {
  /** Extensions that are not enabled but have a folder or a history table. */
  warnings: Warning[];
  /** Owners whose schema changed since their latest migration (`revision` writes the migration). */
  schemaChanges: SchemaChange[];
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
  const { owners, counts, upToDate } = statusOf(state, database, selected);
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
      // A failed row never finished: its statements may have run in part (no transaction, or Prisma).
      o.migrations.map((m) => [m.migration, m.status === 'failed' ? 'failed, partly applied' : m.status, m.appliedAt ? timestampText(new Date(m.appliedAt)) : '']),
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

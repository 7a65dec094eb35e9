/** `status`: applied, pending, failed, edited and missing migrations per owner. Reads only. */
import { statusOf, type MigrationStatus, type StatusData } from '../api/status.js';
import { selectOwners, type Selection } from '../project/project.js';
import { palette, plural, readState, table, timestampText } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export type { MigrationStatus, StatusData, StatusOwner } from '../api/status.js';

export interface StatusOptions extends Selection {
  /** Exit 3 when anything is pending, failed, edited or missing. */
  exitCode?: boolean;
}

const COLORS: Record<MigrationStatus, string> = { applied: '32', pending: '33', failed: '31', modified: '31', missing: '31' };

/**
 * @example
 *   const { data, exitCode } = await status(ctx, { all: true, exitCode: true });
 */
export async function status(ctx: Context, opts: StatusOptions): Promise<CommandResult<StatusData>> {
  const project = contextProject(ctx);
  const selected = new Set(selectOwners(project, opts).map((o) => o.name));
  const { state, database } = await readState(ctx, project);
  const data = statusOf(state, database, selected);
  const { owners, counts, upToDate } = data;

  const paint = palette(ctx);
  const blocks = owners.map((o) => {
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
  const footer = upToDate ? `Up to date: ${plural(owners.length, 'owner')}, ${counts.applied} applied.` : `Not up to date: ${total}.`;
  return {
    data,
    text: `${blocks.join('\n\n')}\n\n${footer}`,
    exitCode: opts.exitCode && !upToDate ? 3 : 0,
  };
}

/** `history [owner]`: every history row per owner, oldest first. Reads only. */
import { chosenOwners, duration, readState, table, timestampText } from './apply-shared.js';
import type { Selection } from '../project/project.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export interface HistoryEntry {
  migration: string;
  /** `applied`, `failed` (never finished) or `rolled back` (ignored, as Prisma ignores it). */
  state: 'applied' | 'failed' | 'rolled back';
  startedAt: string;
  finishedAt: string | null;
  rolledBackAt: string | null;
  durationMs: number | null;
  checksum: string;
  appliedStepsCount: number;
  logs: string | null;
}

export interface HistoryData {
  database: string;
  owners: { owner: string; historyTable: string; entries: HistoryEntry[] }[];
}

/**
 * @example
 *   const { data } = await history(ctx, { owner: 'billing' });
 */
export async function history(ctx: Context, opts: Selection & { owner?: string }): Promise<CommandResult<HistoryData>> {
  const project = contextProject(ctx);
  const owners = chosenOwners(project, opts, 'history');
  const { state, database } = await readState(ctx, project);
  const data: HistoryData = {
    database,
    owners: owners.map((o) => ({
      owner: o.name,
      historyTable: o.historyTable,
      entries: state.byName.get(o.name)!.rows.map((r) => ({
        migration: r.migrationName,
        state: r.rolledBackAt ? 'rolled back' : r.finishedAt ? 'applied' : 'failed',
        startedAt: r.startedAt.toISOString(),
        finishedAt: r.finishedAt?.toISOString() ?? null,
        rolledBackAt: r.rolledBackAt?.toISOString() ?? null,
        durationMs: r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
        checksum: r.checksum,
        appliedStepsCount: r.appliedStepsCount,
        logs: r.logs,
      })),
    })),
  };
  const text = data.owners
    .map((o) => {
      const head = `${o.owner} (${o.historyTable})`;
      if (o.entries.length === 0) return `${head}: nothing applied`;
      return `${head}\n${table(
        ['MIGRATION', 'STATE', 'STARTED AT', 'DURATION'],
        o.entries.map((e) => [e.migration, e.state, timestampText(new Date(e.startedAt)), e.durationMs === null ? '' : duration(e.durationMs)]),
      )}`;
    })
    .join('\n\n');
  return { data, text };
}

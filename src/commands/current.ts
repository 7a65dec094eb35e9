/** `current [owner]`: the latest applied migration per owner. Reads only. */
import { chosenOwners, readState, table, timestampText } from './apply-shared.js';
import type { Selection } from '../project/project.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export interface CurrentData {
  database: string;
  owners: { owner: string; current: string | null; appliedAt: string | null; pending: number }[];
}

/**
 * @example
 *   const { data } = await current(ctx, {});
 *   data.owners[0]; // { owner: 'core', current: '20250101120000_init', ... }
 */
export async function current(ctx: Context, opts: Selection & { owner?: string }): Promise<CommandResult<CurrentData>> {
  const project = contextProject(ctx);
  const owners = chosenOwners(project, opts, 'current');
  const { state, database } = await readState(ctx, project);
  const data: CurrentData = {
    database,
    owners: owners.map((o) => {
      const s = state.byName.get(o.name)!;
      const latest = s.applied.at(-1);
      return {
        owner: o.name,
        current: latest?.name ?? null,
        appliedAt: latest ? (latest.row.finishedAt ?? latest.row.startedAt).toISOString() : null,
        pending: s.pending.length,
      };
    }),
  };
  const text = table(
    ['OWNER', 'CURRENT', 'APPLIED AT', 'PENDING'],
    data.owners.map((o) => [o.owner, o.current ?? '(none)', o.appliedAt ? timestampText(new Date(o.appliedAt)) : '', String(o.pending)]),
    '',
  );
  return { data, text };
}

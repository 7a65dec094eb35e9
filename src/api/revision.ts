/**
 * Revision as a use case: a plan (what each owner's new migration would hold) and a separate
 * write step. A thin wrapper over the revision command's planner and writer until that planner
 * moves below the commands (see test/layers.test.ts for the one upward import this needs).
 */
import * as command from '../commands/revision.js';
import type { RunContext } from './context.js';

export interface RevisionRequest {
  /** Owners to revise; omitted or empty means core and every enabled extension. */
  owners?: string[];
  /** Migration name (slugified); default `init` for a first migration, else `migration`. */
  name?: string;
  /** A blank migration for hand-written SQL. */
  empty?: boolean;
  /** Replace each owner's migrations by one fresh initial migration. */
  regenerate?: boolean;
  /** With `regenerate`: even when some of them are applied in the database. */
  force?: boolean;
  engine?: 'wasm' | 'prisma-cli';
}

export interface RevisionOwnerPlan {
  owner: string;
  /** `pending`: the owner's schema has changes without a migration. */
  status: 'pending' | 'unchanged';
  /** Forward SQL of the new migration ('' when unchanged). */
  up: string;
  /** Reverse SQL (down.sql). */
  down: string;
}

export interface RevisionPlanData {
  owners: RevisionOwnerPlan[];
}

export type RevisionWritten = command.RevisionData;

/** The command's own plan behind each data plan handed out, for `writeRevision`. */
const internal = new WeakMap<RevisionPlanData, command.RevisionPlan>();

function selection(request: RevisionRequest): { core?: boolean; extension?: string[]; all?: boolean } {
  const owners = request.owners ?? [];
  if (owners.length === 0) return { all: true };
  return { core: owners.includes('core'), extension: owners.filter((o) => o !== 'core') };
}

/**
 * Diffs every selected owner and runs the ownership guard; writes nothing.
 *
 * @example
 *   const plan = await planRevision(ctx, { owners: ['billing'], name: 'add_invoices' });
 *   plan.owners.filter((o) => o.status === 'pending').map((o) => o.up);
 */
export async function planRevision(ctx: RunContext, request: RevisionRequest & { check?: boolean } = {}): Promise<RevisionPlanData> {
  const plan = await command.planRevision(ctx, { ...selection(request), name: request.name, empty: request.empty, regenerate: request.regenerate, force: request.force, check: request.check, engine: request.engine });
  const byOwner = new Map(plan.planned.map((p) => [p.owner.name, p]));
  const data: RevisionPlanData = {
    owners: plan.selected.map((o) => {
      const p = byOwner.get(o.name);
      return { owner: o.name, status: p ? 'pending' : 'unchanged', up: p?.up ?? '', down: p?.down ?? '' };
    }),
  };
  internal.set(data, plan);
  return data;
}

/**
 * Writes the migration folders of a plan made by `planRevision` (each owner with a change gets
 * one; nothing else is written).
 */
export function writeRevision(plan: RevisionPlanData): RevisionWritten {
  const planned = internal.get(plan);
  if (!planned) throw new TypeError('writeRevision takes a plan returned by planRevision of the same orchestrator.');
  if (planned.options.check) throw new TypeError('writeRevision cannot write a plan made for checking only.');
  return command.writeRevision(planned).data;
}

/**
 * Running a plan as a use case: state → plan → runner, with progress as events and the outcome
 * as data (kysely's MigrationResultSet: each migration Success, Error or NotExecuted). A failing
 * migration is a result, not a throw; only problems that stop the run before anything is
 * executed (an edited applied migration, an unmet requirement) are thrown, as typed errors.
 */
import { randomUUID } from 'node:crypto';
import { loadState } from '../apply/load.js';
import { planDowngrade, planUpgrade, resolveTarget, type Plan, type Step, type Target } from '../apply/plan.js';
import type { State } from '../apply/state.js';
import type { Driver } from '../db/driver.js';
import { describeFailure, describeInterruption, runPlan } from '../db/runner.js';
import { CheckError, UsageError, databaseErrorFields, type Problem } from '../errors.js';
import { selectOwners, type Project } from '../project/project.js';

export type Direction = 'Up' | 'Down';

/** Progress of a run, in order; the CLI turns these into its progress lines. */
export type OrchestrateEvent =
  | { type: 'notice'; message: string }
  | { type: 'lock:wait' }
  | { type: 'lock:acquired' }
  | { type: 'history:create'; owner: string; table: string }
  | { type: 'history:drop'; owner: string; table: string }
  | { type: 'migration:start'; owner: string; migration: string; direction: Direction }
  | { type: 'migration:end'; owner: string; migration: string; direction: Direction; durationMs: number }
  | { type: 'migration:error'; owner: string; migration: string; direction: Direction; problem: Problem };

export type EventHandler = (event: OrchestrateEvent) => void;

export interface MigrationResult {
  owner: string;
  migration: string;
  direction: Direction;
  status: 'Success' | 'Error' | 'NotExecuted';
  /** Set for Success and Error. */
  durationMs?: number;
}

export interface ApplyFailure {
  /** One sentence: owner, migration, statement, the database's message, what now. */
  problem: Problem;
  /** The database's own message, without our wording. */
  reason: string;
  /** The statement the database rejected, when it could be found (1-based line in `problem.file`). */
  statement: { text: string; line: number } | null;
  cause: unknown;
}

export interface ApplyResult {
  /** Every migration ran (or there was nothing to run) and the run was not aborted. */
  ok: boolean;
  command: Plan['command'];
  /** One entry per migration of the plan, in run order. */
  results: MigrationResult[];
  error: ApplyFailure | null;
  /** The signal stopped the run (a statement in flight is cancelled and rolled back); the rest are NotExecuted. */
  aborted: boolean;
  /** With `aborted`: where the run stopped and what stays applied, in one sentence (code `interrupted`). */
  interruption: Problem | null;
  /** Migrations of the plan another run applied between planning and applying (`owner/migration`). */
  alreadyDone: string[];
  durationMs: number;
}

/** What a plan was made from, so that `apply` can plan again under the lock. */
export type PlanRequest =
  | { command: 'migrate'; owners: string[]; target?: Target }
  | { command: 'downgrade'; targets: { owner: string; keep: string | null }[]; cascade: boolean };

/** A plan as the public API hands it out: the steps, the database it was made for, how it was made. */
export type OrchestratePlan = Plan & { database: string; request: PlanRequest };

export interface UpgradeRequest {
  /** Owners to migrate; omitted or empty means core and every enabled extension. */
  owners?: string[];
  /** Stop after this migration (of whichever selected owner has it). */
  target?: string;
}

export interface DowngradeRequest {
  /** Owners to roll back; required with target `base`. */
  owners?: string[];
  /** The last migration to keep, or `base` to roll back every migration of `owners`. */
  target: string;
  /** First roll back other owners' migrations that require what goes. */
  cascade?: boolean;
}

const selection = (owners: string[] | undefined) =>
  owners && owners.length > 0 ? { core: owners.includes('core'), extension: owners.filter((o) => o !== 'core') } : { all: true };

const key = (owner: string, migration: string) => `${owner}/${migration}`;

export function upgradeRequest(project: Project, state: State, request: UpgradeRequest): PlanRequest {
  const named = request.owners !== undefined && request.owners.length > 0;
  const owners = selectOwners(project, selection(request.owners)).map((o) => o.name);
  if (request.target === undefined) return { command: 'migrate', owners };
  // A target without owners moves the one owner that has it.
  const target = resolveTarget(state, named ? owners : project.owners.map((o) => o.name), request.target, 'target');
  return { command: 'migrate', owners: named ? owners : [target.owner], target };
}

export function downgradeRequest(project: Project, state: State, request: DowngradeRequest): PlanRequest {
  const named = request.owners !== undefined && request.owners.length > 0;
  const candidates = named ? selectOwners(project, selection(request.owners)).map((o) => o.name) : project.owners.map((o) => o.name);
  if (request.target === 'base') {
    if (!named) throw new UsageError('A downgrade to target "base" rolls back every migration of the owners you name: pass `owners` (e.g. ["billing"]).');
    return { command: 'downgrade', targets: candidates.map((owner) => ({ owner, keep: null })), cascade: Boolean(request.cascade) };
  }
  const t = resolveTarget(state, candidates, request.target, 'target');
  return { command: 'downgrade', targets: [{ owner: t.owner, keep: t.migration }], cascade: Boolean(request.cascade) };
}

/** Plans a request against a state; `ids` reuses the history row ids of an earlier plan. */
export function planRequest(state: State, request: PlanRequest, ids?: Map<string, string>): Plan {
  if (request.command === 'downgrade') return planDowngrade(state, request.targets, { cascade: request.cascade });
  const newId = (() => {
    const queue = ids ? [...ids.values()] : [];
    return () => queue.shift() ?? randomUUID();
  })();
  return planUpgrade(state, request.owners, { target: request.target, newId });
}

/** The migrations a plan runs, as `owner/migration`. */
export function planned(plan: Plan): string[] {
  return plan.steps.flatMap((s) => (s.kind === 'apply' || s.kind === 'revert' || s.kind === 'stamp' ? [key(s.owner, s.migration)] : []));
}

/**
 * The plan to run now, under the lock: the request planned again on the current state. For an
 * upgrade, migrations another run applied meanwhile drop out (several app instances booting at
 * once all plan the same migrations); migrations that appeared since are left for the next run.
 * A downgrade whose plan changed is refused: rolling back is never done on a stale plan.
 */
export function replan(state: State, given: OrchestratePlan): { plan: Plan; alreadyDone: string[] } {
  const wanted = new Set(planned(given));
  if (given.request.command === 'downgrade') {
    const fresh = planRequest(state, given.request);
    const now = planned(fresh);
    if (now.length !== wanted.size || now.some((m) => !wanted.has(m))) {
      throw new CheckError(
        `The database changed since this downgrade was planned (it would now roll back ${now.length > 0 ? now.join(', ') : 'nothing'} instead of ${[...wanted].join(', ') || 'nothing'}); plan it again.`,
        { code: 'input' },
      );
    }
    return { plan: fresh, alreadyDone: [] };
  }
  // Only what the given plan applies is pending. Its history row ids are reused in order, so
  // that `sql(plan)` shows the very INSERTs a run makes when nothing changed in between.
  const restricted: State = {
    ...state,
    owners: state.owners.map((s) => ({ ...s, pending: s.pending.filter((f) => wanted.has(key(s.owner.name, f.name))) })),
  };
  restricted.byName = new Map(restricted.owners.map((s) => [s.owner.name, s]));
  const ids = new Map(given.steps.flatMap((s) => (s.kind === 'apply' ? [[key(s.owner, s.migration), s.id] as const] : [])));
  const plan = planRequest(restricted, given.request, ids);
  const now = new Set(planned(plan));
  return { plan, alreadyDone: [...wanted].filter((m) => !now.has(m)) };
}

const direction = (step: Step): Direction | null => (step.kind === 'apply' ? 'Up' : step.kind === 'revert' ? 'Down' : null);
const migrationOf = (step: Step): string | null => (step.kind === 'apply' || step.kind === 'revert' || step.kind === 'stamp' ? step.migration : null);

/**
 * Runs a plan's steps in order on a connection that already holds the migration lock,
 * reporting each as events (`migration:start` before it runs, `migration:end` after). Stops at
 * the first failure (rolled back when transactional) or when `signal` is aborted: the statement
 * in flight is cancelled and its migration rolled back, and `interruption` says where it stopped.
 *
 * @example
 *   const result = await executePlan(db, plan, { onEvent: (e) => console.log(e.type) });
 *   result.results.filter((r) => r.status === 'Success').length;
 */
export async function executePlan(db: Driver, plan: Plan, options: { onEvent?: EventHandler; signal?: AbortSignal } = {}): Promise<Omit<ApplyResult, 'alreadyDone'>> {
  const started = performance.now();
  const emit = options.onEvent ?? (() => {});
  const results: MigrationResult[] = [];
  let stepStarted = started;
  const run = await runPlan(db, plan, {
    signal: options.signal,
    onStart: (step) => {
      stepStarted = performance.now();
      const migration = migrationOf(step);
      const dir = direction(step);
      if (migration && dir) emit({ type: 'migration:start', owner: step.owner, migration, direction: dir });
    },
    onStep: ({ step, durationMs }) => {
      const migration = migrationOf(step);
      const dir = direction(step);
      if (migration && dir) {
        results.push({ owner: step.owner, migration, direction: dir, status: 'Success', durationMs });
        emit({ type: 'migration:end', owner: step.owner, migration, direction: dir, durationMs });
      } else if (step.kind === 'create-history' || step.kind === 'drop-history') {
        emit({ type: step.kind === 'create-history' ? 'history:create' : 'history:drop', owner: step.owner, table: step.table });
      }
    },
  });
  let error: ApplyFailure | null = null;
  if (run.failed) {
    const { step, statement } = run.failed;
    const migration = migrationOf(step);
    const dir = direction(step);
    const file = step.kind === 'apply' || step.kind === 'revert' ? step.file : undefined;
    const problem: Problem = {
      code: 'migration-failed',
      owner: step.owner,
      ...(migration ? { migration } : {}),
      ...(file ? { file } : {}),
      ...(statement ? { line: statement.line } : {}),
      message: describeFailure(run.failed),
    };
    error = { problem, reason: databaseErrorFields(run.failed.error).message, statement, cause: run.failed.error };
    if (migration && dir) {
      results.push({ owner: step.owner, migration, direction: dir, status: 'Error', durationMs: Math.round(performance.now() - stepStarted) });
      emit({ type: 'migration:error', owner: step.owner, migration, direction: dir, problem });
    }
  }
  const interruption: Problem | null = run.interrupted
    ? { code: 'interrupted', owner: (run.interrupted.step ?? run.interrupted.next)?.owner, message: describeInterruption(run.interrupted, run.done, plan.command) }
    : null;
  // What did not run, in plan order: after a failure or an interruption.
  const reached = new Set(results.map((r) => key(r.owner, r.migration)));
  for (const step of plan.steps) {
    const migration = migrationOf(step);
    const dir = direction(step);
    if (migration && dir && !reached.has(key(step.owner, migration))) results.push({ owner: step.owner, migration, direction: dir, status: 'NotExecuted' });
  }
  return { ok: !error && !interruption, command: plan.command, results, error, aborted: interruption !== null, interruption, durationMs: Math.round(performance.now() - started) };
}

/**
 * Takes the lock, plans `given` again on the current state and runs it. The lock is released
 * before returning (the connection stays open).
 */
export async function lockedApply(db: Driver, project: Project, given: OrchestratePlan, options: { onEvent?: EventHandler; signal?: AbortSignal } = {}): Promise<ApplyResult> {
  const emit = options.onEvent ?? (() => {});
  // A signal during the wait cancels the lock request on the server.
  const cancelWait = () => void db.cancel();
  options.signal?.addEventListener('abort', cancelWait, { once: true });
  try {
    await db.lock(() => emit({ type: 'lock:wait' }));
  } catch (error) {
    if (options.signal?.aborted) {
      const results = given.steps.flatMap((step): MigrationResult[] => {
        const dir = direction(step);
        return dir && (step.kind === 'apply' || step.kind === 'revert') ? [{ owner: step.owner, migration: step.migration, direction: dir, status: 'NotExecuted' }] : [];
      });
      return { ok: false, command: given.command, results, error: null, aborted: true, interruption: { code: 'interrupted', message: `Interrupted while waiting for the migration lock; nothing was ${given.command === 'downgrade' ? 'rolled back' : 'applied'}.` }, alreadyDone: [], durationMs: 0 };
    }
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', cancelWait);
  }
  try {
    emit({ type: 'lock:acquired' });
    const state = await loadState(db, project);
    const { plan, alreadyDone } = replan(state, given);
    return { ...(await executePlan(db, plan, options)), alreadyDone };
  } finally {
    if (db.alive) await db.unlock().catch(() => {});
  }
}

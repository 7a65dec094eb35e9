/**
 * `migrate` (alias `upgrade`): apply pending migrations of the selected owners.
 *
 * state (folders + history tables) → plan (pure data) → execute, under one database-wide lock.
 * This module and everything it imports stay clear of @prisma/internals and the schema engine:
 * it runs in container entrypoints, where start-up time matters.
 */
import { createRequire } from 'node:module';
import { loadState, readOwnerFiles, type OwnerFiles } from '../apply/load.js';
import { planUpgrade, resolveTarget, type Plan, type Target } from '../apply/plan.js';
import type { State } from '../apply/state.js';
import { assertNotCitusWorker } from '../db/citus.js';
import type { Driver } from '../db/driver.js';
import { dialectFor } from '../db/dialects.js';
import { InterruptedError, RuntimeError } from '../errors.js';
import { selectOwners, type Project, type Selection } from '../project/project.js';
import { projectProvider } from '../project/provider.js';
import { duration, hasSelection, interruptible, lockOptions, lockWaitLine, openInterruptible, plural } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';

const require = createRequire(import.meta.url);
/** History row ids; node:crypto is loaded by then (checksums), and not before the connection starts. */
const randomUUID = () => (require('node:crypto') as typeof import('node:crypto')).randomUUID();

export interface MigrateOptions extends Selection {
  /** Stop after this migration. */
  target?: string;
  /** Print the SQL of the run instead of running it. */
  sql?: boolean;
  /** Retry the first connection this many seconds. */
  wait?: number;
  /** Give up waiting for the migration lock after this many seconds. */
  lockTimeout?: number;
  /**
   * Stops the run (the CLI aborts it on SIGINT/SIGTERM): the statement running on the server is
   * cancelled and its migration rolled back; the command then throws an InterruptedError.
   */
  signal?: AbortSignal;
}

export interface MigrateOwnerResult {
  owner: string;
  historyTable: string;
  /** Applied by this run, in order. */
  applied: { migration: string; durationMs: number }[];
  /** Already applied before the run. */
  skipped: string[];
  /** Still pending after the run (not reached because of --target). */
  remaining: string[];
}

export interface MigrateData {
  database: string;
  owners: MigrateOwnerResult[];
  applied: number;
  durationMs: number;
  /** With --sql: the script the run would execute. */
  sql?: string;
}

/** The owners a run acts on, and where it stops. */
function choose(project: Project, state: State, opts: MigrateOptions): { selected: string[]; target?: Target } {
  if (opts.target === undefined) return { selected: selectOwners(project, opts).map((o) => o.name) };
  if (!hasSelection(opts)) {
    // `migrate --target X` moves the one owner that has X.
    const target = resolveTarget(state, project.owners.map((o) => o.name), opts.target);
    return { selected: [target.owner], target };
  }
  const selected = selectOwners(project, opts).map((o) => o.name);
  return { selected, target: resolveTarget(state, selected, opts.target) };
}

function ownerResults(plan: Plan, durations: Map<string, number>): MigrateOwnerResult[] {
  return plan.owners.map((o) => ({
    owner: o.owner,
    historyTable: o.historyTable,
    applied: o.migrations.filter((m) => durations.has(`${o.owner}/${m}`)).map((m) => ({ migration: m, durationMs: durations.get(`${o.owner}/${m}`)! })),
    skipped: o.alreadyApplied,
    remaining: o.remaining,
  }));
}

/**
 * @example
 *   const result = await migrate(ctx, { all: true, wait: 30 });
 *   result.data.applied; // number of migrations applied
 */
export async function migrate(ctx: Context, opts: MigrateOptions): Promise<CommandResult<MigrateData>> {
  // hrtime rather than performance.now(): the first use of `performance` loads perf_hooks (~0.7 ms).
  const started = process.hrtime.bigint();
  const project = contextProject(ctx);
  if (!opts.target) selectOwners(project, opts); // reject bad --extension before connecting
  // The connection starts first; the folders are read while the server answers.
  const provider = projectProvider(project);
  const opening = openInterruptible(ctx, { lockKey: project.settings.lockKey, waitSeconds: opts.wait, readOnly: opts.sql, provider }, opts.signal);
  const files = readOwnerFiles(project.owners);
  files.catch(() => {}); // awaited in loadState; a connection failure may come first
  const db = await opening;
  try {
    if (db) await assertNotCitusWorker(db);
    return opts.sql ? await printSql(ctx, db, project, files, opts) : await apply(ctx, db!, project, files, opts, started);
  } finally {
    await db?.close();
  }
}

async function printSql(ctx: Context, db: Driver | null, project: Project, files: Promise<OwnerFiles>, opts: MigrateOptions): Promise<CommandResult<MigrateData>> {
  const state = await loadState(db, project, files);
  const { selected, target } = choose(project, state, opts);
  const plan = planUpgrade(state, selected, { target, newId: randomUUID });
  const database = db?.location ?? 'the embedded database';
  const count = plan.steps.filter((s) => s.kind === 'apply').length;
  const { renderPlan } = await import('../apply/render.js');
  const sql = renderPlan(plan, db?.dialect ?? dialectFor(projectProvider(project)), `orchestrate migrate --sql: ${plural(count, 'migration')} for ${database}; nothing has been run.`);
  return {
    data: { database, owners: ownerResults(plan, new Map()), applied: 0, durationMs: 0, sql },
    text: sql,
  };
}

async function apply(
  ctx: Context,
  db: Driver,
  project: Project,
  files: Promise<OwnerFiles>,
  opts: MigrateOptions,
  started: bigint,
): Promise<CommandResult<MigrateData>> {
  // Held until migrate() closes the session, which releases it (no unlock round trip needed).
  // The lock request and the history read are queued together (the session runs them in order):
  // when the lock was free, the history was read under it; when another run held it, the history
  // is read again once the lock is ours.
  const state = await interruptible(db, opts.signal, 'waiting for the migration lock', async () => {
    let waited = false;
    const locking = db.lock((holder) => {
      waited = true;
      ctx.reporter.info(lockWaitLine(holder));
    }, lockOptions(opts.lockTimeout));
    const early = loadState(db, project, files);
    early.catch(() => {}); // awaited below unless it is read again
    await locking;
    return waited ? await loadState(db, project, files) : await early;
  });
  const { selected, target } = choose(project, state, opts);
  const plan = planUpgrade(state, selected, { target, newId: randomUUID });
  const durations = new Map<string, number>();
  if (plan.steps.length > 0) {
    // Loaded only when there is something to run: the common no-op start skips it.
    const { describeFailure, describeInterruption, runPlan } = await import('../db/runner.js');
    const result = await runPlan(db, plan, {
      signal: opts.signal,
      onStep: ({ step, durationMs }) => {
        if (step.kind !== 'apply') return;
        durations.set(`${step.owner}/${step.migration}`, durationMs);
        ctx.reporter.info(`Applied ${step.owner}/${step.migration} (${duration(durationMs)})`);
      },
    });
    if (result.failed) throw new RuntimeError(describeFailure(result.failed), { cause: result.failed.error });
    if (result.interrupted) throw new InterruptedError(describeInterruption(result.interrupted, result.done, 'migrate'));
  }
  const owners = ownerResults(plan, durations);
  const applied = durations.size;
  const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  const touched = owners.filter((o) => o.applied.length > 0).map((o) => `${o.owner}: ${o.applied.length}`);
  const text =
    applied === 0
      ? `Nothing to apply: ${plural(selected.length, 'owner')} up to date.`
      : `Applied ${plural(applied, 'migration')} (${touched.join(', ')}) in ${duration(durationMs)}.`;
  return { data: { database: db.location, owners, applied, durationMs }, text };
}

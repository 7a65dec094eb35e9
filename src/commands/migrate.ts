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
import { InterruptedError, OrchestrateError, RuntimeError, UsageError } from '../errors.js';
import { selectOwners, type Project, type Selection } from '../project/project.js';
import { projectProvider } from '../project/provider.js';
import { unmigratedChanges, type SchemaChange } from '../schema/unmigrated.js';
import { duration, hasSelection, interruptible, lockFileWait, lockOptions, lockWaitLine, openInterruptible, plural, waitSetting } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';
import { disabledExtensionWarnings, disabledHistoryTables, isStrict, reportWarnings, type Warning } from '../api/warnings.js';

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
  /** Refuse (exit 3) instead of warning about extensions that are not enabled. */
  strict?: boolean;
}

export interface MigrateOwnerResult {
  owner: string;
  historyTable: string;
  /** Applied by this run, in order. */
  applied: { migration: string; durationMs: number }[];
  /** Already applied before the run. */
  skipped: string[];
  /** Still pending after the run: beyond --target, or not reached because one failed. */
  remaining: string[];
  /** The migration that failed and was rolled back, when the run stopped there. */
  failed: string | null;
}

export interface MigrateData {
  database: string;
  owners: MigrateOwnerResult[];
  applied: number;
  durationMs: number;
  /** With --sql: the script the run would execute. */
  sql?: string;
  /** Extensions that are not enabled but have a folder or a history table. */
  warnings: Warning[];
  /** Selected owners whose schema changed since their latest migration. */
  schemaChanges: SchemaChange[];
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

/** What a run knows so far: on failure, the error document carries it (what was applied, what not). */
interface Progress {
  database: string;
  state?: State;
  selected?: string[];
  plan?: Plan;
  durations: Map<string, number>;
  failed?: { owner: string; migration: string };
  warnings: Warning[];
  schemaChanges: SchemaChange[];
}

function ownerResults(progress: Progress): MigrateOwnerResult[] {
  const { plan, state, durations, failed } = progress;
  if (plan) {
    return plan.owners.map((o) => {
      const done = (m: string) => durations.has(`${o.owner}/${m}`);
      const failedHere = failed?.owner === o.owner ? failed.migration : null;
      return {
        owner: o.owner,
        historyTable: o.historyTable,
        applied: o.migrations.filter(done).map((m) => ({ migration: m, durationMs: durations.get(`${o.owner}/${m}`)! })),
        skipped: o.alreadyApplied,
        remaining: [...o.migrations.filter((m) => !done(m) && m !== failedHere), ...o.remaining],
        failed: failedHere,
      };
    });
  }
  // Stopped before planning (a check failed): nothing applied, everything pending remains.
  const selected = new Set(progress.selected ?? state?.owners.map((s) => s.owner.name) ?? []);
  return (state?.owners ?? [])
    .filter((s) => selected.has(s.owner.name))
    .map((s) => ({ owner: s.owner.name, historyTable: s.owner.historyTable, applied: [], skipped: s.applied.map((a) => a.name), remaining: s.pending.map((f) => f.name), failed: null }));
}

function resultData(progress: Progress, started: bigint): MigrateData {
  const owners = ownerResults(progress);
  return {
    database: progress.database,
    owners,
    applied: owners.reduce((n, o) => n + o.applied.length, 0),
    durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
    warnings: progress.warnings,
    schemaChanges: progress.schemaChanges,
  };
}

/** Owners from which summaries give counts rather than one entry per owner. */
const COMPACT_AT = 50;

/** Migrations applied by this run, per owner: `core: 1, billing: 2`. */
const appliedSummary = (owners: MigrateOwnerResult[]) =>
  owners
    .filter((o) => o.applied.length > 0)
    .map((o) => `${o.owner}: ${o.applied.length}`)
    .join(', ');

/**
 * @example
 *   const result = await migrate(ctx, { all: true, wait: 30 });
 *   result.data.applied; // number of migrations applied
 */
export async function migrate(ctx: Context, opts: MigrateOptions): Promise<CommandResult<MigrateData>> {
  // hrtime rather than performance.now(): the first use of `performance` loads perf_hooks (~0.7 ms).
  const started = process.hrtime.bigint();
  const project = contextProject(ctx);
  const strict = isStrict(ctx, opts.strict);
  if (opts.target !== undefined && (/^-\d+$/.test(opts.target) || ['base', 'zero'].includes(opts.target))) {
    throw new UsageError(`migrate --target ${opts.target} would go back, and migrate only goes forward; use \`orchestrate downgrade --target ${opts.target}\`.`);
  }
  if (!opts.target) selectOwners(project, opts); // reject bad --extension before connecting
  // The connection starts first; the folders are read while the server answers.
  const provider = projectProvider(project);
  const opening = openInterruptible(ctx, { lockKey: project.settings.lockKey, ...waitSetting(ctx, opts.wait), readOnly: opts.sql, provider, ...lockFileWait(opts.lockTimeout) }, opts.signal);
  const files = readOwnerFiles(project.owners);
  files.catch(() => {}); // awaited in loadState; a connection failure may come first
  const progress: Progress = { database: 'the database', durations: new Map(), warnings: [], schemaChanges: [] };
  try {
    const db = await opening;
    progress.database = db?.location ?? 'the embedded database';
    try {
      if (db) await assertNotCitusWorker(db);
      return opts.sql ? await printSql(ctx, db, project, files, opts, strict, progress) : await apply(ctx, db!, project, files, opts, started, strict, progress);
    } finally {
      await db?.close();
    }
  } catch (error) {
    // `--json` error documents carry what a success would: applied, skipped, remaining, failed.
    if (error instanceof OrchestrateError) error.result ??= resultData(progress, started);
    throw error;
  }
}

async function printSql(
  ctx: Context,
  db: Driver | null,
  project: Project,
  files: Promise<OwnerFiles>,
  opts: MigrateOptions,
  strict: boolean,
  progress: Progress,
): Promise<CommandResult<MigrateData>> {
  const state = await loadState(db, project, files);
  progress.state = state;
  const warnings = disabledExtensionWarnings(project, db ? await disabledHistoryTables(db, project) : []);
  progress.warnings = warnings;
  reportWarnings(ctx, warnings, strict);
  const { selected, target } = choose(project, state, opts);
  progress.selected = selected;
  const plan = planUpgrade(state, selected, { target, newId: randomUUID });
  progress.plan = plan;
  const database = db?.location ?? 'the embedded database';
  const count = plan.steps.filter((s) => s.kind === 'apply').length;
  const { renderPlan } = await import('../apply/render.js');
  const sql = renderPlan(plan, db?.dialect ?? dialectFor(projectProvider(project)), `orchestrate migrate --sql: ${plural(count, 'migration')} for ${database}; nothing has been run.`);
  return {
    data: { ...resultData(progress, process.hrtime.bigint()), durationMs: 0, sql },
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
  strict: boolean,
  progress: Progress,
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
  progress.state = state;
  progress.warnings = disabledExtensionWarnings(project, await disabledHistoryTables(db, project));
  reportWarnings(ctx, progress.warnings, strict);
  const { selected, target } = choose(project, state, opts);
  progress.selected = selected;
  const plan = planUpgrade(state, selected, { target, newId: randomUUID });
  progress.plan = plan;
  const { durations } = progress;
  if (plan.steps.length > 0) {
    // Loaded only when there is something to run: the common no-op start skips it.
    const { executePlan } = await import('../api/apply.js');
    const result = await executePlan(db, plan, {
      signal: opts.signal,
      onEvent: (event) => {
        // Named before it runs: a long migration is the one on screen while it runs.
        if (event.type === 'migration:start') ctx.reporter.info(`Applying ${event.owner}/${event.migration} …`);
        if (event.type === 'migration:end') {
          durations.set(`${event.owner}/${event.migration}`, event.durationMs);
          ctx.reporter.info(`Applied ${event.owner}/${event.migration} (${duration(event.durationMs)})`);
        }
      },
    });
    if (result.error) {
      const { problem, cause } = result.error;
      if (problem.migration) progress.failed = { owner: problem.owner!, migration: problem.migration };
      const data = resultData(progress, started);
      const before =
        data.applied === 0
          ? ' Nothing was applied before it in this run.'
          : ` Applied before it in this run, and still applied: ${plural(data.applied, 'migration')} (${appliedSummary(data.owners)}).`;
      throw new RuntimeError(`${problem.message}${before}`, { cause, result: data });
    }
    if (result.interruption) throw new InterruptedError(result.interruption.message);
  }
  // Applied migrations that do not cover the schema: the app would expect tables that are not there.
  progress.schemaChanges = await unmigratedChanges(
    project,
    project.owners.filter((o) => selected.includes(o.name)),
    new Map(state.owners.map((s) => [s.owner.name, s.files])),
  );
  for (const c of progress.schemaChanges) {
    ctx.reporter.warn(`${c.owner}: ${c.schema} has ${c.reason === 'changed' ? 'schema changes' : 'models'} without a migration, so the database does not have them; write one with \`${c.command}\`.`);
  }
  const data = resultData(progress, started);
  const text =
    data.applied === 0
      ? `Nothing to apply: ${plural(selected.length, 'owner')} up to date.`
      : data.owners.length >= COMPACT_AT && data.owners.filter((o) => o.applied.length > 0).length > 10
        ? // 50 owners' counts on one line are unreadable: the JSON has them.
          `Applied ${plural(data.applied, 'migration')} to ${data.owners.filter((o) => o.applied.length > 0).length} of ${plural(data.owners.length, 'owner')} in ${duration(data.durationMs)}.`
        : `Applied ${plural(data.applied, 'migration')} (${appliedSummary(data.owners)}) in ${duration(data.durationMs)}.`;
  return { data, text };
}

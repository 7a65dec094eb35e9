/**
 * `downgrade --target <migration|base>`: run the down.sql of applied migrations after the
 * target, newest first, each in a transaction with the removal of its history row.
 *
 * `--extension E --target base` uninstalls E: its tables and columns go, and so does its history
 * table once empty (an uninstalled extension leaves nothing behind; core's table always stays,
 * as Prisma Migrate expects it). Other owners are untouched, except with `--cascade`, which first
 * rolls back the extension migrations that `-- orchestrate:requires` what is being removed.
 */
import { loadState } from '../apply/load.js';
import { planDowngrade, resolveTarget } from '../apply/plan.js';
import { renderPlan } from '../apply/render.js';
import { isApplied } from '../apply/state.js';
import { dialectFor } from '../db/dialects.js';
import { CheckError, InterruptedError, OrchestrateError, RuntimeError, UsageError } from '../errors.js';
import { projectProvider } from '../project/provider.js';
import { confirmDataLoss, dataLoss, type Drop } from './data-loss.js';
import type { Driver } from '../db/driver.js';
import { readHistory } from '../db/history.js';
import { readMigrations } from '../migrations/folder.js';
import type { Plan } from '../apply/plan.js';
import type { State } from '../apply/state.js';
import { selectOwners, type Project, type Selection } from '../project/project.js';
import { duration, hasSelection, interruptible, lockFileWait, lockOptions, lockWaitLine, openInterruptible, plural, waitSetting } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export interface DowngradeOptions extends Selection {
  /** Last migration to keep, or `base` for none. */
  target: string;
  sql?: boolean;
  cascade?: boolean;
  wait?: number;
  /** Give up waiting for the migration lock after this many seconds. */
  lockTimeout?: number;
  /** Stops the run (see MigrateOptions.signal). */
  signal?: AbortSignal;
  /** Go ahead when rows would be lost, without asking. */
  yes?: boolean;
}

export interface DowngradeOwnerResult {
  owner: string;
  historyTable: string;
  rolledBack: { migration: string; durationMs: number }[];
  /** Planned and not rolled back (the run stopped at a failure). */
  remaining: string[];
  /** The migration whose down.sql failed (and was undone), when the run stopped there. */
  failed: string | null;
  historyTableDropped: boolean;
}

export interface DowngradeData {
  database: string;
  owners: DowngradeOwnerResult[];
  /** Owners rolled back only because --cascade reached them. */
  cascaded: string[];
  rolledBack: number;
  durationMs: number;
  /** Tables and columns the run drops, with the rows they held. */
  drops: Drop[];
  sql?: string;
}

export const BASE = 'base';
/** Alembic's and Django's name for the same. */
export const ZERO = 'zero';

/** `--target -N`: keep all but the owner's latest N applied migrations. */
function stepsBack(state: State, owner: string, n: number): { owner: string; keep: string | null } {
  const applied = state.byName.get(owner)!.applied;
  if (n > applied.length) {
    throw new UsageError(
      `downgrade --target -${n}: ${owner} has only ${applied.length} applied migration${applied.length === 1 ? '' : 's'}; give at most -${applied.length}, or --target base to roll back all of them.`,
    );
  }
  return { owner, keep: applied[applied.length - n - 1]?.name ?? null };
}

/**
 * @example
 *   await downgrade(ctx, { extension: ['billing'], target: 'base' }); // uninstall billing
 */
export async function downgrade(ctx: Context, opts: DowngradeOptions): Promise<CommandResult<DowngradeData>> {
  const started = process.hrtime.bigint();
  const project = contextProject(ctx);
  if (!opts.target || opts.target.trim() === '') {
    throw new UsageError('downgrade needs --target <migration> (the last one to keep) or --target base (roll back everything of the selected owners).');
  }
  const toBase = opts.target === BASE || opts.target === ZERO;
  const steps = /^-\d+$/.test(opts.target) ? Number(opts.target.slice(1)) : null;
  if (toBase && !hasSelection(opts)) {
    throw new UsageError(`downgrade --target ${opts.target} rolls back every migration of the owners you name: add --core, --extension <name> or --all.`);
  }
  if (steps !== null && (steps === 0 || !hasSelection(opts) || opts.all || (opts.core ? 1 : 0) + (opts.extension ?? []).length !== 1)) {
    throw new UsageError(
      steps === 0
        ? 'downgrade --target -0 rolls back nothing; give -1 for the latest applied migration, -2 for the latest two, and so on.'
        : `downgrade --target ${opts.target} steps back one owner: name it with --core or --extension <name> (one only).`,
    );
  }
  const candidates = hasSelection(opts) ? selectOwners(project, opts).map((o) => o.name) : project.owners.map((o) => o.name);
  const provider = projectProvider(project);
  const progress: { database: string; plan?: Plan; durations: Map<string, number>; droppedHistory: Set<string>; failed?: string } = {
    database: 'the database',
    durations: new Map(),
    droppedHistory: new Set(),
  };
  const results = (): DowngradeOwnerResult[] =>
    (progress.plan?.owners ?? []).map((o) => {
      const done = (m: string) => progress.durations.has(`${o.owner}/${m}`);
      const failed = o.migrations.find((m) => progress.failed === `${o.owner}/${m}`) ?? null;
      return {
        owner: o.owner,
        historyTable: o.historyTable,
        rolledBack: o.migrations.filter(done).map((m) => ({ migration: m, durationMs: progress.durations.get(`${o.owner}/${m}`)! })),
        remaining: o.migrations.filter((m) => !done(m) && m !== failed),
        failed,
        historyTableDropped: progress.droppedHistory.has(o.owner),
      };
    });
  const summary = (owners: DowngradeOwnerResult[]) =>
    owners
      .filter((o) => o.rolledBack.length > 0)
      .map((o) => `${o.owner}: ${o.rolledBack.length}`)
      .join(', ');
  try {
    const db = await openInterruptible(ctx, { lockKey: project.settings.lockKey, ...waitSetting(ctx, opts.wait), readOnly: opts.sql, provider, ...lockFileWait(opts.lockTimeout) }, opts.signal);
    try {
      const state =
        db && !opts.sql
          ? await interruptible(db, opts.signal, 'waiting for the migration lock', async () => {
              await db.lock((holder) => ctx.reporter.info(lockWaitLine(holder)), lockOptions(opts.lockTimeout));
              return loadState(db, project);
            })
          : await loadState(db, project);
      const targets = toBase
        ? candidates.map((owner) => ({ owner, keep: null as string | null }))
        : steps !== null
          ? [stepsBack(state, candidates[0]!, steps)]
          : (() => {
              const t = resolveTarget(state, candidates, opts.target);
              return [{ owner: t.owner, keep: t.migration as string | null }];
            })();
      const plan = planDowngrade(state, targets, { cascade: Boolean(opts.cascade) });
      progress.plan = plan;
      if (db) await refuseDisabledDependents(db, project, plan);
      const database = db?.location ?? 'the embedded database';
      progress.database = database;
      const cascaded = plan.owners.map((o) => o.owner).filter((o) => !targets.some((t) => t.owner === o));

      if (opts.sql) {
        const count = plan.steps.filter((s) => s.kind === 'revert').length;
        const sql = renderPlan(plan, db?.dialect ?? dialectFor(provider), `orchestrate downgrade --sql: ${plural(count, 'migration')} to roll back on ${database}; nothing has been run.`);
        return { data: { database, owners: results(), cascaded, rolledBack: 0, durationMs: 0, drops: [], sql }, text: sql };
      }
      if (!db) throw new RuntimeError('No database to roll back.');

      const drops = await dataLoss(db, plan);
      await confirmDataLoss(ctx, drops, Boolean(opts.yes));

      const { executePlan } = await import('../api/apply.js');
      const result = await executePlan(db, plan, {
        signal: opts.signal,
        onEvent: (event) => {
          if (event.type === 'migration:start') ctx.reporter.info(`Rolling back ${event.owner}/${event.migration} …`);
          if (event.type === 'migration:end') {
            progress.durations.set(`${event.owner}/${event.migration}`, event.durationMs);
            ctx.reporter.info(`Rolled back ${event.owner}/${event.migration} (${duration(event.durationMs)})`);
          }
          if (event.type === 'history:drop') {
            progress.droppedHistory.add(event.owner);
            ctx.reporter.info(`Dropped the empty history table ${event.table} of ${event.owner}`);
          }
        },
      });
      if (result.error) {
        const { problem, cause } = result.error;
        if (problem.migration) progress.failed = `${problem.owner}/${problem.migration}`;
        const owners = results();
        const count = owners.reduce((n, o) => n + o.rolledBack.length, 0);
        const before =
          count === 0 ? ' Nothing was rolled back before it in this run.' : ` Rolled back before it in this run, and still rolled back: ${plural(count, 'migration')} (${summary(owners)}).`;
        throw new RuntimeError(`${problem.message}${before}`, { cause });
      }
      if (result.interruption) throw new InterruptedError(result.interruption.message);
      const owners = results();
      const rolledBack = owners.reduce((n, o) => n + o.rolledBack.length, 0);
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      const text =
        rolledBack === 0
          ? `Nothing to roll back: ${targets.map((t) => `${t.owner} is at ${t.keep ?? 'base'}`).join(', ')} already.`
          : `Rolled back ${plural(rolledBack, 'migration')} (${summary(owners)}) in ${duration(durationMs)}${cascaded.length > 0 ? `; cascaded to ${cascaded.join(', ')}` : ''}.`;
      return { data: { database, owners, cascaded, rolledBack, durationMs, drops }, text };
    } finally {
      await db?.close();
    }
  } catch (error) {
    if (error instanceof OrchestrateError) {
      const owners = results();
      error.result ??= {
        database: progress.database,
        owners,
        cascaded: [],
        rolledBack: owners.reduce((n, o) => n + o.rolledBack.length, 0),
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        drops: [],
      };
    }
    throw error;
  }
}

/**
 * Extensions that are not enabled still have their tables in the database, and their applied
 * migrations may require what this run rolls back (billing's table carrying analytics' column).
 * The plan only sees enabled owners, so look at the others' history here and refuse.
 */
async function refuseDisabledDependents(db: Driver, project: Project, plan: Plan): Promise<void> {
  const reverted = new Set(plan.steps.flatMap((s) => (s.kind === 'revert' ? [`${s.owner}/${s.migration}`] : [])));
  if (reverted.size === 0) return;
  const enabled = new Set(project.owners.map((o) => o.name));
  const disabled = [...project.discovered.values()].filter((o) => !enabled.has(o.name));
  if (disabled.length === 0) return;
  const history = await readHistory(db, disabled.map((o) => ({ owner: o.name, table: o.historyTable })));
  const blockers: string[] = [];
  for (const owner of disabled) {
    const applied = new Set(history.rows.filter((r) => r.owner === owner.name && isApplied(r)).map((r) => r.migrationName));
    if (applied.size === 0) continue;
    for (const m of readMigrations(owner.migrationsDir)) {
      if (!applied.has(m.name)) continue;
      for (const r of m.requires) {
        if (reverted.has(`${r.owner}/${r.migration}`)) blockers.push(`${owner.name}/${m.name} requires ${r.owner}/${r.migration}`);
      }
    }
  }
  if (blockers.length === 0) return;
  const owners = [...new Set(blockers.map((b) => b.split('/')[0]!))];
  throw new CheckError(
    `Cannot roll back: extension${owners.length === 1 ? '' : 's'} ${owners.map((o) => `"${o}"`).join(', ')} ${owners.length === 1 ? 'is' : 'are'} not enabled but ${owners.length === 1 ? 'has' : 'have'} applied migrations that need what would be removed (${blockers.slice(0, 3).join('; ')}${blockers.length > 3 ? '; ...' : ''}); enable ${owners.length === 1 ? 'it' : 'them'} for this command (\`orchestrate --extensions ${[...project.extensions.map((e) => e.name), ...owners].join(',')} downgrade ... --cascade\`) or uninstall ${owners.length === 1 ? 'it' : 'them'} first.`,
  );
}

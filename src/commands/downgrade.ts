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
import { describeFailure, describeInterruption, runPlan } from '../db/runner.js';
import { CheckError, InterruptedError, RuntimeError, UsageError } from '../errors.js';
import { projectProvider } from '../project/provider.js';
import type { Driver } from '../db/driver.js';
import { readHistory } from '../db/history.js';
import { readMigrations } from '../migrations/folder.js';
import type { Plan } from '../apply/plan.js';
import { selectOwners, type Project, type Selection } from '../project/project.js';
import { duration, hasSelection, interruptible, lockOptions, lockWaitLine, openInterruptible, plural } from './apply-shared.js';
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
}

export interface DowngradeOwnerResult {
  owner: string;
  historyTable: string;
  rolledBack: { migration: string; durationMs: number }[];
  historyTableDropped: boolean;
}

export interface DowngradeData {
  database: string;
  owners: DowngradeOwnerResult[];
  /** Owners rolled back only because --cascade reached them. */
  cascaded: string[];
  rolledBack: number;
  durationMs: number;
  sql?: string;
}

export const BASE = 'base';

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
  if (opts.target === BASE && !hasSelection(opts)) {
    throw new UsageError('downgrade --target base rolls back every migration of the owners you name: add --core, --extension <name> or --all.');
  }
  const candidates = hasSelection(opts) ? selectOwners(project, opts).map((o) => o.name) : project.owners.map((o) => o.name);
  const provider = projectProvider(project);
  const db = await openInterruptible(ctx, { lockKey: project.settings.lockKey, waitSeconds: opts.wait, readOnly: opts.sql, provider }, opts.signal);
  try {
    const state =
      db && !opts.sql
        ? await interruptible(db, opts.signal, 'waiting for the migration lock', async () => {
            await db.lock((holder) => ctx.reporter.info(lockWaitLine(holder)), lockOptions(opts.lockTimeout));
            return loadState(db, project);
          })
        : await loadState(db, project);
    const targets =
      opts.target === BASE
        ? candidates.map((owner) => ({ owner, keep: null }))
        : (() => {
            const t = resolveTarget(state, candidates, opts.target);
            return [{ owner: t.owner, keep: t.migration }];
          })();
    const plan = planDowngrade(state, targets, { cascade: Boolean(opts.cascade) });
    if (db) await refuseDisabledDependents(db, project, plan);
    const database = db?.location ?? 'the embedded database';
    const cascaded = plan.owners.map((o) => o.owner).filter((o) => !targets.some((t) => t.owner === o));
    const results = (durations: Map<string, number>): DowngradeOwnerResult[] =>
      plan.owners.map((o) => ({
        owner: o.owner,
        historyTable: o.historyTable,
        rolledBack: o.migrations.filter((m) => durations.has(`${o.owner}/${m}`)).map((m) => ({ migration: m, durationMs: durations.get(`${o.owner}/${m}`)! })),
        historyTableDropped: durations.has(`${o.owner}/`),
      }));

    if (opts.sql) {
      const count = plan.steps.filter((s) => s.kind === 'revert').length;
      const sql = renderPlan(plan, db?.dialect ?? dialectFor(provider), `orchestrate downgrade --sql: ${plural(count, 'migration')} to roll back on ${database}; nothing has been run.`);
      return { data: { database, owners: results(new Map()), cascaded, rolledBack: 0, durationMs: 0, sql }, text: sql };
    }
    if (!db) throw new RuntimeError('No database to roll back.');

    const durations = new Map<string, number>();
    const result = await runPlan(db, plan, {
      signal: opts.signal,
      onStep: ({ step, durationMs }) => {
        if (step.kind === 'revert') {
          durations.set(`${step.owner}/${step.migration}`, durationMs);
          ctx.reporter.info(`Rolled back ${step.owner}/${step.migration} (${duration(durationMs)})`);
        } else if (step.kind === 'drop-history') {
          durations.set(`${step.owner}/`, durationMs);
          ctx.reporter.info(`Dropped the empty history table ${step.table} of ${step.owner}`);
        }
      },
    });
    if (result.failed) throw new RuntimeError(describeFailure(result.failed), { cause: result.failed.error });
    if (result.interrupted) throw new InterruptedError(describeInterruption(result.interrupted, result.done, 'downgrade'));
    const owners = results(durations);
    const rolledBack = owners.reduce((n, o) => n + o.rolledBack.length, 0);
    const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    const text =
      rolledBack === 0
        ? `Nothing to roll back: ${targets.map((t) => `${t.owner} is at ${t.keep ?? 'base'}`).join(', ')} already.`
        : `Rolled back ${plural(rolledBack, 'migration')} (${owners
            .filter((o) => o.rolledBack.length > 0)
            .map((o) => `${o.owner}: ${o.rolledBack.length}`)
            .join(', ')}) in ${duration(durationMs)}${cascaded.length > 0 ? `; cascaded to ${cascaded.join(', ')}` : ''}.`;
    return { data: { database, owners, cascaded, rolledBack, durationMs }, text };
  } finally {
    await db?.close();
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

/**
 * `stamp <owner> <migration>`: record that migration, and every earlier one of the owner not yet
 * applied, as applied without running them (adopting an existing database, or resolving a
 * failed migration whose changes were completed by hand).
 */
import { randomUUID } from 'node:crypto';
import { loadState } from '../apply/load.js';
import { assertMigrationExists, planStamp } from '../apply/plan.js';
import { executePlan } from '../api/apply.js';
import { InterruptedError, RuntimeError } from '../errors.js';
import { projectProvider } from '../project/provider.js';
import { readMigrations } from '../migrations/folder.js';
import { interruptible, lockFileWait, lockOptions, lockWaitLine, openInterruptible, ownerArgument, plural } from './apply-shared.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export interface StampData {
  database: string;
  owner: string;
  historyTable: string;
  /** Recorded by this run, in order. */
  stamped: string[];
}

/**
 * @example
 *   await stamp(ctx, { owner: 'core', migration: '20250101120000_init' });
 */
export async function stamp(
  ctx: Context,
  opts: { owner: string; migration: string; lockTimeout?: number; signal?: AbortSignal },
): Promise<CommandResult<StampData>> {
  const project = contextProject(ctx);
  const owner = ownerArgument(project, opts.owner, 'stamp');
  assertMigrationExists(owner, readMigrations(owner.migrationsDir), opts.migration, 'stamp');
  const db = (await openInterruptible(ctx, { lockKey: project.settings.lockKey, provider: projectProvider(project), ...lockFileWait(opts.lockTimeout) }, opts.signal))!;
  try {
    const state = await interruptible(db, opts.signal, 'waiting for the migration lock', async () => {
      await db.lock((holder) => ctx.reporter.info(lockWaitLine(holder)), lockOptions(opts.lockTimeout));
      return loadState(db, project);
    });
    const plan = planStamp(state, owner.name, opts.migration, randomUUID);
    const result = await executePlan(db, plan, { signal: opts.signal });
    if (result.error) throw new RuntimeError(result.error.problem.message, { cause: result.error.cause });
    if (result.interruption) throw new InterruptedError(result.interruption.message);
    const stamped = plan.owners[0]!.migrations;
    const text =
      stamped.length === 0
        ? `${owner.name}/${opts.migration} is already applied; nothing to stamp.`
        : `Recorded ${plural(stamped.length, 'migration')} of ${owner.name} as applied without running ${stamped.length === 1 ? 'it' : 'them'}: ${stamped.join(', ')}.`;
    return { data: { database: db.location, owner: owner.name, historyTable: owner.historyTable, stamped }, text };
  } finally {
    await db.close();
  }
}

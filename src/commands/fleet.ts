/**
 * `fleet`: migrate every tenant database of a list, canary first, a bounded number at a time,
 * in this process. `fleet enqueue|worker|status` spread the same work over many processes
 * through a job queue on a control database (src/fleet/queue.ts).
 */
import { UsageError } from '../errors.js';
import { migrateDatabase, type ProjectRef } from '../fleet/migrate-one.js';
import { runFleet, type DatabaseReport, type FleetReport, type OnError } from '../fleet/run.js';
import { enqueueRollout, rolloutStatus, runWorker, type EnqueueResult, type RolloutStatus, type WorkerSummary } from '../fleet/queue.js';
import { loadTenants, type TenantSource } from '../fleet/sources.js';
import { canaryGroup } from '../fleet/tenants.js';
import { duration, plural, table } from './apply-shared.js';
import type { CommandResult, Context } from './context.js';

export interface SourceOptions {
  file?: string;
  command?: string;
  query?: string;
  controlUrl?: string;
}

export interface FleetOptions extends SourceOptions {
  canary?: string;
  concurrency?: number;
  onError?: OnError;
  sql?: boolean;
  plan?: boolean;
}

/** The tenant source named by exactly one of --file, --command, --query. */
export function tenantSource(ctx: Context, opts: SourceOptions): TenantSource {
  const given = [opts.file !== undefined && '--file', opts.command !== undefined && '--command', opts.query !== undefined && '--query'].filter(Boolean);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'fleet needs a tenant list: --file <path>, --command <cmd> or --query <sql> (with --control-url).'
        : `fleet takes one tenant list, but ${given.join(' and ')} were given; keep one.`,
    );
  }
  if (opts.file !== undefined) return { kind: 'file', path: opts.file };
  if (opts.command !== undefined) return { kind: 'command', command: opts.command };
  return { kind: 'query', sql: opts.query!, controlUrl: controlUrl(ctx, opts, '--query') };
}

/** `--control-url`, else ORCHESTRATE_CONTROL_URL. */
export function controlUrl(ctx: Context, opts: { controlUrl?: string }, flag: string): string {
  const url = opts.controlUrl ?? ctx.env.ORCHESTRATE_CONTROL_URL;
  if (!url || url.trim() === '') throw new UsageError(`${flag} needs the control database: pass --control-url <postgresql://...> or set ORCHESTRATE_CONTROL_URL.`);
  return url.trim();
}

export function projectRef(ctx: Context): ProjectRef {
  return { root: ctx.root, extensions: ctx.globals.extensions, env: ctx.env };
}

/** One progress word per database outcome. */
export function outcomeText(d: DatabaseReport): string {
  switch (d.status) {
    case 'applied':
      return `applied ${plural(d.applied.length, 'migration')}`;
    case 'up-to-date':
      return 'up to date';
    case 'pending':
      return `${plural(d.remaining.length, 'migration')} pending`;
    case 'failed':
      return `FAILED: ${d.error?.message ?? 'unknown error'}`;
    case 'interrupted':
      return `interrupted${d.error ? `: ${d.error.message}` : ''}`;
    case 'not-started':
      return 'not started';
  }
}

/** The report for humans: one row per database, totals, why it stopped, what did not start. */
export function renderReport(report: FleetReport): string {
  const rows = report.databases.map((d) => [
    d.name + (d.canary ? ' (canary)' : ''),
    d.status,
    String(d.applied.length),
    String(d.remaining.length),
    d.error ? d.error.message : '',
  ]);
  const lines = [table(['DATABASE', 'STATUS', 'APPLIED', 'PENDING', 'ERROR'], rows, '')];
  const t = report.totals;
  const parts = [
    `${t.applied} applied (${plural(t.migrationsApplied, 'migration')})`,
    `${t.upToDate} up to date`,
    ...(report.mode === 'plan' ? [`${t.pending} with pending migrations`] : []),
    `${t.failed} failed`,
    `${t.interrupted} interrupted`,
    `${t.notStarted} not started`,
  ];
  lines.push('', `${plural(t.databases, 'database')}: ${parts.join(', ')}; ${duration(report.durationMs)}.`);
  if (report.stopped?.reason === 'canary-failed') lines.push(`Stopped: canary database ${report.stopped.database} failed; fix it and rerun to resume.`);
  if (report.stopped?.reason === 'failed') lines.push(`Stopped at ${report.stopped.database} (--on-error stop); fix it and rerun to resume.`);
  if (report.stopped?.reason === 'interrupted') lines.push('Interrupted; rerun to resume.');
  if (report.notStarted.length > 0) lines.push(`Not started: ${report.notStarted.join(', ')}.`);
  return lines.join('\n');
}

function exitCodeOf(report: FleetReport): 0 | 1 | 130 {
  if (report.stopped?.reason === 'interrupted') return 130;
  return report.totals.failed > 0 ? 1 : 0;
}

/**
 * @example
 *   const { data } = await fleet(ctx, { file: 'tenants.txt', concurrency: 8, canary: '1' });
 *   data.totals.failed; // 0
 */
export async function fleet(ctx: Context, opts: FleetOptions, signal?: AbortSignal): Promise<CommandResult<FleetReport>> {
  const source = tenantSource(ctx, opts);
  const tenants = await loadTenants(source, ctx.root);
  const canary = canaryGroup(tenants, opts.canary);
  const project = projectRef(ctx);
  const plan = Boolean(opts.plan || opts.sql);
  const report = await runFleet(
    tenants,
    { canary, concurrency: opts.concurrency ?? 4, onError: opts.onError ?? 'stop', plan, sql: Boolean(opts.sql) },
    (tenant, o) => migrateDatabase(project, tenant.url, o),
    (event) => {
      if (event.kind === 'start') ctx.reporter.info(`[started ${event.started}/${event.total}] ${event.name}`);
      else {
        const d = event.database;
        ctx.reporter.info(`[done ${event.finished}/${event.total}] ${d.name}: ${outcomeText(d)} (${duration(d.durationMs ?? 0)})`);
      }
    },
    signal,
  );
  let text = renderReport(report);
  if (opts.sql) {
    const scripts = report.databases.filter((d) => d.sql !== undefined).map((d) => `-- ===== ${d.name} (${d.url})\n${d.sql!.trimEnd()}`);
    text = `${scripts.join('\n\n')}\n\n${text.replace(/^/gm, '-- ')}`;
  }
  return { data: report, text, exitCode: exitCodeOf(report) };
}

export interface EnqueueCommandOptions extends SourceOptions {
  canary?: string;
  onError?: OnError;
  rollout?: string;
  maxAttempts?: number;
}

/** `fleet enqueue`: one job per database into the control database's queue. */
export async function fleetEnqueue(ctx: Context, opts: EnqueueCommandOptions): Promise<CommandResult<EnqueueResult>> {
  const url = controlUrl(ctx, opts, 'fleet enqueue');
  const tenants = await loadTenants(tenantSource(ctx, opts), ctx.root);
  const canary = canaryGroup(tenants, opts.canary);
  const extensions = ctx.globals.extensions ?? ctx.env.APP_EXTENSIONS;
  const result = await enqueueRollout(tenants, { controlUrl: url, rollout: opts.rollout, canary, onError: opts.onError ?? 'stop', maxAttempts: opts.maxAttempts ?? 10, extensions });
  const gate = result.waiting > 0 ? `; ${plural(result.waiting, 'more database')} queued once the ${plural(canary.length, 'canary')} succeed` : '';
  return {
    data: result,
    text: `Rollout ${result.rollout}: ${plural(result.queued, 'job')} queued for ${plural(result.databases, 'database')}${gate}. Start workers with \`orchestrate fleet worker\`; follow with \`orchestrate fleet status\`.`,
  };
}

export interface WorkerCommandOptions {
  controlUrl?: string;
  concurrency?: number;
  lockTimeout?: number;
  pollInterval?: number;
  untilDone?: boolean;
}

/** `fleet worker`: take jobs and migrate until stopped (or, with --until-done, until none is left). */
export async function fleetWorker(ctx: Context, opts: WorkerCommandOptions, signal?: AbortSignal): Promise<CommandResult<WorkerSummary>> {
  const url = controlUrl(ctx, opts, 'fleet worker');
  const summary = await runWorker({
    controlUrl: url,
    project: { root: ctx.root, env: ctx.env },
    concurrency: opts.concurrency ?? 4,
    lockTimeoutSeconds: opts.lockTimeout ?? 60,
    pollIntervalMs: Math.round((opts.pollInterval ?? 2) * 1000),
    untilDone: Boolean(opts.untilDone),
    signal,
    onEvent: (e) => {
      if (e.kind === 'start') ctx.reporter.info(`[${e.rollout}] started ${e.name} (attempt ${e.attempt})`);
      else if (e.kind === 'end') ctx.reporter.info(`[${e.rollout}] ${e.name}: ${e.status === 'failed' ? `FAILED: ${e.error}` : e.status === 'applied' ? `applied ${plural(e.applied, 'migration')}` : 'up to date'}`);
      else if (e.kind === 'retry') ctx.reporter.warn(`[${e.rollout}] ${e.name}: attempt ${e.attempt} could not reach the database; retrying later. ${e.error}`);
      else if (e.kind === 'stopped') ctx.reporter.warn(`[${e.rollout}] stopped: ${e.database} failed; the databases not started yet are taken off the queue.`);
      else if (e.kind === 'takeover') ctx.reporter.warn(`Took over the jobs of ${plural(e.workers.length, 'worker')} with no heartbeat: ${e.workers.join(', ')}.`);
      else ctx.reporter.warn(e.message);
    },
  });
  return {
    data: summary,
    text: `Worker done: ${plural(summary.jobs, 'job')}, ${plural(summary.applied, 'migration')} applied, ${summary.failed} failed, ${summary.retried} retried.`,
  };
}

/** `fleet status`: a rollout's report from the control database. */
export async function fleetStatus(ctx: Context, opts: { controlUrl?: string; rollout?: string }): Promise<CommandResult<RolloutStatus>> {
  const s = await rolloutStatus(controlUrl(ctx, opts, 'fleet status'), opts.rollout);
  const rows = s.databases.map((d) => [
    d.name + (d.canary ? ' (canary)' : ''),
    d.status,
    String(d.applied.length),
    d.job ? `attempt ${d.job.attempts}/${d.job.maxAttempts}${d.job.lockedBy ? ', running' : ''}` : '',
    d.error ?? '',
  ]);
  const counts = (['applied', 'up-to-date', 'failed', 'not-started', 'running', 'retrying', 'queued', 'waiting'] as const).filter((k) => s.totals[k] > 0).map((k) => `${s.totals[k]} ${k}`);
  const lines = [
    `Rollout ${s.rollout} (created ${s.createdAt}, on error: ${s.onError}${s.canary.length > 0 ? `, canary: ${s.canary.join(', ')}` : ''})`,
    table(['DATABASE', 'STATUS', 'APPLIED', 'JOB', 'ERROR'], rows, ''),
    '',
    `${plural(s.totals.databases, 'database')}: ${counts.join(', ') || 'none'}; ${plural(s.totals.migrationsApplied, 'migration')} applied; ${plural(s.totals.jobs, 'job')} in the queue; ${s.finished ? 'finished' : 'in progress'}.`,
  ];
  if (s.stopped) lines.push(`Stopped: ${s.stopped.database} failed${s.stopped.reason === 'canary-failed' ? ' (canary)' : ''}; fix it and enqueue a new rollout to resume.`);
  if (s.notStarted.length > 0) lines.push(`Not started: ${s.notStarted.join(', ')}.`);
  if (s.unaccounted.length > 0) lines.push(`No job left behind these unfinished databases: ${s.unaccounted.join(', ')}; enqueue a new rollout to finish them.`);
  return { data: s, text: lines.join('\n'), exitCode: s.totals.failed > 0 ? 1 : 0 };
}

/**
 * A fleet rollout on one machine: the canary group first (any failure stops the rollout), then
 * the rest, at most `concurrency` databases at a time. Each database is one `migrate` run
 * (locked, idempotent), so rerunning a rollout resumes it. The result is a report as data.
 */
import { OrchestrateError, messageOf } from '../errors.js';
import { DatabaseFailure, type DatabaseOutcome } from './migrate-one.js';
import { safeUrl, scrub, type Tenant } from './tenants.js';

export type OnError = 'stop' | 'continue';

export type DatabaseStatus =
  /** Migrations were applied. */
  | 'applied'
  /** Nothing was pending. */
  | 'up-to-date'
  /** --plan/--sql: migrations would be applied; nothing was touched. */
  | 'pending'
  | 'failed'
  /** Running when the rollout was interrupted, and ended by it. */
  | 'interrupted'
  /** Never started: the rollout stopped (failure or interruption) before reaching it. */
  | 'not-started';

export interface DatabaseReport {
  name: string;
  /** Without password. */
  url: string;
  labels: string[];
  canary: boolean;
  status: DatabaseStatus;
  /** `owner/migration` applied by this run. */
  applied: string[];
  /** Migrations already applied before this run. */
  skipped: number;
  /** Still pending after this run (for --plan: what a run would apply). */
  remaining: string[];
  error?: { message: string; exitCode: number };
  durationMs?: number;
  /** --sql: the script a run would execute. */
  sql?: string;
}

export interface FleetTotals {
  databases: number;
  applied: number;
  upToDate: number;
  pending: number;
  failed: number;
  interrupted: number;
  notStarted: number;
  /** Migrations applied over all databases. */
  migrationsApplied: number;
}

export interface FleetReport {
  mode: 'migrate' | 'plan';
  onError: OnError;
  concurrency: number;
  canary: string[];
  databases: DatabaseReport[];
  totals: FleetTotals;
  /** Why the rollout stopped before the end, if it did. */
  stopped: { reason: 'canary-failed' | 'failed' | 'interrupted'; database?: string } | null;
  /** Names of the databases never started. */
  notStarted: string[];
  durationMs: number;
}

export type FleetEvent =
  | { kind: 'start'; name: string; started: number; total: number }
  | { kind: 'end'; database: DatabaseReport; finished: number; total: number };

export interface FleetOptions {
  canary: string[];
  concurrency: number;
  onError: OnError;
  plan: boolean;
  sql: boolean;
}

export type MigrateOne = (tenant: Tenant, options: { plan: boolean; sql: boolean; signal: AbortSignal }) => Promise<DatabaseOutcome>;

/**
 * Runs the rollout. Never throws for a database's failure: that is in the report.
 *
 * @example
 *   const report = await runFleet(tenants, { canary: ['acme'], concurrency: 8, onError: 'stop', plan: false, sql: false },
 *     (t, o) => migrateDatabase(project, t.url, o), (e) => log(e), signal);
 *   report.totals.failed; // 0
 */
export async function runFleet(
  tenants: Tenant[],
  options: FleetOptions,
  migrateOne: MigrateOne,
  onEvent: (event: FleetEvent) => void = () => {},
  signal: AbortSignal = new AbortController().signal,
): Promise<FleetReport> {
  const started = process.hrtime.bigint();
  const canary = new Set(options.canary);
  const reports = new Map<string, DatabaseReport>();
  const total = tenants.length;
  let startedCount = 0;
  let finishedCount = 0;
  let stopped: FleetReport['stopped'] = null;

  const runOne = async (tenant: Tenant): Promise<DatabaseReport> => {
    startedCount++;
    onEvent({ kind: 'start', name: tenant.name, started: startedCount, total });
    const t0 = process.hrtime.bigint();
    const base = { name: tenant.name, url: safeUrl(tenant.url), labels: tenant.labels, canary: canary.has(tenant.name) };
    let report: DatabaseReport;
    try {
      const outcome = await migrateOne(tenant, { plan: options.plan, sql: options.sql, signal });
      const status: DatabaseStatus = options.plan || options.sql ? (outcome.remaining.length > 0 ? 'pending' : 'up-to-date') : outcome.applied.length > 0 ? 'applied' : 'up-to-date';
      report = { ...base, status, applied: outcome.applied, skipped: outcome.skipped, remaining: outcome.remaining, ...(outcome.sql !== undefined ? { sql: outcome.sql } : {}) };
    } catch (error) {
      const exitCode = error instanceof OrchestrateError ? error.exitCode : 1;
      // A failed migration says what ran before it; a connection or input error ran nothing.
      const partial = error instanceof DatabaseFailure ? error.outcome : { applied: [], skipped: 0, remaining: [] };
      report = {
        ...base,
        status: signal.aborted ? 'interrupted' : 'failed',
        ...partial,
        error: { message: scrub(messageOf(error), tenant.url), exitCode },
      };
    }
    report.durationMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
    reports.set(tenant.name, report);
    finishedCount++;
    onEvent({ kind: 'end', database: report, finished: finishedCount, total });
    return report;
  };

  /** Runs `group` with bounded concurrency; stops taking new ones when `stop()` says so. */
  const runGroup = async (group: Tenant[], stopOnFailure: boolean, reason: 'canary-failed' | 'failed') => {
    let next = 0;
    const lane = async () => {
      while (next < group.length && stopped === null && !signal.aborted) {
        const tenant = group[next++]!;
        const report = await runOne(tenant);
        if (report.status === 'failed' && stopOnFailure && stopped === null) stopped = { reason, database: tenant.name };
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, group.length) }, lane));
  };

  const first = tenants.filter((t) => canary.has(t.name));
  const rest = tenants.filter((t) => !canary.has(t.name));
  await runGroup(first, true, 'canary-failed');
  if (stopped === null && !signal.aborted) await runGroup(rest, options.onError === 'stop', 'failed');
  if (stopped === null && signal.aborted) stopped = { reason: 'interrupted' };

  const databases: DatabaseReport[] = tenants.map(
    (t) =>
      reports.get(t.name) ?? { name: t.name, url: safeUrl(t.url), labels: t.labels, canary: canary.has(t.name), status: 'not-started', applied: [], skipped: 0, remaining: [] },
  );
  const count = (s: DatabaseStatus) => databases.filter((d) => d.status === s).length;
  return {
    mode: options.plan || options.sql ? 'plan' : 'migrate',
    onError: options.onError,
    concurrency: options.concurrency,
    canary: options.canary,
    databases,
    totals: {
      databases: databases.length,
      applied: count('applied'),
      upToDate: count('up-to-date'),
      pending: count('pending'),
      failed: count('failed'),
      interrupted: count('interrupted'),
      notStarted: count('not-started'),
      migrationsApplied: databases.reduce((n, d) => n + d.applied.length, 0),
    },
    stopped,
    notStarted: databases.filter((d) => d.status === 'not-started').map((d) => d.name),
    durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
  };
}

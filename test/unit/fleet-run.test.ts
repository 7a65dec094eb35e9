/**
 * The rollout scheduler on its own, driven by an in-memory migrate (as umzug's tests use an
 * in-memory storage): order, the concurrency bound, canary and stop rules, interruption.
 */
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { DatabaseFailure } from '../../src/fleet/migrate-one.js';
import { runFleet, type FleetEvent, type MigrateOne } from '../../src/fleet/run.js';
import type { Tenant } from '../../src/fleet/tenants.js';

const tenants = (n: number): Tenant[] => Array.from({ length: n }, (_, i) => ({ name: `t${i + 1}`, url: `postgresql://u:s3cret@h/t${i + 1}`, labels: [] }));
const tick = () => new Promise((r) => setTimeout(r, 5));

/** Applies one migration per tenant after a tick; tenants in `failing` fail like a refused migration. */
function memoryMigrate(failing: Set<string>, log: string[] = []): { run: MigrateOne; maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  const run: MigrateOne = async (t, o) => {
    inFlight++;
    max = Math.max(max, inFlight);
    log.push(t.name);
    try {
      await tick();
      if (o.signal.aborted) throw new RuntimeError('interrupted while migrating');
      if (failing.has(t.name)) throw new RuntimeError(`core/1_init failed on ${t.url}: password s3cret rejected.`);
      return { applied: ['core/1_init'], skipped: 0, remaining: [] };
    } finally {
      inFlight--;
    }
  };
  return { run, maxInFlight: () => max };
}

const options = { canary: [] as string[], concurrency: 3, onError: 'stop' as const, plan: false, sql: false };

describe('runFleet', () => {
  it('never runs more than --concurrency at once, and reports every database', async () => {
    const m = memoryMigrate(new Set());
    const events: FleetEvent[] = [];
    const report = await runFleet(tenants(10), options, m.run, (e) => events.push(e));
    expect(m.maxInFlight()).toBe(3);
    expect(report.totals).toMatchObject({ databases: 10, applied: 10, migrationsApplied: 10, failed: 0, notStarted: 0 });
    expect(events.filter((e) => e.kind === 'start').map((e) => (e as { started: number }).started)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.at(-1)).toMatchObject({ kind: 'end', finished: 10, total: 10 });
  });

  it('runs the canaries first and stops when one fails, whatever --on-error says', async () => {
    const log: string[] = [];
    const m = memoryMigrate(new Set(['t4']), log);
    const report = await runFleet(tenants(6), { ...options, canary: ['t4', 't5'], onError: 'continue' }, m.run);
    expect(log.slice(0, 2)).toEqual(['t4', 't5']);
    expect(report.stopped).toEqual({ reason: 'canary-failed', database: 't4' });
    expect(report.notStarted).toEqual(['t1', 't2', 't3', 't6']);
    // the password a database error quoted is hidden
    expect(report.databases[3]!.error!.message).toBe('core/1_init failed on postgresql://u:****@h/t4: password **** rejected.');
  });

  it('--on-error stop lets the running ones finish and starts none after the failure; continue goes on', async () => {
    const stop = await runFleet(tenants(8), { ...options, concurrency: 2 }, memoryMigrate(new Set(['t3'])).run);
    expect(stop.stopped).toEqual({ reason: 'failed', database: 't3' });
    expect(stop.databases.map((d) => d.status)).toEqual(['applied', 'applied', 'failed', 'applied', 'not-started', 'not-started', 'not-started', 'not-started']);
    const goOn = await runFleet(tenants(8), { ...options, concurrency: 2, onError: 'continue' }, memoryMigrate(new Set(['t3'])).run);
    expect(goOn.stopped).toBeNull();
    expect(goOn.totals).toMatchObject({ applied: 7, failed: 1, notStarted: 0 });
  });

  it('an abort ends the running ones as interrupted and starts no more', async () => {
    const controller = new AbortController();
    const report = await runFleet(
      tenants(6),
      options,
      memoryMigrate(new Set()).run,
      (e) => {
        if (e.kind === 'start' && e.started === 2) controller.abort();
      },
      controller.signal,
    );
    expect(report.stopped).toEqual({ reason: 'interrupted' });
    expect(report.databases.map((d) => d.status)).toEqual(['interrupted', 'interrupted', 'not-started', 'not-started', 'not-started', 'not-started']);
  });

  it('a failed database reports what was applied before the failing migration', async () => {
    const run: MigrateOne = async (t) => {
      if (t.name === 't2') throw new DatabaseFailure('billing/1_init failed.', { applied: ['core/1_init'], skipped: 0, remaining: ['billing/1_init'] }, undefined);
      return { applied: [], skipped: 2, remaining: [] };
    };
    const report = await runFleet(tenants(2), options, run);
    expect(report.databases[1]).toMatchObject({ status: 'failed', applied: ['core/1_init'], remaining: ['billing/1_init'], error: { message: 'billing/1_init failed.', exitCode: 1 } });
    expect(report.totals).toMatchObject({ upToDate: 1, failed: 1, migrationsApplied: 1 });
  });
});

/**
 * createOrchestrator in-process against real PostgreSQL: results and problems are data, events
 * come in order, concurrent appliers run each migration once, a signal stops between migrations.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckError, createOrchestrator, type OrchestrateEvent, type Orchestrator } from '../src/index.js';
import { createDatabase, query, tempDir, writeProject } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A project with hand-written migrations (no engine needed): core a, b, c; billing x requiring core a. */
function project(): string {
  const t = tempDir('orch-api-');
  cleanups.push(t.cleanup);
  writeProject(t.dir, { core: '', extensions: { billing: { schema: '' } } });
  const migration = (dir: string, name: string, up: string, down: string) => {
    mkdirSync(path.join(t.dir, dir, name), { recursive: true });
    writeFileSync(path.join(t.dir, dir, name, 'migration.sql'), up);
    writeFileSync(path.join(t.dir, dir, name, 'down.sql'), down);
  };
  migration('prisma/migrations', '20250101000000_a', 'CREATE TABLE a (id int);\n', 'DROP TABLE a;\n');
  migration('prisma/migrations', '20250101000001_b', 'CREATE TABLE b (id int);\n', 'DROP TABLE b;\n');
  migration('prisma/migrations', '20250101000002_c', 'CREATE TABLE c (id int);\n', 'DROP TABLE c;\n');
  migration('extensions/billing/migrations', '20250102000000_x', '-- orchestrate:requires core 20250101000000_a\nCREATE TABLE billing_x (id int);\n', 'DROP TABLE billing_x;\n');
  return t.dir;
}

async function orchestrator(root: string, url: string, extensions = ['billing']): Promise<Orchestrator> {
  const o = createOrchestrator({ root, database: url, extensions });
  cleanups.push(() => o.close());
  return o;
}

async function database(): Promise<string> {
  const db = await createDatabase('orch_api');
  cleanups.push(db.drop);
  return db.url;
}

describe('createOrchestrator', () => {
  it('plans, applies with events, reports status, and plans nothing the second time', async () => {
    const root = project();
    const url = await database();
    const o = await orchestrator(root, url);
    expect((await o.status()).counts).toEqual({ applied: 0, pending: 4, failed: 0, modified: 0, missing: 0 });
    const plan = await o.planUpgrade();
    expect(plan.owners.map((p) => [p.owner, p.migrations])).toEqual([
      ['core', ['20250101000000_a', '20250101000001_b', '20250101000002_c']],
      ['billing', ['20250102000000_x']],
    ]);
    expect(o.sql(plan)).toContain('CREATE TABLE billing_x (id int);');
    const events: OrchestrateEvent[] = [];
    const result = await o.apply(plan, { onEvent: (e) => events.push(e) });
    expect(result.ok).toBe(true);
    expect(result.results.map((r) => [r.owner, r.migration, r.direction, r.status])).toEqual([
      ['core', '20250101000000_a', 'Up', 'Success'],
      ['core', '20250101000001_b', 'Up', 'Success'],
      ['core', '20250101000002_c', 'Up', 'Success'],
      ['billing', '20250102000000_x', 'Up', 'Success'],
    ]);
    expect(events.map((e) => (e.type.startsWith('migration:') ? `${e.type} ${(e as { migration: string }).migration}` : e.type))).toEqual([
      'lock:acquired',
      'migration:start 20250101000000_a',
      'migration:end 20250101000000_a',
      'migration:start 20250101000001_b',
      'migration:end 20250101000001_b',
      'migration:start 20250101000002_c',
      'migration:end 20250101000002_c',
      'migration:start 20250102000000_x',
      'migration:end 20250102000000_x',
    ]);
    expect((await o.status()).upToDate).toBe(true);
    expect((await o.planUpgrade()).steps).toEqual([]);
  });

  it('reports a failing migration as Error, the ones after it as NotExecuted, and rolls it back', async () => {
    const root = project();
    writeFileSync(path.join(root, 'prisma/migrations/20250101000001_b/migration.sql'), 'CREATE TABLE b (id int);\nINSERT INTO b VALUES (1/0);\n');
    const url = await database();
    const o = await orchestrator(root, url);
    const result = await o.apply(await o.planUpgrade());
    expect(result.ok).toBe(false);
    expect(result.results.map((r) => r.status)).toEqual(['Success', 'Error', 'NotExecuted', 'NotExecuted']);
    expect(result.error?.problem).toMatchObject({ code: 'migration-failed', owner: 'core', migration: '20250101000001_b', line: 2 });
    expect(result.error?.reason).toBe('division by zero');
    expect(result.error?.statement).toEqual({ text: 'INSERT INTO b VALUES (1/0);', line: 2 });
    expect(await query(url, "SELECT to_regclass('b') AS b, to_regclass('a') AS a")).toEqual([{ a: 'a', b: null }]);
  });

  it('lets several processes apply the same plan: each migration runs once', async () => {
    const root = project();
    const url = await database();
    const all = await Promise.all([1, 2, 3].map(() => orchestrator(root, url)));
    const plans = await Promise.all(all.map((o) => o.planUpgrade()));
    const results = await Promise.all(all.map((o, i) => o.apply(plans[i]!)));
    expect(results.every((r) => r.ok)).toBe(true);
    const ran = results.flatMap((r) => r.results.map((m) => m.migration)).sort();
    expect(ran).toEqual(['20250101000000_a', '20250101000001_b', '20250101000002_c', '20250102000000_x']);
    expect(results.map((r) => r.alreadyDone.length).sort()).toEqual([0, 4, 4]);
    expect(await query(url, 'SELECT count(*)::int AS n FROM _prisma_migrations')).toEqual([{ n: 3 }]);
  });

  it('stops between migrations when the signal is aborted', async () => {
    const root = project();
    const url = await database();
    const o = await orchestrator(root, url);
    const controller = new AbortController();
    const result = await o.apply(await o.planUpgrade(), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'migration:end') controller.abort();
      },
    });
    expect(result).toMatchObject({ ok: false, aborted: true, error: null });
    expect(result.results.map((r) => r.status)).toEqual(['Success', 'NotExecuted', 'NotExecuted', 'NotExecuted']);
    expect(result.interruption).toMatchObject({ code: 'interrupted' });
    expect(result.interruption!.message).toMatch(/^Interrupted before applying core\/\S+, which did not start; the 1 migration\(s\) applied before it stay applied; run migrate again to continue\.$/);
  });

  it('plans and applies a downgrade, and refuses one the database has moved past', async () => {
    const root = project();
    const url = await database();
    const o = await orchestrator(root, url);
    await o.apply(await o.planUpgrade());
    await expect(o.planDowngrade({ owners: ['core'], target: 'base' })).rejects.toMatchObject({
      problems: [{ code: 'required-by', owner: 'core', migration: '20250101000000_a' }],
    });
    const plan = await o.planDowngrade({ owners: ['core'], target: '20250101000001_b' });
    const other = await orchestrator(root, url);
    const stale = await other.planDowngrade({ owners: ['core'], target: 'base', cascade: true });
    const result = await o.apply(plan);
    expect(result.results.map((r) => [r.migration, r.direction, r.status])).toEqual([['20250101000002_c', 'Down', 'Success']]);
    await expect(other.apply(stale)).rejects.toThrow(/^The database changed since this downgrade was planned/);
  });

  it('throws what stops a run before it starts as typed problems', async () => {
    const root = project();
    const url = await database();
    const o = await orchestrator(root, url);
    await o.apply(await o.planUpgrade({ owners: ['core'], target: '20250101000000_a' }));
    appendFileSync(path.join(root, 'prisma/migrations/20250101000000_a/migration.sql'), '-- edited\n');
    const error = await o.planUpgrade().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckError);
    expect((error as CheckError).problems).toEqual([
      expect.objectContaining({ code: 'checksum-mismatch', owner: 'core', migration: '20250101000000_a', file: path.join(root, 'prisma/migrations/20250101000000_a/migration.sql') }),
    ]);
    const report = await o.check();
    expect(report.ok).toBe(false);
    // Hand-written migrations have no snapshot: replayed, they create tables the (empty) schemas do not declare.
    expect(report.problems.map((p) => [p.code, p.owner])).toEqual([
      ['drift', 'core'],
      ['drift', 'billing'],
      ['checksum-mismatch', 'core'],
    ]);
  });

  it('is closed after close()', async () => {
    const o = createOrchestrator({ root: project(), database: 'postgresql://127.0.0.1:1/none' });
    await o.close();
    await expect(o.status()).rejects.toThrow('This orchestrator is closed; create another one.');
  });
});

/**
 * The repository's own sample app (prisma/ and extensions/): its committed migrations match its
 * schemas, apply and roll back cleanly on a real server, and the Prisma CLI path writes the very
 * same SQL for every owner.
 */
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO, catalogSnapshot, createDatabase, query, tempDir } from './helpers.js';
import { reviseInProcess } from './in-process.js';
import { createOrchestrator } from '../src/index.js';

const ENV = { APP_EXTENSIONS: 'billing,crm,analytics' };
/** The owners in dependency order: core, then each extension after the ones it depends on. */
const ORDER = ['core', 'billing', 'analytics', 'crm'];
const OWNERS: Record<string, string> = {
  core: 'prisma/migrations',
  billing: 'extensions/billing/migrations',
  crm: 'extensions/crm/migrations',
  analytics: 'extensions/analytics/migrations',
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A copy of the sample app; the `fresh` owners' migrations are dropped so that their revision starts over. */
function copySample(fresh: string[] = []): string {
  const t = tempDir('orch-sample-');
  (fresh.length > 0 ? afterRevisions : cleanups).push(t.cleanup);
  cpSync(path.join(REPO, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
  cpSync(path.join(REPO, 'extensions'), path.join(t.dir, 'extensions'), { recursive: true });
  for (const owner of fresh) rmSync(path.join(t.dir, OWNERS[owner]!), { recursive: true, force: true });
  return t.dir;
}

function migrationFiles(dir: string, only: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [owner, folder] of Object.entries(OWNERS).filter(([o]) => o === only)) {
    for (const m of readdirSync(path.join(dir, folder)).filter((n) => /^\d{14}_/.test(n))) {
      for (const f of ['migration.sql', 'down.sql', 'snapshot.prisma']) {
        out[`${owner}/${m.replace(/^\d{14}/, '<ts>')}/${f}`] = readFileSync(path.join(dir, folder, m, f), 'utf8').replace(/\d{14}_/g, '<ts>_');
      }
    }
  }
  return out;
}

/**
 * Per owner, two copies of the sample app without that owner's migrations, revised in-process by
 * each engine (the `--engine` flag itself is tested in prisma-cli-engine.test.ts). The Prisma CLI
 * runs as a process for every diff: owners go one after the other, started by the first
 * comparison, so that each comparison waits for its own owner only.
 */
const revisions = new Map<string, Promise<[string, string]>>();
const afterRevisions: (() => unknown)[] = [];

function revised(owner: string): Promise<[string, string]> {
  if (revisions.size === 0) {
    let previous: Promise<unknown> = Promise.resolve();
    for (const next of Object.keys(OWNERS)) {
      const done = previous.then(async (): Promise<[string, string]> => {
        const [viaWasm, viaCli] = [copySample([next]), copySample([next])];
        const only = { owners: [next], name: 'init' };
        await Promise.all([
          reviseInProcess(viaWasm, ENV.APP_EXTENSIONS.split(','), { ...only, engine: 'wasm' }),
          reviseInProcess(viaCli, ENV.APP_EXTENSIONS.split(','), { ...only, engine: 'prisma-cli' }),
        ]);
        return [viaWasm, viaCli];
      });
      // A failure is reported by the test that awaits it; the next owner still runs.
      done.catch(() => {});
      previous = done.catch(() => {});
      revisions.set(next, done);
    }
  }
  return revisions.get(owner)!;
}

afterAll(async () => {
  await Promise.all([...revisions.values()].map((r) => r.catch(() => {})));
  while (afterRevisions.length) await afterRevisions.pop()!();
});

describe('sample app', () => {
  // In-process: what `revision --all --check` decides from (its wording is tested in revision.test.ts).
  it('has a migration for every schema change', async () => {
    const o = createOrchestrator({ root: copySample(), extensions: ENV.APP_EXTENSIONS.split(','), env: {} });
    try {
      const plan = await o.planRevision({});
      expect(plan.owners.map((p) => [p.owner, p.status, p.up])).toEqual(ORDER.map((owner) => [owner, 'unchanged', '']));
    } finally {
      await o.close();
    }
  });

  // Data only (what was applied, what is left), so in-process: the CLI's wording of migrate and
  // downgrade is tested with their own commands.
  it('migrates on a real server, then rolls every owner back to an empty database', async () => {
    const dir = copySample();
    const db = await createDatabase();
    cleanups.push(db.drop);
    const empty = await catalogSnapshot(db.url);
    const o = createOrchestrator({ root: dir, database: db.url, extensions: ENV.APP_EXTENSIONS.split(','), env: {} });
    try {
      const up = await o.apply(await o.planUpgrade());
      expect(up.ok).toBe(true);
      const perOwner = new Map<string, number>();
      for (const r of up.results) perOwner.set(r.owner, (perOwner.get(r.owner) ?? 0) + (r.status === 'Success' ? 1 : 0));
      expect([...perOwner]).toEqual(ORDER.map((owner) => [owner, { core: 1, billing: 2, analytics: 1, crm: 2 }[owner]]));
      const columns = await query<{ column_name: string }>(db.url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'User' ORDER BY 1`);
      expect(columns.map((c) => c.column_name)).toContain('billing_customer_id');
      for (const owner of ['crm', 'analytics', 'billing', 'core']) {
        const down = await o.apply(await o.planDowngrade({ owners: [owner], target: 'base' }));
        expect(down.ok, owner).toBe(true);
      }
    } finally {
      await o.close();
    }
    expect(await catalogSnapshot(db.url)).toBe(empty);
  });

  it.each(Object.keys(OWNERS))('revision --engine prisma-cli writes byte-identical SQL for %s', async (owner) => {
    const [viaWasm, viaCli] = await revised(owner);
    const wasmFiles = migrationFiles(viaWasm, owner);
    expect(Object.keys(wasmFiles)).toEqual([`${owner}/<ts>_init/migration.sql`, `${owner}/<ts>_init/down.sql`, `${owner}/<ts>_init/snapshot.prisma`]);
    expect(wasmFiles[`${owner}/<ts>_init/migration.sql`]).toMatch(/CREATE TABLE/);
    expect(migrationFiles(viaCli, owner)).toEqual(wasmFiles);
  });
});

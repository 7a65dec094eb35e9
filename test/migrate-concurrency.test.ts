import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_INIT, SAMPLE, SAMPLE_ENV, historyRows, tables, writeMigration, writeSample } from './apply-fixtures.js';
import { CLI, createDatabase, query, runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
let db: Awaited<ReturnType<typeof createDatabase>>;
let env: Record<string, string>;

beforeEach(async () => {
  project = tempDir('orch-concurrency-');
  db = await createDatabase();
  env = { ...SAMPLE_ENV, DATABASE_URL: db.url };
});

afterEach(async () => {
  await db.drop();
  project.cleanup();
});

describe('migrate under concurrency and crashes', () => {
  it('8 processes started at once on a fresh database all succeed and apply each migration exactly once', async () => {
    writeSample(project.dir);
    // A migration that takes a while, so that the processes really overlap.
    writeMigration(project.dir, 'core', '20240301000000_slow', { sql: 'SELECT pg_sleep(0.5);\nCREATE TABLE "Slow" ("id" INTEGER);\n' });
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(project.dir, ['migrate', '--all'], env)));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const appliedBy = runs.filter((r) => r.stdout.startsWith('Applied 6 migrations'));
    expect(appliedBy).toHaveLength(1);
    expect(runs.filter((r) => r.stdout === 'Nothing to apply: 3 owners up to date.')).toHaveLength(7);
    expect(runs.filter((r) => r.stderr.includes('Waiting for another orchestrate run to finish')).length).toBeGreaterThanOrEqual(1);
    for (const table of ['_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm']) {
      const counts = await query<{ migration_name: string; n: number }>(db.url, `SELECT migration_name, count(*)::int AS n FROM "${table}" GROUP BY 1 ORDER BY 1`);
      expect(counts.every((c) => c.n === 1)).toBe(true);
    }
    expect((await historyRows(db.url, '_prisma_migrations')).map((r) => r.migration_name)).toEqual([...Object.keys(SAMPLE.core!), '20240301000000_slow']);
  });

  it('a process killed with SIGKILL during a slow migration leaves nothing of it, and the next run completes', async () => {
    writeSample(project.dir, { core: { [CORE_INIT]: SAMPLE.core![CORE_INIT]! } });
    writeMigration(project.dir, 'core', '20240301000000_slow', {
      sql: 'CREATE TABLE "SlowA" ("id" INTEGER);\nSELECT pg_sleep(3);\nCREATE TABLE "SlowB" ("id" INTEGER);\n',
    });
    const child = execa(process.execPath, [CLI, 'migrate', '--all'], { cwd: project.dir, env: { ...env, NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    // Wait until the slow statement runs on the server.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const busy = await query(db.url, `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()`, [db.name]);
      if (busy.length > 0) break;
      if (Date.now() > deadline) throw new Error('the slow migration never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');

    // Nothing of the interrupted migration is visible, and it is not recorded.
    expect(await tables(db.url)).toEqual(['User', '_prisma_migrations']);
    expect((await historyRows(db.url, '_prisma_migrations')).map((r) => r.migration_name)).toEqual([CORE_INIT]);

    // The next run waits for the dead session to end, then applies the migration from the start.
    const next = await runCli(project.dir, ['migrate', '--all'], env);
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toMatch(/^Applied 1 migration \(core: 1\)/);
    expect(await tables(db.url)).toEqual(['SlowA', 'SlowB', 'User', '_prisma_migrations']);
    const rows = await historyRows(db.url, '_prisma_migrations');
    expect(rows.map((r) => [r.migration_name, r.finished])).toEqual([
      [CORE_INIT, true],
      ['20240301000000_slow', true],
    ]);
  });
});

/**
 * SIGINT and SIGTERM during a run: the server's statement is cancelled, the migration rolled
 * back, the lock released, one line says what was interrupted, and the exit code is 130 / 143.
 * The built CLI runs as a child process against the real server and a real PGlite folder.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCK_KEY } from '../src/config/settings.js';
import { CLI, createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';

const INIT = '20240101000000_init';
const SLOW = '20240102000000_slow';

let dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];
let dirs: { cleanup: () => void }[] = [];

afterAll(async () => {
  for (const d of dbs) await d.drop();
  for (const d of dirs) d.cleanup();
});

function project(slowSql: string): string {
  const t = tempDir('orch-signal-');
  dirs.push(t);
  writeProject(t.dir, {
    files: {
      [`prisma/migrations/${INIT}/migration.sql`]: 'CREATE TABLE "first_t" ("id" INTEGER);\n',
      [`prisma/migrations/${SLOW}/migration.sql`]: slowSql,
    },
  });
  return t.dir;
}

function start(cwd: string, args: string[], env: Record<string, string | undefined>) {
  return execa(process.execPath, [CLI, ...args], {
    cwd,
    reject: false,
    env: { APP_EXTENSIONS: '', DATABASE_URL: undefined, NO_COLOR: '1', ...env },
    stdin: 'ignore',
    timeout: 50_000,
    // execa would follow a SIGTERM with SIGKILL after 5 s: a graceful stop on a busy machine
    // may take longer, and the graceful stop is what these tests examine.
    forceKillAfterDelay: false,
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The backend of the run once it is inside pg_sleep: proof that the migration had started. */
async function sleepingBackend(db: { url: string; name: string }): Promise<number> {
  return waitFor('the run to be inside pg_sleep', async () => {
    const rows = await query<{ pid: number }>(db.url, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'`, [db.name]);
    return rows[0]?.pid;
  });
}

async function advisoryLocks(db: { url: string; name: string }): Promise<number> {
  const [row] = await query<{ n: string }>(
    db.url,
    `SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`,
    [db.name],
  );
  return Number(row!.n);
}

describe.each([
  { signal: 'SIGINT' as const, code: 130, json: false },
  { signal: 'SIGTERM' as const, code: 143, json: true },
])('$signal during migrate on a server', ({ signal, code, json }) => {
  it(`cancels the statement, rolls the migration back, releases the lock and exits ${code}; the next migrate starts at once`, async () => {
    const db = await createDatabase('orch_sig');
    dbs.push(db);
    const dir = project('CREATE TABLE "slow_t" ("id" INTEGER);\nSELECT pg_sleep(30);\n');
    const child = start(dir, json ? ['--json', 'migrate'] : ['migrate'], { DATABASE_URL: db.url });
    const pid = await sleepingBackend(db);
    expect(await advisoryLocks(db)).toBe(1);

    const signalled = Date.now();
    child.kill(signal);
    const result = await child;
    const exitedAfter = Date.now() - signalled;

    expect(result.exitCode).toBe(code);
    expect(exitedAfter).toBeLessThan(2000);
    // Within the same 2 s: the server shows no backend of the run and no advisory lock.
    expect(await query(db.url, 'SELECT pid FROM pg_stat_activity WHERE pid = $1', [pid])).toEqual([]);
    expect(await advisoryLocks(db)).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2000);
    // Nothing of the migration: no table, no history row; the one before it stays.
    expect(await query(db.url, `SELECT to_regclass('public.slow_t') AS t, to_regclass('public.first_t') AS f`)).toEqual([{ t: null, f: 'first_t' }]);
    expect((await query<{ migration_name: string }>(db.url, 'SELECT migration_name FROM "_prisma_migrations" ORDER BY 1')).map((r) => r.migration_name)).toEqual([INIT]);

    const message = `Interrupted while applying core/${SLOW}: its transaction was rolled back, so nothing of it remains; the 1 migration(s) applied before it stay applied; run migrate again to continue.`;
    expect(String(result.stderr).split('\n').filter((l: string) => l.startsWith('interrupted:'))).toEqual([`interrupted: ${message}`]);
    if (json) {
      // The error document carries what the run did beside the error: the interrupted migration is still to do.
      const doc = JSON.parse(String(result.stdout)) as { error: unknown; owners: { owner: string; remaining: string[]; failed: string | null }[] };
      expect(doc.error).toEqual({ message, exitCode: code, signal });
      expect(doc.owners.map((o) => [o.owner, o.remaining, o.failed])).toEqual([['core', [SLOW], null]]);
    }
    else expect(result.stdout).toBe('');

    // The next run neither waits for a lock nor finds anything half done.
    writeFileSync(path.join(dir, `prisma/migrations/${SLOW}/migration.sql`), 'CREATE TABLE "slow_t" ("id" INTEGER);\n');
    const again = await runCli(dir, ['migrate'], { DATABASE_URL: db.url }, { timeout: 20_000 });
    expect(again.stderr).not.toMatch(/Waiting/);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^Applied 1 migration \(core: 1\)/);
  });
});

describe('signals elsewhere in a run', () => {
  it('a second signal exits at once', async () => {
    const db = await createDatabase('orch_sig');
    dbs.push(db);
    const dir = project('SELECT pg_sleep(30);\n');
    const child = start(dir, ['migrate'], { DATABASE_URL: db.url });
    await sleepingBackend(db);
    const signalled = Date.now();
    child.kill('SIGINT');
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(2000);
  });

  it('SIGTERM while waiting for the lock cancels the wait, so that run holds nothing on the server', async () => {
    const db = await createDatabase('orch_sig');
    dbs.push(db);
    const dir = project('CREATE TABLE "slow_t" ("id" INTEGER);\n');
    // Another session holds the migration lock (the default key) until the end of the test.
    const pg = (await import('pg')).default;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [DEFAULT_LOCK_KEY]);
      const child = start(dir, ['migrate'], { DATABASE_URL: db.url });
      const waiting = await waitFor('the run to wait for the lock', async () => {
        const rows = await query<{ pid: number }>(db.url, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'advisory'`, [db.name]);
        return rows[0]?.pid;
      });
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(143);
      expect(result.stderr).toContain('interrupted: Interrupted while waiting for the migration lock; nothing was run.');
      expect(await query(db.url, 'SELECT pid FROM pg_stat_activity WHERE pid = $1', [waiting])).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  // Two tests sharing one folder: a cold PGlite start alone can take half a minute on a busy machine.
  let embedded = '';

  it('on the embedded database: the statement finishes, the migration is rolled back, the lock file is removed, exit 130', async () => {
    const dir = project('CREATE TABLE "slow_t" ("id" INTEGER);\nSELECT pg_sleep(3);\n');
    const child = start(dir, ['migrate'], {});
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor('the first migration to be applied', async () => stderr.includes(`Applied core/${INIT}`), 50_000);
    // PGlite runs pg_sleep on the process's own thread: the signal is handled once it returns.
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain(`interrupted: Interrupted while applying core/${SLOW}: its transaction was rolled back, so nothing of it remains;`);
    expect(existsSync(path.join(dir, '.orchestrate/pglite.lock'))).toBe(false);
    embedded = dir;
  }, 60_000);

  it('on the embedded database: nothing of the interrupted migration remains, and the next migrate applies it without waiting', async () => {
    expect(embedded).not.toBe('');
    writeFileSync(path.join(embedded, `prisma/migrations/${SLOW}/migration.sql`), 'CREATE TABLE "slow_t" ("id" INTEGER);\n');
    // Its CREATE TABLE would fail if the interrupted run had left the table.
    const again = await runCli(embedded, ['migrate'], {}, { timeout: 55_000 });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^Applied 1 migration \(core: 1\)/);
    expect(again.stderr).not.toMatch(/Waiting/);
  }, 60_000);
});

beforeAll(() => {
  dbs = [];
  dirs = [];
});

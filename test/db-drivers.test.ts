/**
 * The driver contract, run against both real implementations: node-postgres on the test server
 * and PGlite in a temp folder.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../src/db/driver.js';
import { databaseErrorFields } from '../src/errors.js';
import { acquireFileLock } from '../src/db/file-lock.js';
import { readHistory } from '../src/db/history.js';
import { openPglite } from '../src/db/pglite.js';
import { connectPostgres } from '../src/db/postgres.js';
import { REPO, createDatabase, tempDir } from './helpers.js';

const LOCK_KEY = 4242;

interface Subject {
  name: string;
  open: () => Promise<Driver>;
  cleanup: () => Promise<void>;
}

let pgDb: Awaited<ReturnType<typeof createDatabase>>;
let folder: { dir: string; cleanup: () => void };

beforeAll(async () => {
  pgDb = await createDatabase();
  folder = tempDir('orch-driver-');
});

afterAll(async () => {
  await pgDb.drop();
  folder.cleanup();
});

const subjects: Subject[] = [
  { name: 'node-postgres', open: () => connectPostgres(pgDb.url, { lockKey: LOCK_KEY }), cleanup: async () => {} },
  {
    name: 'PGlite',
    open: () => openPglite(path.join(folder.dir, 'pglite'), path.join(folder.dir, 'pglite.lock'), 'pglite', () => {}),
    cleanup: async () => {},
  },
];

describe.each(subjects)('driver contract: $name', (subject) => {
  it('queries with parameters, runs scripts, commits and rolls back transactions', async () => {
    const db = await subject.open();
    try {
      expect(await db.query<{ n: number }>('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
      await db.exec('CREATE TABLE contract_t (id int PRIMARY KEY); INSERT INTO contract_t VALUES (1); INSERT INTO contract_t VALUES (2);');
      await db.transaction(async () => {
        await db.exec('INSERT INTO contract_t VALUES (3)');
      });
      await expect(
        db.transaction(async () => {
          await db.exec('INSERT INTO contract_t VALUES (4)');
          await db.exec('INSERT INTO contract_t VALUES (1)');
        }),
      ).rejects.toMatchObject({ code: '23505' });
      expect((await db.query<{ id: number }>('SELECT id FROM contract_t ORDER BY id')).map((r) => r.id)).toEqual([1, 2, 3]);
      expect(await db.serverVersion()).toMatch(/^1\d\.\d+/);
      expect(db.alive).toBe(true);
    } finally {
      await db.close();
    }
    expect(db.alive).toBe(false);
  });

  it("resetSession undoes a migration's search_path, role and settings and keeps the migration lock", async () => {
    const db = await subject.open();
    try {
      await db.lock(() => {});
      const before = await db.query<{ sp: string; u: string; wm: string }>(`SELECT current_setting('search_path') AS sp, current_user AS u, current_setting('work_mem') AS wm`);
      // Roles are shared by the whole server: a name of its own.
      const role = `reset_probe_${Math.random().toString(36).slice(2, 10)}`;
      await db.exec(`CREATE SCHEMA IF NOT EXISTS "side"; CREATE ROLE ${role} NOLOGIN; GRANT ${role} TO CURRENT_USER`);
      try {
        await db.exec(`SET search_path TO "side"; SET ROLE ${role}; SET work_mem = '7MB'`);
        expect(await db.query(`SELECT current_user AS u`)).toEqual([{ u: role }]);
        await db.exec(db.dialect.resetSession);
        expect(await db.query(`SELECT current_setting('search_path') AS sp, current_user AS u, current_setting('work_mem') AS wm`)).toEqual(before);
        if (!db.embedded) {
          const [held] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
          expect(held!.n).toBe(1);
        }
      } finally {
        await db.exec(`DROP ROLE ${role}`);
      }
    } finally {
      await db.close();
    }
  });

  it('reports database errors with SQLSTATE and the position in the script', async () => {
    const db = await subject.open();
    try {
      const error = await db.exec('SELECT 1;\nSELEC 2;').catch((e: unknown) => e);
      expect(databaseErrorFields(error)).toMatchObject({ code: '42601', position: '11', message: 'syntax error at or near "SELEC"' });
    } finally {
      await db.close();
    }
  });

  it('creates Prisma history tables idempotently and reads them in one go', async () => {
    const db = await subject.open();
    try {
      const tables = [
        { owner: 'core', table: '_prisma_migrations' },
        { owner: 'billing', table: '_prisma_migrations_billing' },
      ];
      expect(await readHistory(db, tables)).toEqual({ schema: 'public', existingTables: new Set(), rows: [] });
      const core = { schema: db.schema, name: '_prisma_migrations' };
      await db.exec(db.dialect.createHistoryTable(core));
      await db.exec(db.dialect.createHistoryTable(core));
      await db.exec(db.dialect.insertHistoryRow(core, { id: '00000000-0000-4000-8000-000000000001', checksum: 'c'.repeat(64), migrationName: 'm1', appliedStepsCount: 1, startedAt: null }));
      const { existingTables, rows } = await readHistory(db, tables);
      expect([...existingTables]).toEqual(['_prisma_migrations']);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ owner: 'core', id: '00000000-0000-4000-8000-000000000001', migrationName: 'm1', checksum: 'c'.repeat(64), logs: null, rolledBackAt: null, appliedStepsCount: 1 });
      expect(rows[0]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(rows[0]!.startedAt.getTime());
    } finally {
      await db.close();
    }
  });
});

describe('cancel', () => {
  it('node-postgres: cancels the statement the session is running; the session stays usable', async () => {
    const db = await connectPostgres(pgDb.url, { lockKey: LOCK_KEY });
    try {
      const started = Date.now();
      const sleeping = db.exec('SELECT pg_sleep(30)').catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await db.cancel();
      expect(databaseErrorFields(await sleeping).code).toBe('57014');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await db.query<{ one: number }>('SELECT 1::int AS one')).toEqual([{ one: 1 }]);
      // Nothing running: a cancel request does not touch the next statement.
      await db.cancel();
      expect(await db.query<{ one: number }>('SELECT 1::int AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('PGlite: cancel() resolves at once (a statement runs on this thread, so none is running)', async () => {
    // The contract's folder: a new one would cost a database creation for a one-line check.
    const db = await subjects[1]!.open();
    try {
      await db.cancel();
      expect(await db.query<{ one: number }>('SELECT 1::int AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    expect(existsSync(path.join(folder.dir, 'pglite.lock'))).toBe(false);
  });
});

describe('locks', () => {
  it('node-postgres: a second session waits for the advisory lock until the first releases it', async () => {
    const a = await connectPostgres(pgDb.url, { lockKey: LOCK_KEY });
    const b = await connectPostgres(pgDb.url, { lockKey: LOCK_KEY });
    try {
      await a.lock(() => {
        throw new Error('the first session should not wait');
      });
      let waited = false;
      let acquired = false;
      const pending = b.lock(() => (waited = true)).then(() => (acquired = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(waited).toBe(true);
      expect(acquired).toBe(false);
      await a.unlock();
      await pending;
      expect(acquired).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('PGlite: a second opener waits for the lock file; the file is gone once closed', async () => {
    const dataDir = path.join(folder.dir, 'pglite');
    const lockFile = path.join(folder.dir, 'pglite.lock');
    const first = await openPglite(dataDir, lockFile, 'pglite', () => {});
    expect(existsSync(lockFile)).toBe(true);
    let waitedFor = '';
    const second = openPglite(dataDir, lockFile, 'pglite', (holder) => (waitedFor = holder));
    await new Promise((r) => setTimeout(r, 300));
    expect(waitedFor).toBe('another process');
    await first.close();
    const db = await second;
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('lock file: a holder killed with SIGKILL does not block the next process', async () => {
    const lockFile = path.join(folder.dir, 'killed.lock');
    const script = `
      import { acquireFileLock } from ${JSON.stringify(path.join(REPO, 'dist/db/file-lock.js'))};
      await acquireFileLock(${JSON.stringify(lockFile)}, () => {});
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    const holder = JSON.parse(readFileSync(lockFile, 'utf8'));
    expect(holder).toMatchObject({ pid: child.pid, host: os.hostname() });
    child.kill('SIGKILL');
    await child;
    expect(existsSync(lockFile)).toBe(true); // left behind by the crash...

    let waited = false;
    const started = Date.now();
    const lock = await acquireFileLock(lockFile, () => (waited = true)); // ...and taken over at once
    expect(waited).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('lock file: a file naming a live process on another host is waited for, with a hint', async () => {
    const lockFile = path.join(folder.dir, 'remote.lock');
    writeFileSync(lockFile, JSON.stringify({ pid: 1, host: 'some-other-host', start: null, token: 'x' }));
    let hint = '';
    const pending = acquireFileLock(lockFile, (h) => (hint = h));
    await new Promise((r) => setTimeout(r, 200));
    expect(hint).toBe(`process 1 on some-other-host (another host; delete ${lockFile} if no process there uses the database)`);
    unlinkSync(lockFile);
    (await pending).release();
  });
});

/**
 * One suite, every provider (as kysely runs one suite on every dialect): the same migration
 * files, applied and rolled back with rows present, under concurrency, killed halfway, failing
 * and edited, on a PostgreSQL server and on an SQLite file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from '@libsql/client';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeMigration, type MigrationSpec } from './apply-fixtures.js';
import { CLI, createDatabase, query as pgQuery, runCli, tempDir, writeProject } from './helpers.js';

interface Target {
  env: Record<string, string>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  tables(): Promise<string[]>;
  cleanup(): Promise<void>;
}

interface Provider {
  name: 'postgresql' | 'sqlite';
  open(dir: string): Promise<Target>;
  /** A statement that keeps the database busy for a second or two. */
  slow: string;
}

const providers: Provider[] = [
  {
    name: 'postgresql',
    slow: 'SELECT pg_sleep(2);',
    async open() {
      const db = await createDatabase();
      return {
        env: { DATABASE_URL: db.url },
        query: (sql) => pgQuery(db.url, sql),
        tables: async () => (await pgQuery<{ t: string }>(db.url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.t),
        cleanup: () => db.drop(),
      };
    },
  },
  {
    name: 'sqlite',
    slow: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c;',
    async open(dir) {
      // Relative to the project root, where prisma.config.ts would be (Prisma 7's rule).
      const file = path.join(dir, 'data/app.db');
      mkdirSync(path.dirname(file), { recursive: true });
      const query = async (sql: string) => {
        const client = createClient({ url: `file:${file}` });
        try {
          const r = await client.execute(sql);
          return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
        } finally {
          client.close();
        }
      };
      return {
        env: { DATABASE_URL: 'file:./data/app.db' },
        query,
        tables: async () => (await query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name`)).map((r) => String(r.name)),
        cleanup: async () => {},
      };
    },
  },
];

const INIT = '20240101000000_init';
const SEED = '20240102000000_seed';
const BILLING_INIT = '20240110000000_init';
const BILLING_PLAN = '20240111000000_plan';

/** Migrations valid on every provider. */
const MIGRATIONS: Record<string, Record<string, MigrationSpec>> = {
  core: {
    [INIT]: { sql: 'CREATE TABLE "User" (\n  "id" INTEGER PRIMARY KEY,\n  "email" TEXT NOT NULL\n);\n', down: 'DROP TABLE "User";\n' },
    [SEED]: { sql: `INSERT INTO "User" ("id", "email") VALUES (1, 'a@example.com'), (2, 'b@example.com');\n`, down: 'DELETE FROM "User" WHERE "id" IN (1, 2);\n' },
  },
  billing: {
    [BILLING_INIT]: {
      sql: `-- orchestrate:requires core ${INIT}\nCREATE TABLE "billing_invoice" (\n  "id" INTEGER PRIMARY KEY,\n  "user_id" INTEGER NOT NULL REFERENCES "User"("id"),\n  "amount" INTEGER NOT NULL\n);\n`,
      down: 'DROP TABLE "billing_invoice";\n',
    },
    [BILLING_PLAN]: { sql: 'ALTER TABLE "User" ADD COLUMN "billing_plan" TEXT;\n', down: 'ALTER TABLE "User" DROP COLUMN "billing_plan";\n' },
  },
};

const ENV = { APP_EXTENSIONS: 'billing' };

function writeProjectFor(dir: string, provider: Provider['name'], migrations = MIGRATIONS): void {
  writeProject(dir, { core: 'model User {\n  id Int @id\n}\n', extensions: { billing: { schema: '// billing\n' } } });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), `datasource db {\n  provider = "${provider}"\n}\n\nmodel User {\n  id Int @id\n}\n`);
  for (const [owner, list] of Object.entries(migrations)) {
    for (const [name, spec] of Object.entries(list)) writeMigration(dir, owner, name, spec);
    const folder = path.join(dir, owner === 'core' ? 'prisma/migrations' : `extensions/${owner}/migrations`);
    writeFileSync(path.join(folder, 'migration_lock.toml'), `provider = "${provider}"\n`);
  }
}

describe.each(providers)('on $name', (provider) => {
  let dir: string;
  let target: Target;
  let cleanupDir: () => void;
  let env: Record<string, string>;

  beforeEach(async () => {
    const t = tempDir(`orch-${provider.name}-`);
    dir = t.dir;
    cleanupDir = t.cleanup;
    writeProjectFor(dir, provider.name);
    target = await provider.open(dir);
    env = { ...ENV, ...target.env };
  });
  afterEach(async () => {
    await target.cleanup();
    cleanupDir();
  });

  const history = async (table: string) =>
    (await target.query(`SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "${table}" ORDER BY migration_name`)).map((r) => [r.migration_name, Boolean(r.finished)]);

  it('applies, rolls back an extension and applies it again with rows present', { timeout: 60_000 }, async () => {
    const up = await runCli(dir, ['migrate', '--all'], env);
    expect(up.stderr).not.toContain('error');
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toMatch(/^Applied 4 migrations \(core: 2, billing: 2\)/);
    await target.query(`INSERT INTO "billing_invoice" ("id", "user_id", "amount") VALUES (1, 1, 100), (2, 2, 250)`);
    await target.query(`UPDATE "User" SET "billing_plan" = 'pro' WHERE "id" = 1`);

    const down = await runCli(dir, ['downgrade', '--extension', 'billing', '--target', 'base', '--yes'], env);
    expect(down.exitCode).toBe(0);
    expect(await target.tables()).toEqual(['User', '_prisma_migrations']);
    expect(await target.query(`SELECT "id", "email" FROM "User" ORDER BY "id"`)).toEqual([
      { id: 1, email: 'a@example.com' },
      { id: 2, email: 'b@example.com' },
    ]);

    const again = await runCli(dir, ['migrate', '--all'], env);
    expect(again.stdout).toMatch(/^Applied 2 migrations \(billing: 2\)/);
    expect(await history('_prisma_migrations_billing')).toEqual([
      [BILLING_INIT, true],
      [BILLING_PLAN, true],
    ]);
    const status = await runCli(dir, ['status', '--exit-code'], env);
    expect(status.exitCode).toBe(0);
  });

  it('rolls back a failing migration whole, names its statement, and keeps the ones before it', { timeout: 60_000 }, async () => {
    writeMigration(dir, 'core', '20240103000000_broken', { sql: 'CREATE TABLE "Half" ("id" INTEGER);\nINSERT INTO "User" ("id", "email") VALUES (3, \'c@example.com\');\nINSERT INTO "Missing" VALUES (1);\n' });
    const result = await runCli(dir, ['migrate', '--core'], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('core/20240103000000_broken failed and was rolled back, so nothing of it remains: line 3 of');
    expect(result.stderr).toContain('`INSERT INTO "Missing" VALUES (1);`');
    expect(await target.tables()).toEqual(['User', '_prisma_migrations']);
    expect(await target.query(`SELECT count(*) AS n FROM "User"`)).toEqual([{ n: provider.name === 'sqlite' ? 2 : '2' }]);
    expect(await history('_prisma_migrations')).toEqual([
      [INIT, true],
      [SEED, true],
    ]);
  });

  it('stops with exit 3 before applying anything when an applied migration was edited', { timeout: 60_000 }, async () => {
    expect((await runCli(dir, ['migrate', '--core'], env)).exitCode).toBe(0);
    writeFileSync(path.join(dir, 'prisma/migrations', SEED, 'migration.sql'), `INSERT INTO "User" ("id", "email") VALUES (9, 'z@example.com');\n`);
    const result = await runCli(dir, ['migrate', '--all'], env);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`core/${SEED} was edited after it was applied`);
    expect(await target.tables()).toEqual(['User', '_prisma_migrations']);
  });

  it('4 processes started at once apply each migration exactly once', { timeout: 60_000 }, async () => {
    writeMigration(dir, 'core', '20240103000000_slow', { sql: `${provider.slow}\nCREATE TABLE "Slow" ("id" INTEGER);\n` });
    const runs = await Promise.all(Array.from({ length: 4 }, () => runCli(dir, ['migrate', '--all'], env)));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    expect(runs.filter((r) => r.stdout.startsWith('Applied 5 migrations'))).toHaveLength(1);
    expect(runs.filter((r) => r.stdout === 'Nothing to apply: 2 owners up to date.')).toHaveLength(3);
    expect(runs.filter((r) => r.stderr.includes('Waiting for another orchestrate run to finish')).length).toBeGreaterThanOrEqual(1);
    for (const table of ['_prisma_migrations', '_prisma_migrations_billing']) {
      const rows = await target.query(`SELECT migration_name, count(*) AS n FROM "${table}" GROUP BY migration_name`);
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    }
    expect((await history('_prisma_migrations')).length).toBe(3);
  });

  it('a run killed with SIGKILL in the middle of a migration leaves nothing of it; the next run completes', { timeout: 60_000 }, async () => {
    writeMigration(dir, 'core', '20240103000000_slow', { sql: `CREATE TABLE "SlowA" ("id" INTEGER);\n${provider.slow}\nCREATE TABLE "SlowB" ("id" INTEGER);\n` });
    const child = execa(process.execPath, [CLI, 'migrate', '--core'], { cwd: dir, env: { ...env, NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    // The slow migration starts right after the one before it is reported.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the run never reached the slow migration')), 30_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(`Applied core/${SEED}`)) {
          clearTimeout(timer);
          setTimeout(resolve, 400);
        }
      });
    });
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    expect(await target.tables()).toEqual(['User', '_prisma_migrations']);
    expect(await history('_prisma_migrations')).toEqual([
      [INIT, true],
      [SEED, true],
    ]);

    const next = await runCli(dir, ['migrate', '--core'], env);
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toMatch(/^Applied 1 migration \(core: 1\)/);
    expect(await target.tables()).toEqual(['SlowA', 'SlowB', 'User', '_prisma_migrations']);
  });
});

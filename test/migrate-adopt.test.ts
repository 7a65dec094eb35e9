/**
 * A database that Prisma Migrate alone migrated is adopted as it is: same table, same checksums,
 * rolled-back rows ignored, failed rows blocking (P3009) until resolved.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_INIT, CORE_NAME, SAMPLE, SAMPLE_ENV, historyRows, sha256, tables, writeSample } from './apply-fixtures.js';
import { createDatabase, query, runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
let db: Awaited<ReturnType<typeof createDatabase>>;
let env: Record<string, string>;

// Prisma Migrate's own DDL for its table (schema-engine, postgres flavour).
const PRISMA_TABLE = `CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

const P3018_LOGS = 'A migration failed to apply. New migrations cannot be applied before the error is recovered from.\n\nMigration name: 20240201000000_user_name\n\nDatabase error code: 42P01\n\nDatabase error:\nERROR: relation "User" does not exist';

beforeEach(async () => {
  project = tempDir('orch-adopt-');
  writeSample(project.dir);
  db = await createDatabase();
  env = { ...SAMPLE_ENV, DATABASE_URL: db.url };
  await query(db.url, PRISMA_TABLE);
  // What `prisma migrate deploy` leaves after applying the first migration.
  await query(db.url, SAMPLE.core![CORE_INIT]!.sql);
  await query(
    db.url,
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
     VALUES (gen_random_uuid()::text, $1, now() - interval '1 hour' + interval '20 ms', $2, NULL, NULL, now() - interval '1 hour', 1)`,
    [sha256(SAMPLE.core![CORE_INIT]!.sql), CORE_INIT],
  );
});

afterEach(async () => {
  await db.drop();
  project.cleanup();
});

/** A failed attempt of CORE_NAME, as Prisma records it. */
async function failedAttempt(rolledBack: boolean): Promise<void> {
  await query(
    db.url,
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
     VALUES (gen_random_uuid()::text, $1, NULL, $2, $3, ${rolledBack ? "now() - interval '50 minutes'" : 'NULL'}, now() - interval '55 minutes', 0)`,
    [sha256(SAMPLE.core![CORE_NAME]!.sql), CORE_NAME, P3018_LOGS],
  );
}

describe('adopting a database migrated by Prisma Migrate', () => {
  it('keeps its history, ignores rolled-back rows and applies only what is new', async () => {
    // A failed attempt, resolved with `prisma migrate resolve --rolled-back`, then a successful deploy.
    await failedAttempt(true);
    await query(db.url, SAMPLE.core![CORE_NAME]!.sql);
    await query(
      db.url,
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES (gen_random_uuid()::text, $1, now() - interval '40 minutes', $2, NULL, NULL, now() - interval '40 minutes', 1)`,
      [sha256(SAMPLE.core![CORE_NAME]!.sql), CORE_NAME],
    );
    const before = await historyRows(db.url, '_prisma_migrations');

    const status = JSON.parse((await runCli(project.dir, ['--json', 'status', '--core'], env)).stdout);
    expect(status.owners[0].migrations.map((m: { migration: string; status: string }) => [m.migration, m.status])).toEqual([
      [CORE_INIT, 'applied'],
      [CORE_NAME, 'applied'],
    ]);

    const r = await runCli(project.dir, ['migrate', '--all'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied 3 migrations \(billing: 2, crm: 1\)/);
    expect(await historyRows(db.url, '_prisma_migrations')).toEqual(before);
    expect(await tables(db.url)).toEqual(['User', '_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm', 'billing_invoice', 'crm_contact']);

    const history = JSON.parse((await runCli(project.dir, ['--json', 'history', 'core'], env)).stdout);
    expect(history.owners[0].entries.map((e: { migration: string; state: string }) => [e.migration, e.state])).toEqual([
      [CORE_INIT, 'applied'],
      [CORE_NAME, 'rolled back'],
      [CORE_NAME, 'applied'],
    ]);
  });

  it('blocks on a failed migration (like P3009) with how to resolve it, until it is stamped', async () => {
    await failedAttempt(false);
    const [{ id }] = (await query<{ id: string }>(db.url, `SELECT id FROM "_prisma_migrations" WHERE finished_at IS NULL`)) as [{ id: string }];

    const r = await runCli(project.dir, ['migrate', '--all'], env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `error: core/${CORE_NAME} failed in an earlier run and may be partly applied (its row in _prisma_migrations has no finished_at), so nothing can be applied to core: finish or undo its changes by hand, then record it as applied with \`orchestrate stamp core ${CORE_NAME}\` if its changes are now complete, or as rolled back with \`UPDATE "public"."_prisma_migrations" SET "rolled_back_at" = now() WHERE "id" IN ('${id}');\` if they are undone, and run the command again.`,
    );
    expect(await tables(db.url)).toEqual(['User', '_prisma_migrations']);

    const status = await runCli(project.dir, ['--json', 'status', '--exit-code'], env);
    expect(status.exitCode).toBe(3);
    expect(JSON.parse(status.stdout).counts.failed).toBe(1);

    // The operator completes the change by hand and stamps it, as with `prisma migrate resolve --applied`.
    await query(db.url, SAMPLE.core![CORE_NAME]!.sql);
    expect((await runCli(project.dir, ['stamp', 'core', CORE_NAME], env)).exitCode).toBe(0);
    const rows = await historyRows(db.url, '_prisma_migrations');
    expect(rows.map((r) => [r.migration_name, r.finished, r.rolled_back])).toEqual([
      [CORE_INIT, true, false],
      [CORE_NAME, false, true],
      [CORE_NAME, true, false],
    ]);
    const after = await runCli(project.dir, ['migrate', '--all'], env);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toMatch(/^Applied 3 migrations \(billing: 2, crm: 1\)/);
  });
});

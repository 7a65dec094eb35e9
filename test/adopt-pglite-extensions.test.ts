/**
 * Real histories create PostgreSQL extensions (pgcrypto, pg_trgm, vector, ...). PGlite ships
 * many of them, but finds one only when it was opened with it: the embedded database loads
 * those a run's migrations create, and reopens later with those the database has.
 *
 * Each run is a new orchestrator, so each opens the folder with a new PGlite as a new process
 * would; the CLI runs where its one-line refusal is the subject.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeMigration } from './apply-fixtures.js';
import { oneErrorLine } from './fixtures.js';
import { runCli, tempDir, writeProject } from './helpers.js';
import { createOrchestrator, type ApplyResult, type StatusData } from '../src/index.js';

const INIT = `CREATE EXTENSION IF NOT EXISTS "pgcrypto";
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE "Website" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "name" VARCHAR(100) NOT NULL,
  "secret" BYTEA NOT NULL DEFAULT digest('x', 'sha256'),
  CONSTRAINT "Website_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Website_name_trgm_idx" ON "Website" USING GIN ("name" gin_trgm_ops);
INSERT INTO "Website" ("name") VALUES ('umami.is'), ('example.com');
`;

// Runs in a later run (a new PGlite): needs pgcrypto's and pg_trgm's functions although it creates neither.
const USE = `INSERT INTO "Website" ("name", "secret") VALUES ('third', hmac('a', 'b', 'sha1'));
DO $$
BEGIN
  IF (SELECT count(*) FROM "Website" WHERE "name" % 'umami.iz') <> 1 THEN
    RAISE EXCEPTION 'trigram search found nothing';
  END IF;
END $$;
`;

const project = tempDir('orch-pglite-ext-');
afterAll(() => project.cleanup());
const root = project.dir;

/** A run of its own on the project (what `migrate --all` does), opening the embedded database anew. */
async function run<T>(fn: (o: ReturnType<typeof createOrchestrator>) => Promise<T>): Promise<T> {
  const orchestrator = createOrchestrator({ root, extensions: [], env: { ...process.env, DATABASE_URL: undefined } });
  try {
    return await fn(orchestrator);
  } finally {
    await orchestrator.close();
  }
}
const migrate = (): Promise<ApplyResult> => run(async (o) => o.apply(await o.planUpgrade()));
const applied = (r: ApplyResult) => r.results.filter((x) => x.status === 'Success').map((x) => x.migration);
const status = (): Promise<StatusData> => run((o) => o.status());

// One project through a sequence of steps: a PGlite start costs seconds, so the steps share it.
describe('the embedded database loads the extensions migrations create', () => {
  it('applies a history creating pgcrypto and pg_trgm, and reopens with them', async () => {
    writeProject(root, { core: 'model Website {\n  id String @id @db.Uuid\n  name String @db.VarChar(100)\n}\n' });
    writeMigration(root, 'core', '20240101000000_init', { sql: INIT });

    const first = await migrate();
    expect(first.error?.problem.message ?? null).toBeNull();
    expect(first.ok).toBe(true);
    expect(applied(first)).toEqual(['20240101000000_init']);

    writeMigration(root, 'core', '20240102000000_use_extensions', { sql: USE });
    const second = await migrate();
    expect(second.error?.problem.message ?? null).toBeNull();
    expect(second.ok).toBe(true);
    expect(applied(second)).toEqual(['20240102000000_use_extensions']);
  }, 60_000);

  it('reopens with what the catalog lists when its record is gone, and names an extension PGlite lacks', async () => {

    // A database whose record of loaded extensions is gone: the catalog says what it has.
    rmSync(path.join(root, '.orchestrate/pglite/orchestrate-extensions.json'));
    writeMigration(root, 'core', '20240103000000_use_again', { sql: USE.replace("'third'", "'fourth'") });
    const third = await migrate();
    expect(third.error?.problem.message ?? null).toBeNull();
    expect(third.ok).toBe(true);
    expect(applied(third)).toEqual(['20240103000000_use_again']);

    writeMigration(root, 'core', '20240104000000_postgis', { sql: 'CREATE EXTENSION postgis;\n' });
    const lacking = await runCli(root, ['migrate', '--all']);
    expect(lacking.exitCode).toBe(1);
    expect(oneErrorLine(lacking.stderr.replace(/^Using the embedded .*\n/, ''))).toBe(
      `${root}/prisma/migrations/20240104000000_postgis/migration.sql creates the PostgreSQL extension "postgis", which the embedded database (PGlite) does not ship; set DATABASE_URL to a PostgreSQL server that has "postgis" installed.`,
    );
    expect((await status()).counts).toMatchObject({ applied: 3, pending: 1 });
  }, 60_000);
});

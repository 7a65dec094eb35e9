/**
 * Adopting a real Prisma Migrate project (umami: 20 migrations, no down.sql, no snapshot) as the
 * core of an orchestrate project. Its migrations never create the index
 * `session_replay_visit_id_idx` that its schema declares.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyUmami, UMAMI } from './adopt-umami-fixture.js';
import { REPO, runCli, type CliResult } from './helpers.js';

const MISSING_INDEX = 'CREATE INDEX "session_replay_visit_id_idx" ON "session_replay"("visit_id");';

/** Adds a column to umami's Team model. */
function addColumn(dir: string): void {
  const file = path.join(dir, 'prisma/schema.prisma');
  const text = readFileSync(file, 'utf8');
  expect(text).toMatch(/^model Team \{$/m);
  writeFileSync(file, text.replace(/^model Team \{$/m, 'model Team {\n  motto String? @map("motto") @db.VarChar(100)'));
}

/**
 * What Prisma itself writes for the next migration: its schema engine's diff from the
 * `migrations` target (which it applies to a shadow database of its own, here an in-memory
 * PGlite) to the schema — `prisma migrate diff --from-migrations --to-schema`.
 */
async function prismaMigrateDiff(dir: string): Promise<string> {
  const require = createRequire(path.join(REPO, 'package.json'));
  const { PGlite } = await import('@electric-sql/pglite');
  const dist = path.dirname(require.resolve('@electric-sql/pglite'));
  const bundle = pathToFileURL(path.join(dist, 'pgcrypto.tar.gz'));
  const db = await PGlite.create({ extensions: { pgcrypto: { name: 'pgcrypto', setup: async (_pg, emscriptenOpts) => ({ emscriptenOpts, bundlePath: bundle }) } } });
  const { loadSchemaEngineRuntime } = await import(pathToFileURL(path.join(REPO, 'dist/engine/wasm.js')).href);
  const { pgliteFactory } = await import(pathToFileURL(path.join(REPO, 'dist/engine/adapters.js')).href);
  const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');
  const runtime = await loadSchemaEngineRuntime();
  const schema = readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8');
  const engine = await runtime.SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, bindMigrationAwareSqlAdapterFactory(pgliteFactory(db)));
  const baseDir = path.join(dir, 'prisma/migrations');
  // The history as adopted: umami's folders only (the new migration is what is compared).
  const names = readdirSync(path.join(UMAMI, 'prisma/migrations'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  try {
    const result = await engine.diff({
      from: {
        tag: 'migrations',
        baseDir,
        lockfile: { path: 'migration_lock.toml', content: readFileSync(path.join(baseDir, 'migration_lock.toml'), 'utf8') },
        shadowDbInitScript: '',
        migrationDirectories: names.map((name) => ({ path: name, migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: readFileSync(path.join(baseDir, name, 'migration.sql'), 'utf8') } } })),
      },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? '';
  } finally {
    engine.free();
    await db.close();
  }
}

describe('umami adopted as core: revision replays its history', () => {
  let project: { dir: string; cleanup: () => void };
  let revision: CliResult;
  let created: string;

  beforeAll(async () => {
    project = copyUmami();
    addColumn(project.dir);
    revision = await runCli(project.dir, ['revision', '--core', '-m', 'add_motto']);
    const migrations = path.join(project.dir, 'prisma/migrations');
    created = readdirSync(migrations).find((n) => n.endsWith('_add_motto')) ?? '';
  }, 60_000);
  afterAll(() => project.cleanup());

  it('writes exactly the SQL Prisma Migrate would: the new column, plus the index the history never created', async () => {
    // Only progress: the start line and the one owner as it is diffed.
    expect(revision.stderr).toMatch(/^Diffing 1 owner \(1 changed since their latest migration\)\.\.\.\n\[1\/1\] core: 2 statements \(\d+ ms\)$/);
    expect(revision.exitCode).toBe(0);
    expect(revision.stdout).toMatch(/^core: created prisma\/migrations\/\d{14}_add_motto \(2 statements\)$/);
    const dir = path.join(project.dir, 'prisma/migrations', created);
    const up = readFileSync(path.join(dir, 'migration.sql'), 'utf8');
    // Besides the line naming the migration it follows (its parent), Prisma Migrate's very SQL.
    expect(up).toBe(`-- orchestrate:parent 19_add_session_replay\n${await prismaMigrateDiff(project.dir)}`);
    // Spelled out, so that a regression in both paths cannot pass unseen.
    expect(up).toContain('ALTER TABLE "team" ADD COLUMN     "motto" VARCHAR(100);');
    expect(up).toContain(MISSING_INDEX);
    expect(readFileSync(path.join(dir, 'down.sql'), 'utf8')).toBe('-- DropIndex\nDROP INDEX "session_replay_visit_id_idx";\n\n-- AlterTable\nALTER TABLE "team" DROP COLUMN "motto";\n');
    // The first revision writes the snapshot the next one starts from.
    expect(readFileSync(path.join(dir, 'snapshot.prisma'), 'utf8')).toBe(readFileSync(path.join(project.dir, 'prisma/schema.prisma'), 'utf8'));
    // No other folder was written and nothing was left behind.
    expect(existsSync(path.join(project.dir, '.orchestrate'))).toBe(false);
  }, 60_000);

  it('a second revision --check finds no changes', async () => {
    const r = await runCli(project.dir, ['revision', '--core', '--check']);
    expect(r.stdout).toBe('No changes: the migrations of 1 owner(s) match their schemas.');
    expect(r.exitCode).toBe(0);
  });
});

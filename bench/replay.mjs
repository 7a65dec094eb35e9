#!/usr/bin/env node
/**
 * Replay speed (run `pnpm build` first): a core owner with 150 migrations (tables, columns,
 * indexes, foreign keys, enums, data updates) replayed into the in-memory shadow database, as
 * `revision` does for an adopted history and `check` does for drift. Target: the replay (all
 * 150 migrations through migrate's planner and runner) in ≤ 3 s. Also shown: the shadow's start
 * (PGlite), reading the result back through Prisma's engine, and the same for umami's real
 * history when ../shared/real-projects/umami exists.
 *
 * Usage: node bench/replay.mjs [--runs 3] [--migrations 150]
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const RUNS = arg('--runs', 3);
const MIGRATIONS = arg('--migrations', 150);
const UMAMI = path.resolve(ROOT, '../shared/real-projects/umami');

const load = (file) => import(pathToFileURL(path.join(ROOT, 'dist', file)).href);
const [{ loadProject }, { loadSettings }, { readMigrations }, { openShadow }, { replayOwner }, { startShadowEngine }] = await Promise.all([
  load('project/project.js'),
  load('config/settings.js'),
  load('migrations/folder.js'),
  load('shadow/database.js'),
  load('shadow/replay.js'),
  load('shadow/engine.js'),
]);

/** Migration i of a synthetic history; each builds on the ones before it. */
function migration(i) {
  if (i === 0) return 'CREATE TYPE "Status" AS ENUM (\'ACTIVE\', \'PAUSED\');\nCREATE TABLE "t0" ("id" SERIAL NOT NULL, "name" TEXT NOT NULL, CONSTRAINT "t0_pkey" PRIMARY KEY ("id"));\n';
  const parent = `t${Math.floor((i - 1) / 3) * 3}`;
  switch (i % 3) {
    case 0:
      return `-- CreateTable\nCREATE TABLE "t${i}" (\n    "id" SERIAL NOT NULL,\n    "parentId" INTEGER,\n    "status" "Status" NOT NULL DEFAULT 'ACTIVE',\n    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n\n    CONSTRAINT "t${i}_pkey" PRIMARY KEY ("id")\n);\n\n-- CreateIndex\nCREATE INDEX "t${i}_parentId_idx" ON "t${i}"("parentId");\n\n-- AddForeignKey\nALTER TABLE "t${i}" ADD CONSTRAINT "t${i}_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "${parent}"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n`;
    case 1:
      return `-- AlterTable\nALTER TABLE "${parent}" ADD COLUMN "c${i}" VARCHAR(100);\nUPDATE "${parent}" SET "c${i}" = 'x' WHERE "c${i}" IS NULL;\n`;
    default:
      return `-- CreateIndex\nCREATE UNIQUE INDEX "${parent}_c${i - 1}_key" ON "${parent}"("c${i - 1}");\n`;
  }
}

function syntheticProject(n) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-replay-'));
  mkdirSync(path.join(dir, 'prisma/migrations'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  writeFileSync(path.join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
  for (let i = 0; i < n; i++) {
    const name = `2026010100${String(Math.floor(i / 60)).padStart(2, '0')}${String(i % 60).padStart(2, '0')}_m${i}`;
    mkdirSync(path.join(dir, 'prisma/migrations', name));
    writeFileSync(path.join(dir, 'prisma/migrations', name, 'migration.sql'), migration(i));
  }
  return dir;
}

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(label, dir) {
  const project = loadProject(loadSettings(dir), { env: {} });
  const schema = [{ path: 'prisma/schema.prisma', content: readFileSync(project.core.schemaPath, 'utf8') }];
  const starts = [];
  const replays = [];
  const reads = [];
  let count = 0;
  for (let run = 0; run < RUNS; run++) {
    let t = process.hrtime.bigint();
    // The shadow loads the PostgreSQL extensions the scripts create (umami: pgcrypto).
    const shadow = await openShadow('postgresql', readMigrations(project.core.migrationsDir).map((m) => m.sql));
    starts.push(ms(t));
    try {
      const replay = await replayOwner(project, project.core, shadow);
      count = replay.migrations.get('core');
      replays.push(replay.applyMs);
      t = process.hrtime.bigint();
      const engine = await startShadowEngine(shadow);
      await engine.introspect(schema);
      await engine.close();
      reads.push(ms(t));
    } finally {
      await shadow.close();
    }
  }
  const replay = median(replays);
  console.log(
    `${label}: ${count} migrations replayed in ${(replay / 1000).toFixed(2)} s (median of ${RUNS}; ${(replay / count).toFixed(1)} ms each)` +
      ` — shadow start ${(median(starts) / 1000).toFixed(2)} s, engine start + introspection ${(median(reads) / 1000).toFixed(2)} s`,
  );
  return replay;
}

const synthetic = syntheticProject(MIGRATIONS);
try {
  const replay = await measure(`synthetic core`, synthetic);
  console.log(`target: ${MIGRATIONS} migrations in ≤ 3 s — ${replay <= 3000 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(synthetic, { recursive: true, force: true });
}
if (existsSync(UMAMI)) {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-umami-'));
  try {
    cpSync(path.join(UMAMI, 'prisma'), path.join(copy, 'prisma'), { recursive: true });
    await measure('umami (real history)', copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

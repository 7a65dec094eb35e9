#!/usr/bin/env node
/**
 * Benchmarks of the apply path, against a real PostgreSQL server (run `pnpm build` first):
 *
 *   (a) a no-op `migrate --all` on a database with 51 owners (core + 50 extensions) and 500
 *       applied migrations, against the wall time of `orchestrate --version` (target ≤ 2.0×),
 *       3 × runs pairs of runs; the ratio is the median of the pairs' ratios;
 *   (b) applying 1,000 small migrations across 51 owners, against one psql session running the
 *       same migration.sql files one after another (target ≤ 1.3×);
 *   (c) a no-op `migrate --core` on a core history of 160 applied migrations, against
 *       `prisma migrate deploy` of the same history through the schema-engine bridge (what a
 *       Prisma user would otherwise run in the same container; target: at least 8× faster).
 *
 * Usage: node bench/migrate.mjs [--runs 5] [--only a,b,c] [--snapshots]
 *   --only       which benchmarks to run (`--only a` runs the no-op one only)
 *   --snapshots  every migration folder gets a snapshot.prisma, as `revision` writes them, so that
 *                (a) includes comparing each owner's schema with its latest snapshot
 * Environment: BENCH_PG_URL (or TEST_PG_URL), an admin URL allowed to create databases;
 * default postgresql://postgres@127.0.0.1:5432/postgres. psql must be on PATH.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_URL, CLI, ROOT, admin, fmt, median, timed, writeManyMigrations } from './common.mjs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const EXTENSIONS = 50;
const onlyArg = process.argv.indexOf('--only');
const ONLY = new Set(onlyArg > 0 ? process.argv[onlyArg + 1].split(',') : process.argv.includes('--noop-only') ? ['a'] : ['a', 'b', 'c']);
const CORE_MIGRATIONS = 160;
const SNAPSHOTS = process.argv.includes('--snapshots');

/** Flushes dirty buffers (needs a superuser; skipped otherwise). */
async function checkpoint() {
  await admin('CHECKPOINT').catch(() => {});
}

async function createDatabase() {
  const name = `orch_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** A project with core + `extensions` extensions and `total` migrations spread over the owners. */
const writeProject = (total, extensions = EXTENSIONS) => writeManyMigrations({ total, extensions, snapshots: SNAPSHOTS });

function orchestrate(project, url, args) {
  return timed(process.execPath, [CLI, ...args], { cwd: project.dir, env: { ...process.env, ...project.env, DATABASE_URL: url } });
}

async function benchNoop() {
  const project = writeProject(500);
  const db = await createDatabase();
  try {
    const setup = orchestrate(project, db.url, ['migrate', '--all']);
    if (!/^Applied 500 migrations/.test(setup.stdout)) throw new Error(`setup did not apply 500 migrations: ${setup.stdout}`);
    // One warm-up of each, so that both measure a warm file-system cache.
    orchestrate(project, db.url, ['--version']);
    orchestrate(project, db.url, ['migrate', '--all']);
    const version = [];
    const noop = [];
    // (a) is cheap, so it gets three times the runs; each no-op run is paired with the
    // --version run just before it, so that a machine slowing down or speeding up during the
    // benchmark affects both sides of each ratio alike.
    for (let i = 0; i < 3 * RUNS; i++) {
      version.push(orchestrate(project, db.url, ['--version']).ms);
      const run = orchestrate(project, db.url, ['migrate', '--all']);
      if (run.stdout.trim() !== 'Nothing to apply: 51 owners up to date.') throw new Error(`unexpected output: ${run.stdout}`);
      noop.push(run.ms);
    }
    return { version: median(version), noop: median(noop), paired: median(noop.map((ms, i) => ms / version[i])), runs: noop.length };
  } finally {
    await db.drop();
    rmSync(project.dir, { recursive: true, force: true });
  }
}

async function benchApply() {
  const project = writeProject(1000);
  const ours = [];
  const psql = [];
  try {
    // Every timed run gets the same start: a fresh database, the previous one dropped, a checkpoint.
    // The two take turns, so that neither always follows the other.
    const runs = Math.max(1, Math.min(RUNS, 3));
    for (let i = 0; i < 2 * runs; i++) {
      const db = await createDatabase();
      try {
        await checkpoint();
        if (i % 2 === 0) {
          const run = orchestrate(project, db.url, ['migrate', '--all']);
          if (!/^Applied 1000 migrations/.test(run.stdout)) throw new Error(`unexpected output: ${run.stdout}`);
          ours.push(run.ms);
        } else {
          const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db.url, ...project.files.flatMap((f) => ['-f', f])];
          psql.push(timed('psql', args, {}).ms);
        }
      } finally {
        await db.drop();
      }
    }
    return { ours: median(ours), psql: median(psql), runs: { ours, psql } };
  } finally {
    rmSync(project.dir, { recursive: true, force: true });
  }
}

/** A core-only project whose `prisma.config.ts` names the database, as a Prisma user has it. */
async function benchCoreVsPrisma() {
  const project = writeProject(CORE_MIGRATIONS, 0);
  const db = await createDatabase();
  writeFileSync(path.join(project.dir, 'prisma/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
  writeFileSync(path.join(project.dir, 'prisma.config.ts'), `export default { schema: 'prisma/schema.prisma', datasource: { url: ${JSON.stringify(db.url)} } };\n`);
  const prismaEnv = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: path.join(ROOT, 'packages/schema-engine-bridge/dist/schema-engine.js'),
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    PRISMA_ENGINES_MIRROR: 'http://127.0.0.1:9',
    NO_COLOR: '1',
  };
  const prisma = () => timed(path.join(ROOT, 'node_modules/.bin/prisma'), ['migrate', 'deploy'], { cwd: project.dir, env: prismaEnv });
  try {
    const setup = orchestrate(project, db.url, ['migrate', '--core']);
    if (!new RegExp(`^Applied ${CORE_MIGRATIONS} migrations`).test(setup.stdout)) throw new Error(`setup did not apply ${CORE_MIGRATIONS} migrations: ${setup.stdout}`);
    const check = prisma();
    if (!/No pending migrations to apply/.test(check.stdout + check.stderr)) throw new Error(`prisma migrate deploy did not see the history as applied: ${check.stdout}`);
    orchestrate(project, db.url, ['migrate', '--core']);
    const ours = [];
    const theirs = [];
    for (let i = 0; i < RUNS; i++) {
      const run = orchestrate(project, db.url, ['migrate', '--core']);
      if (run.stdout.trim() !== 'Nothing to apply: 1 owner up to date.') throw new Error(`unexpected output: ${run.stdout}`);
      ours.push(run.ms);
      theirs.push(prisma().ms);
    }
    return { ours: median(ours), prisma: median(theirs) };
  } finally {
    await db.drop();
    rmSync(project.dir, { recursive: true, force: true });
  }
}

execFileSync(process.execPath, [CLI, '--version']); // fails early when the build is missing
const server = execFileSync('psql', ['-X', '-A', '-t', '-d', ADMIN_URL, '-c', 'SHOW server_version'], { encoding: 'utf8' }).trim();
console.log(`orchestrate apply benchmarks: node ${process.version}, PostgreSQL ${server}, ${os.cpus().length} CPUs, median of ${RUNS} runs`);

if (ONLY.has('a')) {
  const a = await benchNoop();
  const ratioA = a.paired;
  console.log(`(a) no-op migrate --all, 51 owners / 500 applied migrations: ${fmt(a.noop)} (median of ${a.runs})`);
  console.log(`    orchestrate --version:                                   ${fmt(a.version)}`);
  console.log(`    ratio ${ratioA.toFixed(2)}, median of the ${a.runs} paired runs (ratio of the medians: ${(a.noop / a.version).toFixed(2)}) (target <= 2.0) ${ratioA <= 2.0 ? 'OK' : 'MISSED'}`);
}

if (ONLY.has('b')) {
  const b = await benchApply();
  const ratioB = b.ours / b.psql;
  console.log(`(b) migrate --all applying 1,000 migrations over 51 owners: ${fmt(b.ours)}`);
  console.log(`    one psql session running the same 1,000 files:         ${fmt(b.psql)}`);
  console.log(`    ratio ${ratioB.toFixed(2)} (target <= 1.3) ${ratioB <= 1.3 ? 'OK' : 'MISSED'}`);
  console.log(`    runs (ms): orchestrate ${b.runs.ours.map((x) => x.toFixed(0)).join(', ')}; psql ${b.runs.psql.map((x) => x.toFixed(0)).join(', ')}`);
}

if (ONLY.has('c')) {
  const c = await benchCoreVsPrisma();
  const speedup = c.prisma / c.ours;
  console.log(`(c) no-op migrate --core, ${CORE_MIGRATIONS} applied core migrations: ${fmt(c.ours)} (median of ${RUNS})`);
  console.log(`    prisma migrate deploy of the same history (bridge):    ${fmt(c.prisma)}`);
  console.log(`    ${speedup.toFixed(1)}x faster (target >= 8x) ${speedup >= 8 ? 'OK' : 'MISSED'}`);
}

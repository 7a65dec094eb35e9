#!/usr/bin/env node
/**
 * Applying 1,000 small migrations across 51 owners (core + 50 extensions) to a fresh SQLite
 * file, against the `sqlite3` shell running the same migration.sql files one after another in
 * one session (target ≤ 1.3×). Run `pnpm build` first; `sqlite3` must be on PATH (Debian:
 * `apt-get install -y sqlite3`).
 *
 * The shell commits each statement on its own (autocommit), as psql does in bench/migrate.mjs;
 * orchestrate commits each migration with its history row, with foreign keys switched off
 * before BEGIN IMMEDIATE and checked before COMMIT.
 *
 * Two more baselines show where the time goes: the shell with each file between BEGIN and
 * COMMIT (one commit per migration, as orchestrate), and that plus the history row and the
 * pragmas orchestrate sends (the same work, done by the shell).
 *
 * Usage: node bench/sqlite.mjs [--runs 1]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
const EXTENSIONS = 50;
const TOTAL = 1000;

function writeProject() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-sqlite-'));
  mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), 'datasource db {\n  provider = "sqlite"\n}\n');
  const owners = ['core', ...Array.from({ length: EXTENSIONS }, (_, i) => `ext_${String(i).padStart(2, '0')}`)];
  const files = [];
  for (const [index, owner] of owners.entries()) {
    const count = Math.floor(TOTAL / owners.length) + (index < TOTAL % owners.length ? 1 : 0);
    const base = owner === 'core' ? path.join(dir, 'prisma') : path.join(dir, 'extensions', owner);
    mkdirSync(path.join(base, 'migrations'), { recursive: true });
    writeFileSync(path.join(base, 'migrations/migration_lock.toml'), 'provider = "sqlite"\n');
    if (owner !== 'core') writeFileSync(path.join(base, 'schema.prisma'), `// ${owner}\n`);
    for (let m = 0; m < count; m++) {
      const name = `2024${String(Math.floor(m / 28) + 1).padStart(2, '0')}${String((m % 28) + 1).padStart(2, '0')}000000_step_${m}`;
      const table = `${owner}_t${m}`;
      const migrationDir = path.join(base, 'migrations', name);
      mkdirSync(migrationDir, { recursive: true });
      const file = path.join(migrationDir, 'migration.sql');
      writeFileSync(
        file,
        `-- CreateTable\nCREATE TABLE "${table}" (\n    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n    "name" TEXT NOT NULL,\n    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\n-- CreateIndex\nCREATE INDEX "${table}_name_idx" ON "${table}"("name");\n`,
      );
      writeFileSync(path.join(migrationDir, 'down.sql'), `DROP TABLE "${table}";\n`);
      files.push(file);
    }
  }
  return { dir, env: { APP_EXTENSIONS: owners.slice(1).join(','), NO_COLOR: '1' }, files };
}

function timed(command, args, options) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 || result.stderr.includes('Error')) {
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return { ms, stdout: result.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${ms.toFixed(1)} ms`;

execFileSync(process.execPath, [CLI, '--version']); // fails early when the build is missing
const version = execFileSync('sqlite3', ['-version'], { encoding: 'utf8' }).split(' ')[0];
console.log(`orchestrate SQLite apply benchmark: node ${process.version}, sqlite3 shell ${version}, ${os.cpus().length} CPUs, median of ${RUNS} runs`);

const project = writeProject();
const ours = [];
const shell = [];
const wrapped = [];
const sameWork = [];
try {
  // Each run starts from no database file; the two take turns so that neither always follows the other.
  for (let i = 0; i < 4 * RUNS; i++) {
    const file = path.join(project.dir, 'bench.db');
    rmSync(file, { force: true });
    if (i % 4 === 0) {
      const run = timed(process.execPath, [CLI, 'migrate', '--all'], { cwd: project.dir, env: { ...process.env, ...project.env, DATABASE_URL: 'file:./bench.db' } });
      if (!/^Applied 1000 migrations/.test(run.stdout)) throw new Error(`unexpected output: ${run.stdout}`);
      ours.push(run.ms);
    } else if (i % 4 === 1) {
      const script = project.files.map((f) => `.read '${f}'`).join('\n');
      shell.push(timed('sqlite3', ['-bail', file], { input: script }).ms);
    } else if (i % 4 === 2) {
      // The same files with one commit each, as orchestrate commits them (without a history row).
      const script = project.files.map((f) => `BEGIN;\n.read '${f}'\nCOMMIT;`).join('\n');
      wrapped.push(timed('sqlite3', ['-bail', file], { input: script }).ms);
    } else {
      // What orchestrate sends, history row and foreign-key check included (one history table).
      const history = 'CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);';
      const script = [history, ...project.files.map((f, n) => `PRAGMA foreign_keys=OFF;\nBEGIN IMMEDIATE;\n.read '${f}'\nINSERT INTO "_prisma_migrations" VALUES ('${n}', 'x', 1, '${n}', NULL, NULL, 1, 1);\nPRAGMA foreign_key_check;\nCOMMIT;`)].join('\n');
      sameWork.push(timed('sqlite3', ['-bail', file], { input: script }).ms);
    }
  }
} finally {
  rmSync(project.dir, { recursive: true, force: true });
}
const ratio = median(ours) / median(shell);
const ratioWrapped = median(ours) / median(wrapped);
console.log(`migrate --all applying 1,000 migrations over 51 owners: ${fmt(median(ours))}`);
console.log(`one sqlite3 session running the same 1,000 files:      ${fmt(median(shell))}`);
console.log(`    ratio ${ratio.toFixed(2)} (target <= 1.3) ${ratio <= 1.3 ? 'OK' : 'MISSED'}`);
console.log(`the same, each file between BEGIN and COMMIT:          ${fmt(median(wrapped))}`);
console.log(`    ratio ${ratioWrapped.toFixed(2)} (target <= 1.3) ${ratioWrapped <= 1.3 ? 'OK' : 'MISSED'}`);
console.log(`the same, plus the history row and the checks orchestrate adds: ${fmt(median(sameWork))}`);
console.log(`    ratio ${(median(ours) / median(sameWork)).toFixed(2)} (orchestrate's own cost)`);
console.log(`runs (ms): orchestrate ${ours.map((x) => x.toFixed(0)).join(', ')}; sqlite3 ${shell.map((x) => x.toFixed(0)).join(', ')}; sqlite3 with BEGIN/COMMIT ${wrapped.map((x) => x.toFixed(0)).join(', ')}; with the history row ${sameWork.map((x) => x.toFixed(0)).join(', ')}`);

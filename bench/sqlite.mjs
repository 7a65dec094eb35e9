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
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, fmt, median, timed as timedProcess, writeManyMigrations } from './common.mjs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
const EXTENSIONS = 50;
const TOTAL = 1000;

const writeProject = () => writeManyMigrations({ total: TOTAL, extensions: EXTENSIONS, provider: 'sqlite' });
// The sqlite3 shell exits 0 after an error it reports.
const timed = (command, args, options) => timedProcess(command, args, { errorOnStderr: true, ...options });

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

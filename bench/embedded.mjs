#!/usr/bin/env node
/**
 * The first `migrate --all` of the sample app on a new embedded database (PGlite), as a developer
 * runs it after `rm -rf .orchestrate` or in a fresh clone (run `pnpm build` first):
 *
 *   cold: with an empty cache folder, so PostgreSQL's initdb runs inside PGlite;
 *   warm: with PGlite's fresh data directory already in the cache folder (every run after the
 *         first on a machine), loaded instead of initdb.
 *
 * Prints the medians, the time saved and warm/cold (target < 1.0: the cache must save time on
 * every new database to be worth its 28 MB; the migrations themselves and the reopen after
 * creation are the same in both).
 * Usage: node bench/embedded.mjs [--runs 5]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const ENV = { ...process.env, APP_EXTENSIONS: 'billing,crm,analytics', NO_COLOR: '1' };
delete ENV.DATABASE_URL;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-embedded-'));
try {
  for (const part of ['prisma', 'extensions']) cpSync(path.join(ROOT, part), path.join(work, part), { recursive: true });
  const warmCache = path.join(work, 'warm-cache');

  /** One first migrate on a new database; `cache` is the XDG_CACHE_HOME it sees. */
  const firstMigrate = (cache) => {
    rmSync(path.join(work, '.orchestrate'), { recursive: true, force: true });
    const started = performance.now();
    execFileSync(process.execPath, [CLI, 'migrate', '--all'], { cwd: work, env: { ...ENV, XDG_CACHE_HOME: cache }, stdio: 'pipe' });
    return performance.now() - started;
  };

  firstMigrate(warmCache); // fills the warm cache
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const empty = mkdtempSync(path.join(work, 'cold-cache-'));
    cold.push(firstMigrate(empty));
    rmSync(empty, { recursive: true, force: true });
    warm.push(firstMigrate(warmCache));
  }
  const [c, w] = [median(cold), median(warm)];
  console.log(`first migrate --all on a new embedded database, median of ${RUNS}:`);
  console.log(`  cold (initdb):         ${(c / 1000).toFixed(2)} s`);
  console.log(`  warm (cached datadir): ${(w / 1000).toFixed(2)} s`);
  console.log(`  saved: ${((c - w) / 1000).toFixed(2)} s; warm/cold: ${(w / c).toFixed(2)} (target < 1.0)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

#!/usr/bin/env node
/**
 * Benchmark of `orchestrate fleet` (run `pnpm build` first): 200 tenant databases created from
 * the sample app, migrated once by `fleet --concurrency 8` (timed), then a no-op
 * `fleet --concurrency 8` over the 200 up-to-date databases, `--runs` times (target ≤ 20 s;
 * the figure is the median). Every database is migrated in-process, not by a process each.
 *
 * Usage: node bench/fleet.mjs [--tenants 200] [--runs 3]
 * Environment: BENCH_PG_URL (or TEST_PG_URL), an admin URL allowed to create databases;
 * default postgresql://postgres@127.0.0.1:5432/postgres.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_URL, CLI, ROOT, admin } from './common.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TENANTS = arg('--tenants', 200);
const RUNS = arg('--runs', 3);

async function inParallel(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function fleet(dir, file) {
  // The databases come from --file: DATABASE_URL unset (an empty one is refused as a mistake).
  const { DATABASE_URL: _unset, ...env } = process.env;
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, 'fleet', '--file', file, '--concurrency', '8', '--json'], {
    cwd: dir,
    env: { ...env, APP_EXTENSIONS: 'analytics,billing,crm', NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`fleet exited ${r.status}: ${r.stderr}`);
  return { seconds, totals: JSON.parse(r.stdout).totals };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-fleet-'));
const run = `orch_bench_fleet_${randomBytes(3).toString('hex')}`;
const names = Array.from({ length: TENANTS }, (_, i) => `${run}_${String(i + 1).padStart(3, '0')}`);
const created = [];
try {
  cpSync(path.join(ROOT, 'prisma'), path.join(dir, 'prisma'), { recursive: true });
  cpSync(path.join(ROOT, 'extensions'), path.join(dir, 'extensions'), { recursive: true });
  let t0 = Date.now();
  await inParallel(names, 4, async (name) => {
    await admin(`CREATE DATABASE "${name}"`);
    created.push(name);
  });
  console.log(`created ${TENANTS} databases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const base = new URL(ADMIN_URL);
  const file = path.join(dir, 'tenants.txt');
  writeFileSync(file, names.map((n) => Object.assign(new URL(base), { pathname: `/${n}` }).toString()).join('\n'));

  const first = fleet(dir, file);
  console.log(`fleet --concurrency 8, first run: ${first.totals.migrationsApplied} migrations on ${first.totals.applied} databases in ${first.seconds.toFixed(1)} s`);
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const r = fleet(dir, file);
    if (r.totals.upToDate !== TENANTS) throw new Error(`expected ${TENANTS} up-to-date databases, got ${JSON.stringify(r.totals)}`);
    times.push(r.seconds);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`no-op fleet --concurrency 8 over ${TENANTS} up-to-date databases: median ${median.toFixed(2)} s of ${RUNS} runs (${times.map((t) => t.toFixed(2)).join(', ')}); target ≤ 20 s: ${median <= 20 ? 'met' : 'MISSED'}`);
} finally {
  const t0 = Date.now();
  await inParallel([...created], 16, (name) => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  console.log(`dropped ${created.length} databases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  rmSync(dir, { recursive: true, force: true });
}

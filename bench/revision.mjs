// revision --all on synthetic projects (1, 10, 50, 200 extensions) as a whole process, against
// one process per owner (baseline), measured in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticProject } from './synthetic.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../dist/cli.js');
const URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env.BENCH_SIZES ?? '1,10,50,200').split(',').map(Number);
const BASELINE_MAX = Number(process.env.BENCH_BASELINE_MAX ?? 50);
const hasTime = existsSync('/usr/bin/time');

function timed(args, env, cwd) {
  const cmd = hasTime ? '/usr/bin/time' : process.execPath;
  const argv = hasTime ? ['-f', '__RSS_KB=%M', process.execPath, ...args] : args;
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  const rss = /__RSS_KB=(\d+)/.exec(r.stderr)?.[1];
  return { ms, rssMb: rss ? Number(rss) / 1024 : null };
}

const rows = [];
for (const n of SIZES) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `orch-bench-${n}-`));
  try {
    const exts = writeSyntheticProject(dir, n).join(',');
    const env = { APP_EXTENSIONS: exts, DATABASE_URL: URL };
    const clean = () => {
      rmSync(path.join(dir, 'prisma/migrations'), { recursive: true, force: true });
      for (const e of exts.split(',')) rmSync(path.join(dir, 'extensions', e, 'migrations'), { recursive: true, force: true });
    };
    // The median of three runs: a single second-long run moves by 10-20% with the machine's load.
    const samples = [0, 1, 2].map(() => {
      const run = timed([CLI, 'revision', '--all', '-m', 'init'], env, dir);
      clean();
      return run;
    });
    const ours = samples.sort((a, b) => a.ms - b.ms)[1];
    const embedded = timed([CLI, 'revision', '--all', '-m', 'init'], { APP_EXTENSIONS: exts, DATABASE_URL: '' }, dir);
    let baseline = null;
    if (n <= BASELINE_MAX) {
      const t0 = performance.now();
      for (const owner of ['core', ...exts.split(',')]) {
        execFileSync(process.execPath, [path.join(here, 'baseline-owner.mjs'), dir, owner], { env: { ...process.env, ...env } });
      }
      baseline = performance.now() - t0;
    }
    rows.push({ n, ours, embedded, baseline });
    console.log(
      `revision --all, ${String(n).padStart(3)} extensions: ${ours.ms.toFixed(0).padStart(6)} ms (server for version check, median of 3), ` +
        `${embedded.ms.toFixed(0).padStart(6)} ms (in-memory PGlite), peak RSS ${ours.rssMb?.toFixed(0) ?? '?'} / ${embedded.rssMb?.toFixed(0) ?? '?'} MB` +
        (baseline !== null ? `; one process per owner: ${baseline.toFixed(0)} ms, ratio ${(baseline / ours.ms).toFixed(1)}x` : ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const first = rows[0];
const last = rows.at(-1);
if (first && last && last.n > first.n) {
  const marginal = (last.ours.ms - first.ours.ms) / (last.n - first.n);
  console.log(`marginal cost per owner (${first.n} -> ${last.n} extensions): ${marginal.toFixed(1)} ms (target <= 20 ms)`);
}
const at50 = rows.find((r) => r.n === 50);
if (at50?.baseline) console.log(`50 extensions: ${(at50.baseline / at50.ours.ms).toFixed(1)}x faster than one process per owner (target >= 20x)`);
const at200 = rows.find((r) => r.n === 200);
if (at200) console.log(`200 extensions: ${(at200.ours.ms / 1000).toFixed(2)} s wall (target < 5 s)`);

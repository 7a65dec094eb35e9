// revision --all as a whole process, in one run:
//  - the sample app (every owner diffed: --regenerate --force) without a URL and with --url;
//  - synthetic projects (50 and 200 extensions by default) without a URL, with peak RSS;
//  - against one process per owner (each starting the engine for one diff), and against one
//    `prisma migrate diff` process per diff (`--engine prisma-cli`, per owner).
// Peak RSS is /usr/bin/time's %M (maximum resident set size of the process).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticProject } from './synthetic.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const CLI = path.join(REPO, 'dist/cli.js');
const URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env.BENCH_SIZES ?? '50,200').split(',').map(Number);
const BASELINE_AT = Number(process.env.BENCH_BASELINE_AT ?? 50);
const PRISMA_CLI_EXTENSIONS = Number(process.env.BENCH_PRISMA_CLI_EXTENSIONS ?? 4);
const hasTime = existsSync('/usr/bin/time');

function timed(args, env, cwd) {
  const cmd = hasTime ? '/usr/bin/time' : process.execPath;
  const argv = hasTime ? ['-f', '__RSS_KB=%M', process.execPath, ...args] : args;
  const t0 = performance.now();
  const merged = { ...process.env, ...env };
  // No URL means none at all (an empty one is an error).
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const r = spawnSync(cmd, argv, { cwd, env: merged, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  const rss = /__RSS_KB=(\d+)/.exec(r.stderr)?.[1];
  return { ms, rssMb: rss ? Number(rss) / 1024 : null };
}

/** The median run of three (by time), and the highest peak RSS of the three. */
function median3(run) {
  const samples = [run(), run(), run()];
  const mid = [...samples].sort((a, b) => a.ms - b.ms)[1];
  return { ms: mid.ms, rssMb: Math.max(...samples.map((s) => s.rssMb ?? 0)) || null };
}

const mb = (x) => (x === null ? '?' : `${x.toFixed(0)} MB`);
const lines = [];
const say = (line) => {
  console.log(line);
  lines.push(line);
};

// The sample app: every owner diffed (its migrations replaced by one fresh migration each).
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-sample-'));
  try {
    cpSync(path.join(REPO, 'prisma'), path.join(dir, 'prisma'), { recursive: true });
    cpSync(path.join(REPO, 'extensions'), path.join(dir, 'extensions'), { recursive: true });
    const args = [CLI, 'revision', '--all', '--regenerate', '--force', '-m', 'init'];
    const env = { APP_EXTENSIONS: 'billing,crm,analytics', DATABASE_URL: undefined };
    const offline = median3(() => timed(args, env, dir));
    const online = median3(() => timed([...args, '--url', URL], env, dir));
    say(
      `sample app revision --all (4 owners diffed): no URL ${offline.ms.toFixed(0)} ms, --url ${online.ms.toFixed(0)} ms (ratio ${(offline.ms / online.ms).toFixed(2)}, target <= 1.2); ` +
        `peak RSS ${mb(offline.rssMb)} / ${mb(online.rssMb)} (target <= 200 MB)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const n of SIZES) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `orch-bench-${n}-`));
  try {
    const exts = writeSyntheticProject(dir, n).join(',');
    const env = { APP_EXTENSIONS: exts, DATABASE_URL: undefined };
    const clean = () => {
      rmSync(path.join(dir, 'prisma/migrations'), { recursive: true, force: true });
      for (const e of exts.split(',')) rmSync(path.join(dir, 'extensions', e, 'migrations'), { recursive: true, force: true });
    };
    const ours = median3(() => {
      const run = timed([CLI, 'revision', '--all', '-m', 'init'], env, dir);
      clean();
      return run;
    });
    let baseline = null;
    if (n === BASELINE_AT) {
      const t0 = performance.now();
      for (const owner of ['core', ...exts.split(',')]) {
        const { DATABASE_URL: _none, ...rest } = process.env;
        execFileSync(process.execPath, [path.join(here, 'baseline-owner.mjs'), dir, owner], { env: { ...rest, APP_EXTENSIONS: exts } });
      }
      baseline = performance.now() - t0;
    }
    rows.push({ n, ours, baseline });
    say(
      `revision --all, ${String(n).padStart(3)} extensions, no URL: ${ours.ms.toFixed(0).padStart(6)} ms (median of 3), peak RSS ${mb(ours.rssMb)}` +
        (baseline !== null ? `; one process per owner: ${baseline.toFixed(0)} ms, ratio ${(baseline / ours.ms).toFixed(1)}x (target >= 20x)` : ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// One `prisma migrate diff` process per diff (the Prisma CLI through the schema-engine bridge),
// per owner, against this run's in-process cost per owner at the largest size.
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-bench-cli-'));
  try {
    const exts = writeSyntheticProject(dir, PRISMA_CLI_EXTENSIONS).join(',');
    const cli = timed([CLI, 'revision', '--all', '-m', 'init', '--engine', 'prisma-cli'], { APP_EXTENSIONS: exts, DATABASE_URL: undefined }, dir);
    const owners = PRISMA_CLI_EXTENSIONS + 1;
    const largest = rows.at(-1);
    const oursPerOwner = largest.ours.ms / (largest.n + 1);
    const cliPerOwner = cli.ms / owners;
    say(
      `one prisma migrate diff process per diff: ${cliPerOwner.toFixed(0)} ms per owner (${owners} owners); in-process at ${largest.n} extensions: ${oursPerOwner.toFixed(1)} ms per owner; ratio ${(cliPerOwner / oursPerOwner).toFixed(0)}x (target >= 100x)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at50 = rows.find((r) => r.n === 50);
if (at50) say(`50 extensions: peak RSS ${mb(at50.ours.rssMb)} (target <= 250 MB)`);
const at200 = rows.find((r) => r.n === 200);
if (at200) say(`200 extensions: ${(at200.ours.ms / 1000).toFixed(2)} s wall (target < 5 s)`);

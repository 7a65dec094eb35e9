#!/usr/bin/env node
// Times `orchestrate revision --all` with the in-process engine (default, `--engine wasm`) and
// with `--engine prisma-cli` (the Prisma CLI through the schema-engine bridge) on synthetic
// projects with 10 and 50 extensions, and checks that both wrote the same SQL.
//
//   pnpm build && node bench/engines.mjs [--sizes 10,50]
//
// Each run starts from a fresh copy of the project in the system temp folder (revision writes
// migrations). No database is needed: revision diffs schemas only.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticProject } from './synthetic.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist/cli.js');

function revision(dir, names, engine) {
  const args = [CLI, 'revision', '--all', '-m', 'init', '--cwd', dir, '--extensions', names.join(',')];
  if (engine) args.push('--engine', engine);
  const started = process.hrtime.bigint();
  // No database: DATABASE_URL unset (an empty one is refused as a mistake).
  const { DATABASE_URL: _unset, ...env } = process.env;
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, APP_EXTENSIONS: '' } });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Every migration.sql and down.sql by owner, with the timestamps of migration names left out. */
function scripts(dir) {
  const out = {};
  const owners = [['core', path.join(dir, 'prisma/migrations')]];
  for (const name of existsSync(path.join(dir, 'extensions')) ? readdirSync(path.join(dir, 'extensions')) : []) {
    owners.push([name, path.join(dir, 'extensions', name, 'migrations')]);
  }
  for (const [owner, migrations] of owners) {
    if (!existsSync(migrations)) continue;
    for (const m of readdirSync(migrations).filter((d) => /^\d{14}_/.test(d)).sort()) {
      for (const f of ['migration.sql', 'down.sql']) {
        const file = path.join(migrations, m, f);
        // Migration names carry the time of the run; headers such as `-- orchestrate:requires` cite them.
        if (existsSync(file)) out[`${owner}/${m.slice(15)}/${f}`] = readFileSync(file, 'utf8').replace(/\b\d{14}_/g, '<timestamp>_');
      }
    }
  }
  return out;
}

const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1].split(',').map(Number) : [10, 50];
if (!existsSync(CLI)) {
  console.error('dist/cli.js is missing; run `pnpm build` first.');
  process.exit(2);
}

const root = mkdtempSync(path.join(os.tmpdir(), 'orchestrate-bench-'));
const rows = [];
try {
  for (const size of sizes) {
    const template = path.join(root, `template-${size}`);
    const names = writeSyntheticProject(template, size);
    const wasmDir = path.join(root, `wasm-${size}`);
    const cliDir = path.join(root, `cli-${size}`);
    cpSync(template, wasmDir, { recursive: true });
    cpSync(template, cliDir, { recursive: true });
    const wasm = revision(wasmDir, names, null);
    const cli = revision(cliDir, names, 'prisma-cli');
    const a = scripts(wasmDir);
    const b = scripts(cliDir);
    const identical = JSON.stringify(a) === JSON.stringify(b);
    rows.push({ size, owners: size + 1, migrations: Object.keys(a).filter((k) => k.endsWith('migration.sql')).length, wasm, cli, identical });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`orchestrate revision --all, in-process engine vs --engine prisma-cli (node ${process.version}, ${os.cpus().length} CPUs)`);
console.log(`${pad('extensions', 11)}${pad('owners', 8)}${pad('migrations', 12)}${pad('in-process', 12)}${pad('prisma-cli', 12)}${pad('ratio', 8)}same SQL`);
for (const r of rows) {
  console.log(
    `${pad(r.size, 11)}${pad(r.owners, 8)}${pad(r.migrations, 12)}${pad(`${r.wasm.toFixed(2)} s`, 12)}${pad(`${r.cli.toFixed(2)} s`, 12)}${pad(`${(r.cli / r.wasm).toFixed(1)}x`, 8)}${r.identical ? 'yes' : 'NO'}`,
  );
}
if (rows.some((r) => !r.identical)) process.exitCode = 1;

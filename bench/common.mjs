// What the benchmarks share: where things are, the admin connection, timing a process, and a
// project with many small migrations spread over core and N extensions.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/cli.js');
/** An admin URL allowed to create databases: BENCH_PG_URL, TEST_PG_URL, or the local server. */
export const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on the admin database. */
export async function admin(sql) {
  const pg = createRequire(path.join(ROOT, 'package.json'))('pg');
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Runs a process to its end and returns its wall time. A non-zero exit throws, and so does an
 * `Error` on stderr when `errorOnStderr` is set (the sqlite3 shell exits 0 after an error).
 */
export function timed(command, args, { errorOnStderr = false, ...options } = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  const ms = performance.now() - started;
  if (result.status !== 0 || (errorOnStderr && result.stderr.includes('Error'))) {
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return { ms, stdout: result.stdout };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const fmt = (ms) => `${ms.toFixed(1)} ms`;

const CREATE = {
  postgresql: (table) =>
    `-- CreateTable\nCREATE TABLE "${table}" (\n    "id" SERIAL NOT NULL,\n    "name" TEXT NOT NULL,\n    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),\n\n    CONSTRAINT "${table}_pkey" PRIMARY KEY ("id")\n);\n\n-- CreateIndex\nCREATE INDEX "${table}_name_idx" ON "${table}"("name");\n`,
  sqlite: (table) =>
    `-- CreateTable\nCREATE TABLE "${table}" (\n    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n    "name" TEXT NOT NULL,\n    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\n-- CreateIndex\nCREATE INDEX "${table}_name_idx" ON "${table}"("name");\n`,
};

/**
 * A project with core + `extensions` extensions (`ext_00`, …) and `total` migrations spread
 * over the owners, each creating a table and an index (with its down.sql). On SQLite every
 * migrations folder has its migration_lock.toml; `snapshots` gives every migration a
 * snapshot.prisma, as `revision` writes them.
 */
export function writeManyMigrations({ total, extensions, provider = 'postgresql', snapshots = false }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `orch-bench-${provider}-`));
  const datasource = `datasource db {\n  provider = "${provider}"\n}\n`;
  mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), datasource);
  const owners = ['core', ...Array.from({ length: extensions }, (_, i) => `ext_${String(i).padStart(2, '0')}`)];
  const files = [];
  for (const [index, owner] of owners.entries()) {
    const count = Math.floor(total / owners.length) + (index < total % owners.length ? 1 : 0);
    const base = owner === 'core' ? path.join(dir, 'prisma') : path.join(dir, 'extensions', owner);
    mkdirSync(path.join(base, 'migrations'), { recursive: true });
    if (provider === 'sqlite') writeFileSync(path.join(base, 'migrations/migration_lock.toml'), 'provider = "sqlite"\n');
    const schema = owner === 'core' ? datasource : `// ${owner}\n`;
    if (owner !== 'core') writeFileSync(path.join(base, 'schema.prisma'), schema);
    for (let m = 0; m < count; m++) {
      const name = `${2024 + Math.floor(m / 336)}${String((Math.floor(m / 28) % 12) + 1).padStart(2, '0')}${String((m % 28) + 1).padStart(2, '0')}000000_step_${m}`;
      const table = `${owner}_t${m}`;
      const migrationDir = path.join(base, 'migrations', name);
      mkdirSync(migrationDir);
      const file = path.join(migrationDir, 'migration.sql');
      writeFileSync(file, CREATE[provider](table));
      writeFileSync(path.join(migrationDir, 'down.sql'), `DROP TABLE "${table}";\n`);
      if (snapshots) writeFileSync(path.join(migrationDir, 'snapshot.prisma'), schema);
      files.push(file);
    }
  }
  return { dir, env: { APP_EXTENSIONS: owners.slice(1).join(','), NO_COLOR: '1' }, files };
}

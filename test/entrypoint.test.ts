/**
 * scripts/docker-entrypoint.sh, run the way the README's Dockerfiles run it: their ENTRYPOINT and
 * ENV taken from README.md, no ORCHESTRATE_CMD, a PATH without orchestrate, in a copy of this
 * repository and in an application that installed the packed package.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, historyRows, stackLines, tables } from './apply-fixtures.js';
import { CLI, REPO, createDatabase, tempDir } from './helpers.js';

interface Dockerfile {
  env: Record<string, string>;
  entrypoint: string[];
}

/** The ENV and ENTRYPOINT of the README block marked `<!-- dockerfile: name -->`. */
function readmeDockerfile(name: string): Dockerfile {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- dockerfile: ${name} -->`);
  expect(at).toBeGreaterThanOrEqual(0);
  const block = /```dockerfile\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  const env: Record<string, string> = {};
  for (const m of block.matchAll(/^ENV (\w+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(block)![1]!) as string[];
  expect(block).toMatch(/^WORKDIR \/app$/m);
  return { env, entrypoint };
}

/** A PATH with node and sh but no orchestrate. */
const BARE_PATH = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(':');

function run(app: string, dockerfile: Dockerfile, env: Record<string, string>, command: string[]) {
  const [file, ...args] = dockerfile.entrypoint.map((word) => word.replace(/^\/app(?=\/|$)/, app));
  return execa(file!, [...args, ...command], {
    cwd: app,
    reject: false,
    stdin: 'ignore',
    extendEnv: false,
    env: { PATH: BARE_PATH, HOME: process.env.HOME ?? '/root', NO_COLOR: '1', ...dockerfile.env, ...env },
  });
}

/** The sample app of this repository: its schemas and committed migrations. */
function copySampleApp(to: string): void {
  for (const dir of ['prisma', 'extensions']) cpSync(path.join(REPO, dir), path.join(to, dir), { recursive: true });
}

/**
 * One database per Dockerfile: a container restarted on a migrated database is a case of its own
 * (nothing to apply), so the tests that migrate may find it migrated.
 */
let db: Awaited<ReturnType<typeof createDatabase>>;

describe('the README Dockerfile of this repository', () => {
  const dockerfile = readmeDockerfile('repository');
  let repo: { dir: string; cleanup: () => void };

  beforeAll(async () => {
    db = await createDatabase();
    // What `COPY . .` and `pnpm build` leave in /app: the sources, the built dist/, node_modules.
    repo = tempDir('orch-entrypoint-repo-');
    copySampleApp(repo.dir);
    cpSync(path.join(REPO, 'scripts'), path.join(repo.dir, 'scripts'), { recursive: true });
    cpSync(path.join(REPO, 'package.json'), path.join(repo.dir, 'package.json'));
    symlinkSync(path.join(REPO, 'dist'), path.join(repo.dir, 'dist'));
    symlinkSync(path.join(REPO, 'node_modules'), path.join(repo.dir, 'node_modules'));
  });
  afterAll(async () => {
    repo.cleanup();
    await db.drop();
  });

  it('finds dist/cli.js beside the script, migrates every owner, then execs the command with its arguments', async () => {
    expect(await tables(db.url)).toEqual([]);
    expect(existsSync(path.join(repo.dir, 'node_modules/.bin/orchestrate'))).toBe(false);
    const r = await run(repo.dir, dockerfile, { DATABASE_URL: db.url }, ['sh', '-c', 'echo "started with $1 strict=$ORCHESTRATE_STRICT"', 'sh', 'arg one']);
    expect(r.stderr).not.toMatch(/not found|warning/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied \d+ migrations \(core: \d+, billing: \d+, analytics: \d+, crm: \d+\) in [\d.]+ m?s\.\nstarted with arg one strict=1$/);
    expect(await tables(db.url)).toEqual(expect.arrayContaining(['_prisma_migrations', '_prisma_migrations_billing', '_prisma_migrations_crm', '_prisma_migrations_analytics']));

    // A restarted container: nothing to do, the command starts and its exit code is the container's.
    const again = await run(repo.dir, dockerfile, { DATABASE_URL: db.url }, ['sh', '-c', 'echo started; exit 7']);
    expect(again.exitCode).toBe(7);
    expect(again.stdout).toBe('Nothing to apply: 4 owners up to date.\nstarted');
  });

  it('refuses to start without DATABASE_URL (exit 2, one line), unless ORCHESTRATE_ALLOW_EMBEDDED=1', async () => {
    for (const url of [{}, { DATABASE_URL: '' }] as Record<string, string>[]) {
      const r = await run(repo.dir, dockerfile, url, ['sh', '-c', 'echo started']);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^docker-entrypoint: DATABASE_URL is not set, so there is no database to migrate; set it .*ORCHESTRATE_ALLOW_EMBEDDED=1/);
      expect(existsSync(path.join(repo.dir, '.orchestrate'))).toBe(false);
    }
    const embedded = await run(repo.dir, dockerfile, { ORCHESTRATE_ALLOW_EMBEDDED: '1' }, ['sh', '-c', 'echo started']);
    expect(embedded.exitCode).toBe(0);
    expect(embedded.stderr).toMatch(/Using the embedded PostgreSQL database in \.orchestrate\/pglite/);
    expect(embedded.stdout).toMatch(/^Applied \d+ migrations .*\nstarted$/);
  }, 60_000);

  it('waits ORCHESTRATE_WAIT seconds for an unreachable database, names ORCHESTRATE_WAIT, exits 1 without starting the command', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await run(repo.dir, dockerfile, { DATABASE_URL: `postgresql://postgres:secret@127.0.0.1:${port}/app`, ORCHESTRATE_WAIT: '1' }, ['sh', '-c', 'echo started']);
    expect(r.exitCode).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^Waiting up to 1 s for the database at /);
    expect(lines[1]).toMatch(/^error: Cannot connect to the database at postgresql:\/\/postgres:\*+@127\.0\.0\.1:\d+\/app \(from DATABASE_URL\) after \d+ attempts .*raise ORCHESTRATE_WAIT\.$/);
    expect(r.stderr).not.toContain('--wait');
    expect(r.stderr).not.toContain('secret');
    expect(lines[2]).toBe('docker-entrypoint: migrations failed (orchestrate exit code 1), so the container command was not started; see the error above.');
    expect(stackLines(r.stderr)).toEqual([]);
  });

  it('prefers an orchestrate on PATH, and never shadows it', async () => {
    const bin = tempDir('orch-entrypoint-bin-');
    try {
      const marker = path.join(bin.dir, 'used');
      writeFileSync(path.join(bin.dir, 'orchestrate'), `#!/bin/sh\necho "$@" > ${marker}\nexec ${process.execPath} ${CLI} "$@"\n`);
      chmodSync(path.join(bin.dir, 'orchestrate'), 0o755);
      const r = await run(repo.dir, dockerfile, { DATABASE_URL: db.url, PATH: `${bin.dir}:${BARE_PATH}` }, ['sh', '-c', 'echo started']);
      expect(r.exitCode).toBe(0);
      expect(readFileSync(marker, 'utf8')).toBe('migrate --all\n');
    } finally {
      bin.cleanup();
    }
  });
});

describe('the README Dockerfile of an application that installed the package', () => {
  const dockerfile = readmeDockerfile('app');
  let app: { dir: string; cleanup: () => void };

  beforeAll(async () => {
    db = await createDatabase();
    app = tempDir('orch-entrypoint-app-');
    const packed = path.join(app.dir, 'packed');
    mkdirSync(packed);
    await execa('pnpm', ['pack', '--pack-destination', packed], { cwd: REPO });
    const project = path.join(app.dir, 'app');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    await execa('pnpm', ['add', '--prefer-offline', path.join(packed, 'orchestrate-0.1.0.tgz')], { cwd: project });
    copySampleApp(project);
  }, 60_000);
  afterAll(async () => {
    app.cleanup();
    await db.drop();
  });

  it('runs orchestrate from node_modules/.bin and starts the command; a failing check keeps it from starting', async () => {
    const project = path.join(app.dir, 'app');
    const r = await run(project, dockerfile, { DATABASE_URL: db.url }, ['sh', '-c', 'echo started']);
    expect(r.stderr).not.toMatch(/error|warning|not found/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied \d+ migrations \(core: \d+, billing: \d+, analytics: \d+, crm: \d+\) in [\d.]+ m?s\.\nstarted$/);

    // An edited applied migration: orchestrate exits 3, so does the container, the command never runs.
    const core = path.join(project, 'prisma/migrations');
    const first = readdirSync(core).find((n) => /^\d{14}_/.test(n))!;
    const file = path.join(core, first, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '\n-- edited\n');
    const edited = await run(project, dockerfile, { DATABASE_URL: db.url }, ['sh', '-c', 'echo started']);
    expect(edited.exitCode).toBe(3);
    expect(edited.stdout).toBe('');
    expect(edited.stderr.split('\n').at(-1)).toBe('docker-entrypoint: migrations failed (orchestrate exit code 3), so the container command was not started; see the error above.');
    expect((await historyRows(db.url, '_prisma_migrations')).length).toBeGreaterThan(0);
  });
});

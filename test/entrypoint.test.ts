import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_INIT, SAMPLE_ENV, freePort, historyRows, stackLines, tables, writeSample } from './apply-fixtures.js';
import { CLI, REPO, createDatabase, tempDir } from './helpers.js';

const SCRIPT = path.join(REPO, 'scripts/docker-entrypoint.sh');

let project: { dir: string; cleanup: () => void };
let db: Awaited<ReturnType<typeof createDatabase>>;

beforeEach(async () => {
  project = tempDir('orch-entrypoint-');
  writeSample(project.dir);
  db = await createDatabase();
});

afterEach(async () => {
  await db.drop();
  project.cleanup();
});

function entrypoint(env: Record<string, string>, command: string[]) {
  return execa('sh', [SCRIPT, ...command], {
    cwd: project.dir,
    reject: false,
    stdin: 'ignore',
    env: { ...SAMPLE_ENV, NO_COLOR: '1', ORCHESTRATE_CMD: `${process.execPath} ${CLI}`, ...env },
  });
}

describe('scripts/docker-entrypoint.sh', () => {
  it('migrates every owner, then execs the command with its arguments', async () => {
    const r = await entrypoint({ DATABASE_URL: db.url }, ['sh', '-c', 'echo "started with $1"', 'sh', 'arg one']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Applied 5 migrations \(core: 2, billing: 2, crm: 1\) in [\d.]+ m?s\.\nstarted with arg one$/);
    expect(await tables(db.url)).toContain('crm_contact');

    // A restarted container: nothing to do, the command starts.
    const again = await entrypoint({ DATABASE_URL: db.url }, ['sh', '-c', 'echo started; exit 7']);
    expect(again.exitCode).toBe(7);
    expect(again.stdout).toBe('Nothing to apply: 3 owners up to date.\nstarted');
  });

  it('waits ORCHESTRATE_WAIT seconds for an unreachable database, then exits 1 without starting the command', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await entrypoint({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/app`, ORCHESTRATE_WAIT: '1' }, ['sh', '-c', 'echo started']);
    expect(r.exitCode).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^Waiting up to 1 s for the database at /);
    expect(lines[1]).toMatch(/^error: Cannot connect to the database at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/app \(from DATABASE_URL\) after \d+ attempts/);
    expect(lines[2]).toBe('docker-entrypoint: migrations failed (orchestrate exit code 1), so the container command was not started; see the error above.');
    expect(stackLines(r.stderr)).toEqual([]);
  });

  it("passes on orchestrate's exit code when a check fails (an edited applied migration)", async () => {
    await entrypoint({ DATABASE_URL: db.url }, []);
    const file = path.join(project.dir, 'prisma/migrations', CORE_INIT, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '\n-- edited\n');
    const r = await entrypoint({ DATABASE_URL: db.url }, ['sh', '-c', 'echo started']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').at(-1)).toBe('docker-entrypoint: migrations failed (orchestrate exit code 3), so the container command was not started; see the error above.');
    expect(await historyRows(db.url, '_prisma_migrations')).toHaveLength(2);
  });
});

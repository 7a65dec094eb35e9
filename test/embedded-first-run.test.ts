/**
 * The embedded database's first run: created in a scratch folder and renamed into place, so an
 * interrupted first run (Ctrl-C, SIGKILL) leaves either nothing or a working database; a damaged
 * folder gets one sentence naming it and the fix.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_ENV, stackLines, writeSample } from './apply-fixtures.js';
import { createFreshPglite } from '../src/db/pglite-template.js';
import { CLI, runCli, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
beforeEach(() => {
  project = tempDir('orch-first-run-');
  writeSample(project.dir);
});
afterEach(() => project.cleanup());

const stateDir = () => path.join(project.dir, '.orchestrate');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `migrate` on the embedded database and sends `signal` while PGlite creates its folder. */
async function interruptFirstRun(signal: NodeJS.Signals): Promise<void> {
  const child = execa(process.execPath, [CLI, 'migrate', '--all'], {
    cwd: project.dir,
    reject: false,
    stdin: 'ignore',
    env: { ...SAMPLE_ENV, DATABASE_URL: undefined, NO_COLOR: '1' },
  });
  // PGlite writes its files into the scratch folder for a second or more: interrupt in the middle.
  const deadline = Date.now() + 20_000;
  let scratch: string | undefined;
  while (!scratch && Date.now() < deadline) {
    scratch = existsSync(stateDir()) ? readdirSync(stateDir()).find((n) => n.startsWith('pglite.creating-')) : undefined;
    if (!scratch) await sleep(10);
  }
  expect(scratch).toBeDefined();
  while (readdirSync(path.join(stateDir(), scratch!)).length === 0) await sleep(5);
  child.kill(signal);
  const r = await child;
  expect(r.exitCode === null || r.exitCode !== 0).toBe(true);
  // Nothing half-made where the database belongs. SIGKILL stops the creation: no folder. SIGINT
  // stops the run gracefully (nothing is migrated, exit 130) while the creation already under
  // way may finish: then the folder is a complete database.
  const dataDir = path.join(stateDir(), 'pglite');
  if (signal === 'SIGKILL') expect(existsSync(dataDir)).toBe(false);
  else {
    expect(r.exitCode).toBe(130);
    if (existsSync(dataDir)) expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
  }
}

describe('an interrupted first run of the embedded database', () => {
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`${signal} while PGlite creates it leaves no half-made database folder, and the next run works`, async () => {
      await interruptFirstRun(signal);
      const r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
      expect(r.stderr).not.toMatch(/error|Aborted/);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^Applied 5 migrations/);
      // The scratch folder of the interrupted run is gone, the lock file too.
      expect(readdirSync(stateDir()).sort()).toEqual(['.gitignore', 'pglite']);
    }, 60_000);
  }
});

describe('a damaged embedded database folder', () => {
  it('gets one sentence naming the folder and the fix, exit 1', async () => {
    const dataDir = path.join(stateDir(), 'pglite');
    // An interrupted first run of an older version: a folder without PG_VERSION.
    mkdirSync(path.join(dataDir, 'base'), { recursive: true });
    let r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
    expect(r.exitCode).toBe(1);
    const sentence = `The embedded database in ${dataDir} is damaged and cannot be opened (it has no PG_VERSION file); delete that folder (\`rm -rf ${dataDir}\`) to start again with an empty database, or set DATABASE_URL to use a server.`;
    expect(r.stderr.split('\n').at(-1)).toBe(`error: ${sentence}`);

    // A folder PGlite starts on and then aborts on.
    rmSync(dataDir, { recursive: true });
    mkdirSync(dataDir);
    writeFileSync(path.join(dataDir, 'PG_VERSION'), '17\n');
    r = await runCli(project.dir, ['migrate', '--all'], SAMPLE_ENV);
    expect(r.exitCode).toBe(1);
    const last = r.stderr.split('\n').at(-1)!;
    expect(last).toMatch(new RegExp(`^error: The embedded database in ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged and cannot be opened \\(.+\\); delete that folder`));
    expect(last).not.toMatch(/ASSERTIONS/);
    expect(stackLines(r.stderr)).toEqual([]);
  }, 60_000);
});

describe('the cached fresh data directory', () => {
  it('is written to the user cache folder by the first creation, and a damaged copy is replaced', async () => {
    const cache = tempDir('orch-cache-');
    const folder = path.join(cache.dir, 'orchestrate');
    /** The one copy there: named after its checksum, readable by its user alone. */
    const theCopy = (): string => {
      const names = readdirSync(folder);
      expect(names).toHaveLength(1);
      const [, hash] = /^pglite-\d+\.\d+\.\d+-([0-9a-f]{32})\.tar$/.exec(names[0]!) ?? [];
      const file = path.join(folder, names[0]!);
      expect(createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 32)).toBe(hash);
      expect(statSync(file).mode & 0o077).toBe(0);
      return file;
    };
    try {
      const env = { ...SAMPLE_ENV, XDG_CACHE_HOME: cache.dir };
      const r = await runCli(project.dir, ['migrate', '--all'], env);
      expect(r.exitCode, r.stderr).toBe(0);
      const file = theCopy();

      // A copy cut short is deleted and made again by the next new database (here an
      // in-memory one, as a shadow is: the same path as the embedded database's).
      writeFileSync(file, readFileSync(file).subarray(0, 4096));
      // Copies that killed processes were writing are removed; one a live process writes is not.
      const prefix = path.basename(file).replace(/[0-9a-f]{32}\.tar$/, '');
      const exited = execa(process.execPath, ['-e', '']);
      const gone = exited.pid!;
      await exited;
      writeFileSync(path.join(folder, `${prefix}${gone}.partial`), 'cut short');
      const live = `${prefix}${process.ppid}.partial`;
      writeFileSync(path.join(folder, live), 'being written');
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await createFreshPglite(PGlite, { cacheDir: folder });
      try {
        expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await db.close();
      }
      expect(readdirSync(folder).filter((n) => n.endsWith('.partial'))).toEqual([live]);
      rmSync(path.join(folder, live));
      expect(statSync(theCopy()).size).toBeGreaterThan(1_000_000);
    } finally {
      cache.cleanup();
    }
  }, 60_000);
});

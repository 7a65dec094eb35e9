/**
 * `revision --all` stopped by a real SIGINT while it writes: every migration folder is complete
 * or absent (each is written under a temporary name and renamed), nothing temporary is left,
 * and the project works afterwards.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { createOrchestrator } from '../src/index.js';
// @ts-expect-error plain JavaScript shared with the benchmarks
import { writeSyntheticProject } from '../bench/synthetic.mjs';
import { CLI, createDatabase, tempDir } from './helpers.js';
import { reviseInProcess } from './in-process.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function migrationsDirs(dir: string, exts: string[]): string[] {
  return [path.join(dir, 'prisma/migrations'), ...exts.map((e) => path.join(dir, 'extensions', e, 'migrations'))];
}

/** Folders of every owner: each must hold all three files; nothing else may be there. */
function inspect(dir: string, exts: string[]): { complete: number; incomplete: string[]; stray: string[] } {
  let complete = 0;
  const incomplete: string[] = [];
  const stray: string[] = [];
  for (const migrations of migrationsDirs(dir, exts)) {
    if (!existsSync(migrations)) continue;
    for (const name of readdirSync(migrations)) {
      if (name === 'migration_lock.toml') continue;
      if (!/^\d{14}_init$/.test(name)) {
        stray.push(path.join(migrations, name));
        continue;
      }
      const files = readdirSync(path.join(migrations, name)).sort();
      if (JSON.stringify(files) === JSON.stringify(['down.sql', 'migration.sql', 'snapshot.prisma'])) complete++;
      else incomplete.push(`${path.join(migrations, name)}: ${files.join(', ')}`);
    }
  }
  return { complete, incomplete, stray };
}

describe('revision interrupted while writing', () => {
  it('leaves each of 20 extensions\' migrations complete or absent, at several delays into the write phase', { timeout: 60_000 }, async () => {
    const outcomes: string[] = [];
    for (const delay of [0, 2, 6]) {
      const t = tempDir('orch-sigint-');
      cleanups.push(t.cleanup);
      const exts: string[] = writeSyntheticProject(t.dir, 20);
      const env = { APP_EXTENSIONS: exts.join(','), DATABASE_URL: undefined, NO_COLOR: '1' };
      const child = execa(process.execPath, [CLI, 'revision', '--all', '-m', 'init'], { cwd: t.dir, reject: false, env, stdin: 'ignore' });
      // The write phase starts when core's migration folder appears (it is written first).
      const coreDir = path.join(t.dir, 'prisma/migrations');
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (existsSync(coreDir) && readdirSync(coreDir).some((n) => /^\d{14}_init$/.test(n))) {
            clearInterval(timer);
            resolve();
          }
        }, 1);
        child.once('exit', () => {
          clearInterval(timer);
          reject(new Error('revision ended before it wrote anything'));
        });
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGINT');
      const result = await child;
      const state = inspect(t.dir, exts);
      expect(state.incomplete, `delay ${delay} ms`).toEqual([]);
      expect(state.stray, `delay ${delay} ms`).toEqual([]);
      if (result.exitCode === 130) expect(result.stderr).toMatch(/interrupted: Interrupted (while writing \w+'s migration, which was not written|before diffing|while diffing)/);
      else expect(result.exitCode, result.stderr).toBe(0);
      outcomes.push(`${delay} ms: exit ${result.exitCode}, ${state.complete}/21 written`);

      if (delay === 0) {
        // The next run writes the rest; then the project checks clean and migrates. (What the
        // interrupted process left is examined as data, in this process.)
        await reviseInProcess(t.dir, exts, { name: 'init' });
        expect(inspect(t.dir, exts).complete).toBe(21);
        const db = await createDatabase('orch_sigint');
        cleanups.push(db.drop);
        const o = createOrchestrator({ root: t.dir, extensions: exts, database: db.url, env: {} });
        cleanups.push(() => o.close());
        const check = await o.check();
        expect(check.problems).toEqual([]);
        expect(check.ok).toBe(true);
        const migrate = await o.apply(await o.planUpgrade());
        expect(migrate.ok, migrate.error?.problem.message).toBe(true);
        expect(migrate.results.filter((r) => r.status === 'Success')).toHaveLength(21);
      }
    }
    // At least one run was cut inside the write phase (some owners written, not all).
    expect(outcomes.some((o) => /exit 130, ([1-9]|1\d|20)\/21 written/.test(o)), outcomes.join('; ')).toBe(true);
  });
});

describe('temporary folders', () => {
  it('are ignored by readers and removed by the next revision when their process is gone', async () => {
    const t = tempDir('orch-stray-');
    cleanups.push(t.cleanup);
    writeSyntheticProject(t.dir, 1);
    await reviseInProcess(t.dir, ['ext01'], { owners: ['core'], name: 'init' });
    // What a killed revision leaves: a folder under a temporary name holding migration.sql only.
    // (No process has pid 2^22 + 1: Linux pids stay below 2^22.)
    const stray = path.join(t.dir, 'extensions/ext01/migrations', `.orchestrate-tmp-${2 ** 22 + 1}-20260101000000_init`);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(stray, { recursive: true });
    writeFileSync(path.join(stray, 'migration.sql'), 'CREATE TABLE "half" ();\n');
    const o = createOrchestrator({ root: t.dir, extensions: ['ext01'], env: {} });
    cleanups.push(() => o.close());
    const plan = await o.planRevision({ name: 'init' });
    expect(plan.owners.map((p) => `${p.owner}: ${p.status}`)).toEqual(['core: unchanged', 'ext01: pending']);
    expect(plan.owners[1]!.up).toContain('CREATE TABLE');
    await o.writeRevision(plan);
    expect(existsSync(stray)).toBe(false);
    expect(inspect(t.dir, ['ext01'])).toEqual({ complete: 2, incomplete: [], stray: [] });
  });
});

/**
 * The apply path runs in container entrypoints on every start: it must never load Prisma's
 * heavy packages (@prisma/internals, the schema engine, @prisma/adapter-pg) nor PGlite when a
 * server URL is given. Checked on the real process, for ESM imports and CommonJS requires alike.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ENV, writeMigration, writeSample } from './apply-fixtures.js';
import { CLI, createDatabase, tempDir } from './helpers.js';

let project: { dir: string; cleanup: () => void };
let hooks: { dir: string; cleanup: () => void };
let db: Awaited<ReturnType<typeof createDatabase>>;

beforeAll(async () => {
  project = tempDir('orch-imports-');
  writeSample(project.dir);
  hooks = tempDir('orch-hooks-');
  // Every URL the ESM loader resolves, and every CommonJS module in require.cache at exit.
  writeFileSync(
    path.join(hooks.dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.ORCH_IMPORT_LOG, result.url + '\\n');
  return result;
}
`,
  );
  writeFileSync(
    path.join(hooks.dir, 'register.mjs'),
    `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register('./hooks.mjs', import.meta.url);
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(process.env.ORCH_IMPORT_LOG, Object.keys(require.cache).join('\\n') + '\\n'));
`,
  );
  db = await createDatabase();
});

afterAll(async () => {
  await db.drop();
  project.cleanup();
  hooks.cleanup();
});

async function loaded(args: string[], env: Record<string, string>): Promise<string[]> {
  const log = path.join(hooks.dir, `log-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(log, '');
  const r = await execa(process.execPath, ['--import', path.join(hooks.dir, 'register.mjs'), CLI, ...args], {
    cwd: project.dir,
    reject: false,
    env: { ...SAMPLE_ENV, NO_COLOR: '1', ORCH_IMPORT_LOG: log, ...env },
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

// dist/schema/unmigrated.js compares schemas with their snapshots; it imports the schema parser
// only when a schema differs from its snapshot, so the parser itself is what must not load.
// dist/schema/files.js reads a schema file or folder as text (node:fs only).
const forbidden = (modules: string[]) =>
  modules.filter(
    (m) =>
      /@prisma[+/]|@mrleebo[+/]|chevrotain|schema-engine|prisma-schema-wasm|\/dist\/engine\/|\/dist\/bridge\/|\/dist\/schema\/|\/dist\/plan\/|@electric-sql/.test(m) &&
      !m.endsWith('/dist/schema/unmigrated.js') &&
      !m.endsWith('/dist/schema/files.js'),
  );

describe('what the apply path loads', () => {
  it('migrate (applying, then a no-op), status and downgrade load neither Prisma packages nor PGlite', async () => {
    const env = { DATABASE_URL: db.url };
    const applying = await loaded(['migrate', '--all'], env);
    expect(applying.some((m) => m.includes('/pg-connection-string/'))).toBe(true); // the check sees CommonJS modules
    // The server session is node-postgres.
    expect(applying.some((m) => m.endsWith('/pg/lib/client.js'))).toBe(true);
    expect(applying.some((m) => m.endsWith('/dist/commands/migrate.js'))).toBe(true); // ...and ESM ones
    expect(forbidden(applying)).toEqual([]);

    const noop = await loaded(['migrate', '--all'], env);
    expect(forbidden(noop)).toEqual([]);
    expect(noop.some((m) => m.endsWith('/dist/db/runner.js'))).toBe(false); // nothing to run: the runner stays unloaded

    writeMigration(project.dir, 'core', '20240301000000_more', { sql: 'CREATE TABLE "More" ("id" INTEGER);\n', down: 'DROP TABLE "More";\n' });
    expect(forbidden(await loaded(['status'], env))).toEqual([]);
    expect(forbidden(await loaded(['migrate', '--sql'], env))).toEqual([]);
    expect(forbidden(await loaded(['downgrade', '--core', '--target', 'base', '--cascade'], env))).toEqual([]);
  });
});

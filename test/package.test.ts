/**
 * The public API as a user gets it: the package is packed, installed into a project outside
 * this repository, and used by plain Node programs there (the boot example of docs/api.md
 * among them) against a real PostgreSQL database.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, query, REPO, tempDir, writeProject } from './helpers.js';

const CORE = 'model User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n}\n';
const BILLING =
  'model Invoice {\n  id     Int  @id @default(autoincrement())\n  userId Int\n  user   User @relation(fields: [userId], references: [id])\n\n  @@map("billing_invoices")\n}\n\nextend model User {\n  invoices Invoice[]\n}\n';

/** The code block of docs/api.md introduced by ```js <name>. */
function docsExample(name: string): string {
  const docs = readFileSync(path.join(REPO, 'docs/api.md'), 'utf8');
  const match = new RegExp('```js ' + name.replace('.', '\\.') + '\\n([\\s\\S]*?)```').exec(docs);
  if (!match) throw new Error(`docs/api.md has no \`\`\`js ${name} block`);
  return match[1]!;
}

let app: { dir: string; cleanup: () => void };
let db: Awaited<ReturnType<typeof createDatabase>>;

// Three hooks, one step each: packing and installing are two processes of their own.
beforeAll(() => {
  app = tempDir('orch-package-');
  // The build is fresh (global setup); pack it as npm would publish it.
  execFileSync('pnpm', ['pack', '--pack-destination', app.dir], { cwd: REPO, stdio: 'pipe' });
});
beforeAll(() => {
  const tarball = readdirSync(app.dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(path.join(app.dir, 'package.json'), JSON.stringify({ name: 'boot-app', private: true, type: 'module' }));
  // Every dependency's files are in the local store already (the repository's own install); a
  // fresh machine's cache may lack their registry metadata, which --prefer-offline then fetches.
  execFileSync('pnpm', ['add', '--prefer-offline', `./${tarball}`], { cwd: app.dir, stdio: 'pipe' });
});
beforeAll(async () => {
  writeProject(app.dir, { core: CORE, extensions: { billing: { schema: BILLING } } });
  db = await createDatabase('orch_package');
});

afterAll(async () => {
  await db?.drop();
  app?.cleanup();
});

const node = (file: string, env: Record<string, string> = {}) =>
  execa(process.execPath, [file], { cwd: app.dir, reject: false, env: { DATABASE_URL: db.url, APP_EXTENSIONS: 'billing', ...env } });

describe('the installed package', () => {
  it('declares its entry and types, and resolves by name outside the repository', () => {
    const manifest = JSON.parse(readFileSync(path.join(app.dir, 'node_modules/orchestrate/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', import: './dist/index.js' },
      './bridge-support': { types: './dist/bridge-support.d.ts', import: './dist/bridge-support.js' },
      './package.json': './package.json',
    });
    expect(manifest.types).toBe('dist/index.d.ts');
    expect(readFileSync(path.join(app.dir, 'node_modules/orchestrate/dist/index.d.ts'), 'utf8')).toContain('createOrchestrator');
    expect(Object.keys(manifest.bin as object).sort()).toEqual(['orchestrate', 'orchestrate-docker-entrypoint', 'orchestrate-schema-engine']);
  });

  it('runs the schema-engine bridge as installed, from the bin named in docs/prisma-cli-bridge.md', async () => {
    // The bridge is a workspace package of its own, shipped inside this one; it must find
    // orchestrate and its dependencies from where an install puts them.
    const bridge = await execa(path.join(app.dir, 'node_modules/.bin/orchestrate-schema-engine'), ['--version'], { cwd: app.dir, reject: false });
    expect(bridge.stderr).toBe('');
    expect(bridge.stdout).toMatch(/^schema-engine-cli [0-9a-f]{40}$/);
    expect(bridge.exitCode).toBe(0);
    // --version never opens a connection; `cli can-connect-to-database` goes through the whole
    // bridge (host, adapter, orchestrate's PostgreSQL settings).
    const connect = await execa(
      path.join(app.dir, 'node_modules/.bin/orchestrate-schema-engine'),
      ['--datasource', JSON.stringify({ url: db.url }), 'cli', 'can-connect-to-database'],
      { cwd: app.dir, reject: false },
    );
    expect(connect.exitCode, connect.stderr).toBe(0);
    expect(connect.stderr).toContain('Connection successful');
  });

  it('plans and writes a revision, migrates at boot (the docs example), and reads status', async () => {
    writeFileSync(
      path.join(app.dir, 'revise.mjs'),
      `import { createOrchestrator } from 'orchestrate';
const o = createOrchestrator({ root: process.cwd(), database: process.env.DATABASE_URL, extensions: ['billing'] });
try {
  const plan = await o.planRevision({ name: 'init' });
  const written = await o.writeRevision(plan);
  console.log(JSON.stringify({ plan: plan.owners.map((p) => [p.owner, p.status, p.up.includes('CREATE TABLE')]), written: written.owners.map((w) => [w.owner, w.status]) }));
} finally {
  await o.close();
}
`,
    );
    const revised = await node('revise.mjs');
    expect(revised.stderr).toBe('');
    expect(JSON.parse(revised.stdout)).toEqual({
      plan: [
        ['core', 'pending', true],
        ['billing', 'pending', true],
      ],
      written: [
        ['core', 'created'],
        ['billing', 'created'],
      ],
    });
    const [coreInit] = readdirSync(path.join(app.dir, 'prisma/migrations')).filter((d) => /^\d{14}_init$/.test(d));
    const [billingInit] = readdirSync(path.join(app.dir, 'extensions/billing/migrations')).filter((d) => /^\d{14}_init$/.test(d));

    writeFileSync(path.join(app.dir, 'boot.mjs'), docsExample('boot.mjs'));
    const boot = await node('boot.mjs');
    expect(boot.exitCode, boot.stderr).toBe(0);
    expect(boot.stdout.split('\n').map((l) => l.replace(/ in (\d+ ms|\d+\.\d s)$/, ' in N ms'))).toEqual([
      `applied core/${coreInit} in N ms`,
      `applied billing/${billingInit} in N ms`,
      'database up to date',
    ]);
    expect(await query(db.url, 'SELECT migration_name FROM "_prisma_migrations_billing"')).toEqual([{ migration_name: billingInit }]);

    // The next boot has nothing to do.
    const again = await node('boot.mjs');
    expect(again.stdout).toBe('database up to date');

    // A migration that fails is a result the app can read, not a crash.
    mkdirSync(path.join(app.dir, 'prisma/migrations/29990101000000_broken'));
    writeFileSync(path.join(app.dir, 'prisma/migrations/29990101000000_broken/migration.sql'), 'ALTER TABLE "User" ADD COLUMN nickname text;\nSELECT * FROM no_such_table;\n');
    const failing = await node('boot.mjs');
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toBe('');
    expect(failing.stderr).toMatch(/^core\/29990101000000_broken failed and was rolled back, so nothing of it remains: line 2 of .*migration\.sql, `SELECT \* FROM no_such_table;`: relation "no_such_table" does not exist \[SQLSTATE 42P01\]; migrations applied before it stay applied/);
    expect(await query(db.url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'User' AND column_name = 'nickname'`)).toEqual([]);
  });
});

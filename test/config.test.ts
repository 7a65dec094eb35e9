import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, createDatabase, query, runCli } from './helpers.js';
import { makeProject, oneErrorLine, useCleanups } from './fixtures.js';
import { reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

/** A prisma.config.ts as Prisma 7 projects write it; `prisma/config` resolves through a node_modules link. */
function withPrismaConfig(dir: string, body: string): void {
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(path.join(dir, 'prisma.config.ts'), `import { defineConfig, env } from 'prisma/config';\n\n${body}\n`);
}

async function withCoreMigration(dir: string): Promise<void> {
  await reviseInProcess(dir, [], { owners: ['core'], name: 'init' });
}

const tablesOf = async (url: string) =>
  (await query(url, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).map((r) => r.table_name);

describe('database URL: --url, then DATABASE_URL, then prisma.config.ts', () => {
  it('migrates the database named by the datasource URL of prisma.config.ts', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = makeProject(onCleanup);
    await withCoreMigration(dir);
    withPrismaConfig(dir, `export default defineConfig({\n  schema: 'prisma/schema.prisma',\n  datasource: { url: env('APP_DB_URL') },\n});`);
    const r = await runCli(dir, ['migrate'], { APP_DB_URL: db.url });
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/^Applied 1 migration \(core: 1\) in \S+ m?s\.$/);
    expect(await tablesOf(db.url)).toEqual(['Organization', 'User', '_prisma_migrations']);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);

    const debug = JSON.parse((await runCli(dir, ['debug', '--json'], { APP_DB_URL: db.url })).stdout as string);
    expect(debug.database).toMatchObject({ kind: 'url', source: 'prisma.config.ts', location: db.url, reachable: true });
    expect(debug.paths.prismaConfig).toBe(path.join(dir, 'prisma.config.ts'));
  });

  it('does not even load prisma.config.ts when DATABASE_URL or --url is given and orchestrate.config.json names the paths, and --url wins over DATABASE_URL', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    // Without both paths here, prisma.config.ts is read for its `schema` and `migrations.path`.
    const dir = makeProject(onCleanup, { files: { 'orchestrate.config.json': JSON.stringify({ coreSchema: 'prisma/schema.prisma', coreMigrations: 'prisma/migrations' }) } });
    await withCoreMigration(dir);
    withPrismaConfig(dir, `throw new Error('prisma.config.ts was loaded');\nexport default defineConfig({});`);

    const viaEnv = await runCli(dir, ['status', '--json'], { DATABASE_URL: db.url });
    expect(viaEnv.exitCode, viaEnv.stderr as string).toBe(0);
    expect(JSON.parse(viaEnv.stdout as string).database).toBe(db.url);

    const viaFlag = await runCli(dir, ['migrate', '--url', db.url], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/nothing' });
    expect(viaFlag.exitCode, viaFlag.stderr as string).toBe(0);
    expect(await tablesOf(db.url)).toEqual(['Organization', 'User', '_prisma_migrations']);

    const loaded = await runCli(dir, ['status']);
    expect(loaded.exitCode).toBe(2);
    expect(oneErrorLine(loaded.stderr as string)).toBe(
      'Cannot load the database URL from prisma.config.ts: prisma.config.ts was loaded; fix the file, or pass --url / set DATABASE_URL, which take precedence over it.',
    );
  });

  it('names the unset variable a prisma.config.ts needs, in one sentence', async () => {
    const dir = makeProject(onCleanup);
    withPrismaConfig(dir, `export default defineConfig({ datasource: { url: env('APP_DB_URL') } });`);
    const r = await runCli(dir, ['migrate']);
    expect(r.exitCode).toBe(2);
    expect(oneErrorLine(r.stderr as string)).toBe(
      'Cannot load prisma.config.ts, which may name the schema and migrations folder: Cannot resolve environment variable: APP_DB_URL; fix the file, or set "coreSchema" and "coreMigrations" in orchestrate.config.json (and pass --url or set DATABASE_URL) to do without it.',
    );
  });
});

describe('bad input: exit 2 with one sentence', () => {
  it('unknown key in orchestrate.config.json, listing the valid keys', async () => {
    const dir = makeProject(onCleanup, { files: { 'orchestrate.config.json': '{"extensionDir": "plugins"}' } });
    const expected = `${path.join(dir, 'orchestrate.config.json')}: unknown key "extensionDir"; valid keys are coreSchema, coreMigrations, extensionsDir, historyTablePrefix, lockKey, baseline, lint.`;
    for (const args of [['migrate'], ['revision'], ['check'], ['status']]) {
      const r = await runCli(dir, args);
      expect(r.exitCode, args[0]).toBe(2);
      expect(oneErrorLine(r.stderr as string)).toBe(expected);
      expect(r.stdout).toBe('');
    }
  });

  it('an extension.json that is not valid JSON', async () => {
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: '// empty\n', manifest: '{"dependsOn": ["crm",]}' } } });
    for (const args of [['migrate'], ['check'], ['create', 'loyalty']]) {
      const r = await runCli(dir, args, { APP_EXTENSIONS: 'billing' });
      expect(r.exitCode, args[0]).toBe(2);
      expect(oneErrorLine(r.stderr as string)).toMatch(
        new RegExp(`^${path.join(dir, 'extensions/billing/extension.json').replace(/[.]/g, '\\.')} is not valid JSON \\(.+\\); fix it, e\\.g\\. \\{"dependsOn": \\[\\], "description": "\\.\\.\\."\\}\\.$`),
      );
    }
    expect(existsSync(path.join(dir, 'extensions/loyalty'))).toBe(false);
  });

  it('an enabled extension without a fragment', async () => {
    const dir = makeProject(onCleanup, { extensions: { billing: { manifest: { description: 'no schema yet' } } } });
    const r = await runCli(dir, ['revision', '--all'], { APP_EXTENSIONS: 'billing' });
    expect(r.exitCode).toBe(2);
    expect(oneErrorLine(r.stderr as string)).toBe(
      'Extension "billing" has no fragment: extensions/billing/schema.prisma does not exist; create it (models, enums, `extend model` blocks) or remove the extension folder.',
    );
  });
});

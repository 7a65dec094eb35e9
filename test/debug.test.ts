import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOrchestrator } from '../src/index.js';
import { PG_ADMIN_URL, REPO, runCli } from './helpers.js';
import { reviseInProcess } from './in-process.js';
import { BILLING, makeProject, useCleanups } from './fixtures.js';

const onCleanup = useCleanups();

const ANALYTICS = 'model Report {\n  id Int @id\n\n  @@map("analytics_reports")\n}\n';

const versionOf = (pkg: string) => (JSON.parse(readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** The admin URL with a password added, to see it redacted. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

describe('debug', () => {
  it('prints environment, configuration, paths, extensions in dependency order, a reachable server and versions', async () => {
    const dir = makeProject(onCleanup, {
      extensions: { billing: { schema: BILLING }, analytics: { schema: ANALYTICS, manifest: { dependsOn: ['billing'], description: 'Reports.' } } },
      files: { 'orchestrate.config.json': '{"lockKey": 42}' },
    });
    // The test server accepts any password; the point is that none is printed.
    const url = withPassword(PG_ADMIN_URL, 's3cret');
    const r = await runCli(dir, ['debug', '--json'], { APP_EXTENSIONS: ' analytics, billing ', DATABASE_URL: url });
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    const data = JSON.parse(r.stdout as string);
    expect(data.environment).toEqual({
      APP_EXTENSIONS: ' analytics, billing ',
      DATABASE_URL: withPassword(PG_ADMIN_URL, '****'),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cwd: dir,
    });
    expect(data.config).toEqual({
      file: path.join(dir, 'orchestrate.config.json'),
      settings: {
        coreSchema: path.join(dir, 'prisma/schema.prisma'),
        coreMigrations: path.join(dir, 'prisma/migrations'),
        extensionsDir: path.join(dir, 'extensions'),
        historyTablePrefix: '_prisma_migrations',
        lockKey: 42,
        baseline: {},
        lintIgnoreTables: [],
        prismaConfig: null,
      },
      error: null,
    });
    expect(data.paths).toEqual({
      root: dir,
      coreSchema: path.join(dir, 'prisma/schema.prisma'),
      coreMigrations: path.join(dir, 'prisma/migrations'),
      extensionsDir: path.join(dir, 'extensions'),
      embeddedDatabase: path.join(dir, '.orchestrate/pglite'),
      prismaConfig: null,
    });
    expect(data.extensions).toEqual({
      source: 'APP_EXTENSIONS',
      discovered: [
        { name: 'analytics', dependsOn: ['billing'], description: 'Reports.', enabled: true, migrations: 0 },
        { name: 'billing', dependsOn: [], description: null, enabled: true, migrations: 0 },
      ],
      enabled: ['billing', 'analytics'],
      order: ['core', 'billing', 'analytics'],
      error: null,
    });
    expect(data.database).toMatchObject({ kind: 'url', source: 'DATABASE_URL', location: withPassword(PG_ADMIN_URL, '****'), reachable: true, error: null });
    expect(data.database.serverVersion).toMatch(/^PostgreSQL \d+\.\d+/);
    expect(data.versions).toMatchObject({
      orchestrate: (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
      prisma: versionOf('prisma'),
      '@prisma/client': versionOf('@prisma/client'),
      '@prisma/internals': versionOf('@prisma/internals'),
      '@prisma/schema-engine-wasm': expect.stringMatching(/^7\.10\.0-/),
    });
    expect(data.versions.schemaEngineCommit).toBe(data.versions['@prisma/schema-engine-wasm'].split('.').at(-1));

    const text = await runCli(dir, ['debug'], { APP_EXTENSIONS: 'analytics,billing', DATABASE_URL: url });
    expect(text.exitCode).toBe(0);
    const lines = (text.stdout as string).split('\n');
    expect(lines).toEqual(expect.arrayContaining(['Environment', 'Configuration', 'Paths', 'Extensions', 'Database', 'Versions']));
    expect(lines).toContain('  APP_EXTENSIONS  "analytics,billing"');
    expect(lines).toContain('  order       core -> billing -> analytics');
    expect(lines).toContain(`  target     ${withPassword(PG_ADMIN_URL, '****')} (from DATABASE_URL)`);
    expect(lines.find((l) => l.startsWith('  reachable'))).toMatch(/^ {2}reachable {2}yes, PostgreSQL \d+/);
    expect(text.stdout).not.toContain('s3cret');
  });

  it('reports an unreachable server, a bad config file and a missing extension instead of failing', async () => {
    const dir = makeProject(onCleanup);
    const started = Date.now();
    const r = await runCli(dir, ['debug', '--json', '--url', 'postgresql://app:pw@127.0.0.1:1/app', '--extensions', 'nope']);
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const data = JSON.parse(r.stdout as string);
    expect(data.database).toMatchObject({ kind: 'url', source: '--url', location: 'postgresql://app:****@127.0.0.1:1/app', reachable: false, serverVersion: null });
    expect(data.database.error).toMatch(/ECONNREFUSED/);
    expect(data.extensions.source).toBe('--extensions');
    expect(data.extensions.error).toMatch(/^--extensions names "nope", but there is no such folder/);

    writeFileSync(path.join(dir, 'orchestrate.config.json'), '{"extensionDir": "x"}');
    const bad = await runCli(dir, ['debug', '--json']);
    expect(bad.exitCode).toBe(0);
    const badData = JSON.parse(bad.stdout as string);
    expect(badData.config.error).toBe(
      `${path.join(dir, 'orchestrate.config.json')}: unknown key "extensionDir"; valid keys are coreSchema, coreMigrations, extensionsDir, historyTablePrefix, lockKey, baseline, lint.`,
    );
    expect(badData.database).toMatchObject({ kind: 'embedded', location: '.orchestrate/pglite', reachable: false, error: 'not created yet; the first `orchestrate migrate` creates it' });
  });

  it('shows the embedded database version once it exists', async () => {
    const dir = makeProject(onCleanup);
    // The embedded database made in-process, as an app migrating at boot would.
    await reviseInProcess(dir, []);
    const app = createOrchestrator({ root: dir, extensions: [], env: {} });
    try {
      expect((await app.apply(await app.planUpgrade())).ok).toBe(true);
    } finally {
      await app.close();
    }
    const r = await runCli(dir, ['debug', '--json']);
    const data = JSON.parse(r.stdout as string);
    expect(data.database).toMatchObject({ kind: 'embedded', source: 'embedded', location: '.orchestrate/pglite', exists: true, reachable: true, error: null });
    expect(data.database.serverVersion).toMatch(/^PostgreSQL \d+\.\d+ \(PGlite\)$/);
  });
});

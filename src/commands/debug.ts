import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSettings, type Settings } from '../config/settings.js';
import { findPrismaConfigFile } from '../config/prisma-config.js';
import { messageOf } from '../errors.js';
import { readMigrations } from '../migrations/folder.js';
import { discoverExtensions, loadProject, type Project } from '../project/project.js';
import { projectProvider, type Provider } from '../project/provider.js';
import { SQLITE_DEFAULT_FILE } from '../db/sqlite.js';
import { redactUrl } from '../db/url.js';
import { databaseSource, type CommandResult, type Context } from './context.js';

export interface DebugExtension {
  name: string;
  dependsOn: string[];
  description: string | null;
  enabled: boolean;
  /** Migration folders on disk, or null when they cannot be read. */
  migrations: number | null;
}

export interface DebugDatabase {
  /** `url` (a server), `embedded` (PGlite in the project) or `sqlite` (a database file); null when it could not be decided. */
  kind: 'url' | 'embedded' | 'sqlite' | null;
  /** Where the URL came from: `--url`, `DATABASE_URL`, the Prisma config file, or `embedded`. */
  source: string | null;
  /** The URL without its password, or the embedded database's folder. */
  location: string | null;
  /** The embedded database's folder exists (always true for a server). */
  exists: boolean;
  reachable: boolean;
  serverVersion: string | null;
  /** Why it is unreachable or could not be checked. */
  error: string | null;
}

export interface DebugData {
  environment: {
    APP_EXTENSIONS: string | null;
    DATABASE_URL: string | null;
    node: string;
    platform: string;
    cwd: string;
  };
  config: {
    file: string | null;
    settings: Omit<Settings, 'root' | 'configFile'> | null;
    error: string | null;
  };
  paths: {
    root: string;
    coreSchema: string | null;
    coreMigrations: string | null;
    extensionsDir: string | null;
    embeddedDatabase: string;
    prismaConfig: string | null;
  };
  extensions: {
    /** `--extensions` or `APP_EXTENSIONS`. */
    source: string;
    discovered: DebugExtension[];
    enabled: string[];
    /** Owners in the order every command processes them (core first). */
    order: string[];
    error: string | null;
  };
  database: DebugDatabase;
  versions: Record<string, string | null>;
}

const PROBE_TIMEOUT_MS = 3000;
const toolRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Version of an installed package: from the project first (what the app uses), else from this tool's own dependencies. */
function packageVersion(name: string, roots: string[]): string | null {
  for (const root of roots) {
    const req = createRequire(path.join(root, 'package.json'));
    let file: string | null;
    try {
      file = req.resolve(`${name}/package.json`);
    } catch {
      // Packages with an "exports" map that hides package.json: walk up from the entry point.
      try {
        let dir = path.dirname(req.resolve(name));
        while (dir !== path.dirname(dir) && !existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
        file = path.join(dir, 'package.json');
      } catch {
        file = null;
      }
    }
    if (!file) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // Unreadable package.json: try the next root.
    }
  }
  return null;
}

async function versions(root: string): Promise<Record<string, string | null>> {
  const own = JSON.parse(readFileSync(path.join(toolRoot, 'package.json'), 'utf8')) as { version: string };
  const both = [root, toolRoot];
  const mine = [toolRoot];
  const { schemaEngineVersion, loadSchemaEngineRuntime } = await import('../engine/wasm.js');
  const engine = await schemaEngineVersion().catch(() => null);
  const commit = await loadSchemaEngineRuntime().then((r) => r.version(), () => null);
  return {
    orchestrate: own.version,
    node: process.versions.node,
    prisma: packageVersion('prisma', both),
    '@prisma/client': packageVersion('@prisma/client', both),
    '@prisma/internals': packageVersion('@prisma/internals', mine),
    '@prisma/schema-engine-wasm': engine,
    schemaEngineCommit: commit,
    '@prisma/config': packageVersion('@prisma/config', mine),
    '@electric-sql/pglite': packageVersion('@electric-sql/pglite', mine),
    pg: packageVersion('pg', mine),
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s (${what})`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Connects once with a short timeout; an unreachable database is reported, not thrown. */
async function probeDatabase(ctx: Context, lockKey: number, project: Project | null): Promise<DebugDatabase> {
  const result: DebugDatabase = { kind: null, source: null, location: null, exists: false, reachable: false, serverVersion: null, error: null };
  const { databaseTarget, openDatabase } = await import('../db/connect.js');
  let target;
  let provider: Provider = 'postgresql';
  try {
    if (project) provider = projectProvider(project);
    target = await databaseTarget(databaseSource(ctx), provider);
  } catch (error) {
    result.error = messageOf(error);
    return result;
  }
  if (target.kind === 'url') {
    Object.assign(result, { kind: 'url', source: target.source, location: redactUrl(target.url), exists: true });
    const { connectPostgres } = await import('../db/postgres.js');
    try {
      const db = await connectPostgres(target.url, { lockKey, env: ctx.env, maxConnectMs: PROBE_TIMEOUT_MS });
      try {
        result.serverVersion = `PostgreSQL ${await within(db.serverVersion(), PROBE_TIMEOUT_MS, 'SHOW server_version')}`;
        result.reachable = true;
      } finally {
        await db.close();
      }
    } catch (error) {
      result.error = messageOf(error).replace(/\s+/g, ' ').trim();
    }
    return result;
  }
  if (target.kind === 'sqlite') {
    const location = path.relative(ctx.root, target.file) || target.file;
    Object.assign(result, { kind: 'sqlite', source: target.source, location, exists: existsSync(target.file) });
    if (!result.exists) {
      result.error = `not created yet; the first \`orchestrate migrate\` creates it`;
      return result;
    }
    try {
      const db = await openDatabase(databaseSource(ctx), { lockKey, readOnly: true, provider });
      try {
        result.serverVersion = (await db?.serverVersion()) ?? null;
        result.reachable = db !== null;
      } finally {
        await db?.close();
      }
    } catch (error) {
      result.error = messageOf(error);
    }
    return result;
  }
  const location = path.relative(ctx.root, target.dataDir) || target.dataDir;
  Object.assign(result, { kind: 'embedded', source: 'embedded', location, exists: existsSync(path.join(target.dataDir, 'PG_VERSION')) });
  if (!result.exists) {
    result.error = `not created yet; the first \`orchestrate migrate\` creates it`;
    return result;
  }
  // Opening PGlite waits for any other process using the folder; do not wait long for debug output.
  const opening = openDatabase(databaseSource(ctx), { lockKey, readOnly: true });
  try {
    const db = await within(opening, 15_000, 'the embedded database is in use by another process');
    try {
      if (db) {
        result.serverVersion = `PostgreSQL ${await db.serverVersion()}`;
        result.reachable = true;
      }
    } finally {
      await db?.close();
    }
  } catch (error) {
    opening.then((db) => db?.close(), () => {});
    result.error = messageOf(error);
  }
  return result;
}

/**
 * `orchestrate debug`: what the tool sees — environment, configuration, paths, extensions,
 * database and versions. Every section is gathered on its own, so one broken part (a bad
 * config file, an unreachable server) is reported while the rest is still shown.
 */
export async function debug(ctx: Context, _opts: object = {}): Promise<CommandResult<DebugData>> {
  const env = ctx.env;
  const data: DebugData = {
    environment: {
      APP_EXTENSIONS: env.APP_EXTENSIONS ?? null,
      DATABASE_URL: env.DATABASE_URL ? redactUrl(env.DATABASE_URL) : null,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cwd: process.cwd(),
    },
    config: { file: null, settings: null, error: null },
    paths: {
      root: ctx.root,
      coreSchema: null,
      coreMigrations: null,
      extensionsDir: null,
      embeddedDatabase: path.join(ctx.root, '.orchestrate/pglite'),
      prismaConfig: findPrismaConfigFile(ctx.root),
    },
    extensions: { source: ctx.globals.extensions !== undefined ? '--extensions' : 'APP_EXTENSIONS', discovered: [], enabled: [], order: [], error: null },
    database: { kind: null, source: null, location: null, exists: false, reachable: false, serverVersion: null, error: null },
    versions: {},
  };

  let settings: Settings | null = null;
  try {
    settings = loadSettings(ctx.root);
    const { root: _root, configFile, ...rest } = settings;
    data.config = { file: configFile, settings: rest, error: null };
    Object.assign(data.paths, { coreSchema: settings.coreSchema, coreMigrations: settings.coreMigrations, extensionsDir: settings.extensionsDir });
  } catch (error) {
    data.config.error = messageOf(error);
  }

  let project: Project | null = null;
  if (settings) {
    try {
      project = loadProject(settings, { extensions: ctx.globals.extensions, env });
    } catch (error) {
      data.extensions.error = messageOf(error);
    }
    let discovered;
    try {
      discovered = project?.discovered ?? discoverExtensions(settings);
    } catch (error) {
      discovered = new Map();
      data.extensions.error ??= messageOf(error);
    }
    const enabled = new Set(project?.extensions.map((e) => e.name) ?? []);
    data.extensions.discovered = [...discovered.values()].map((e) => {
      let migrations: number | null;
      try {
        migrations = readMigrations(e.migrationsDir).length;
      } catch {
        migrations = null;
      }
      return { name: e.name, dependsOn: e.dependsOn, description: e.description, enabled: enabled.has(e.name), migrations };
    });
    data.extensions.enabled = project?.extensions.map((e) => e.name) ?? [];
    data.extensions.order = project?.owners.map((o) => o.name) ?? [];
    let provider: Provider | null = null;
    try {
      provider = project ? projectProvider(project) : null;
    } catch {
      // An unsupported provider is reported by the database probe below.
    }
    if (provider === 'sqlite') data.paths.embeddedDatabase = path.join(ctx.root, SQLITE_DEFAULT_FILE);
  }

  const [database, versionMap] = await Promise.all([probeDatabase(ctx, settings?.lockKey ?? 0, project), versions(ctx.root)]);
  data.database = database;
  data.versions = versionMap;
  return { data, text: render(data) };
}

function render(d: DebugData): string {
  const rows: string[] = [];
  const section = (title: string, entries: [string, string][]) => {
    rows.push(title);
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) rows.push(`  ${k.padEnd(width)}  ${v}`);
  };
  const or = (v: string | null, fallback: string) => v ?? fallback;
  const rel = (p: string | null) => (p === null ? '-' : path.relative(d.paths.root, p) || '.');

  section('Environment', [
    ['APP_EXTENSIONS', d.environment.APP_EXTENSIONS === null ? '(unset)' : JSON.stringify(d.environment.APP_EXTENSIONS)],
    ['DATABASE_URL', or(d.environment.DATABASE_URL, '(unset)')],
    ['node', `${d.environment.node} (${d.environment.platform})`],
    ['cwd', d.environment.cwd],
  ]);
  const s = d.config.settings;
  section('Configuration', [
    ['config file', d.config.file ?? '(none: defaults)'],
    ...(d.config.error ? [['error', d.config.error] as [string, string]] : []),
    ...(s ? ([['historyTablePrefix', s.historyTablePrefix], ['lockKey', String(s.lockKey)]] as [string, string][]) : []),
  ]);
  section('Paths', [
    ['root', d.paths.root],
    ['coreSchema', rel(d.paths.coreSchema)],
    ['coreMigrations', rel(d.paths.coreMigrations)],
    ['extensionsDir', rel(d.paths.extensionsDir)],
    ['embedded database', rel(d.paths.embeddedDatabase)],
    ['prisma config', d.paths.prismaConfig ? rel(d.paths.prismaConfig) : '(none)'],
  ]);
  const ext = d.extensions;
  const discovered = ext.discovered.map((e) => `${e.name}${e.dependsOn.length ? ` (depends on ${e.dependsOn.join(', ')})` : ''}${e.migrations === null ? '' : ` [${e.migrations} migration${e.migrations === 1 ? '' : 's'}]`}`);
  section('Extensions', [
    ['discovered', discovered.length ? discovered.join(', ') : '(none)'],
    ['enabled', `${ext.enabled.length ? ext.enabled.join(', ') : '(none)'} (from ${ext.source})`],
    ['order', ext.order.length ? ext.order.join(' -> ') : '-'],
    ...(ext.error ? [['error', ext.error] as [string, string]] : []),
  ]);
  const db = d.database;
  section('Database', [
    ['target', db.location ? `${db.location} (${db.kind === 'embedded' ? 'embedded PGlite' : db.kind === 'sqlite' && db.source === 'default' ? 'SQLite, the default file' : db.kind === 'sqlite' ? `SQLite, from ${db.source}` : `from ${db.source}`})` : '-'],
    ['reachable', db.reachable ? `yes, ${db.serverVersion ?? 'unknown version'}` : `no${db.error ? `: ${db.error}` : ''}`],
  ]);
  section(
    'Versions',
    Object.entries(d.versions).map(([k, v]) => [k, v ?? '(not installed)'] as [string, string]),
  );
  return rows.join('\n');
}

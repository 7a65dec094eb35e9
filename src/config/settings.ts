import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputErrors, UsageError } from '../errors.js';
import { preparePrismaConfig, prismaConfigPaths } from './prisma-config.js';

/** What `orchestrate.config.json` may contain. Every key is optional. */
export interface RawConfig {
  coreSchema?: string;
  coreMigrations?: string;
  extensionsDir?: string;
  historyTablePrefix?: string;
  lockKey?: number;
  /** Owner → the last migration of its baseline (migrations that predate orchestrate). */
  baseline?: Record<string, string>;
  lint?: { ignoreTables?: string[] };
}

/** Validated settings for one project; every path is absolute. */
export interface Settings {
  root: string;
  configFile: string | null;
  coreSchema: string;
  coreMigrations: string;
  extensionsDir: string;
  /** Core history table; extension E uses `<prefix>_<E>`. */
  historyTablePrefix: string;
  /** Key of the PostgreSQL advisory lock held for a whole run. */
  lockKey: number;
  /**
   * Owner → the last migration of its baseline, named in orchestrate.config.json. Owners not
   * named here have as baseline their migrations without down.sql and snapshot that come first.
   */
  baseline: Record<string, string>;
  /** Table names or globs (`*`, `?`) the table-prefix lint leaves alone (adopted tables). */
  lintIgnoreTables: string[];
  /** The Prisma config file whose `schema` / `migrations.path` gave a path, if any. */
  prismaConfig: string | null;
}

const KEY_DEFAULTS = { coreSchema: 'prisma/schema.prisma', coreMigrations: 'prisma/migrations', extensionsDir: 'extensions' };

export const CONFIG_FILE = 'orchestrate.config.json';
export const DEFAULT_LOCK_KEY = 72_707_369; // arbitrary, stable: "orch" in a 32-bit range

const KEYS: Record<keyof RawConfig, 'path' | 'identifier' | 'integer' | 'baseline' | 'lint'> = {
  coreSchema: 'path',
  coreMigrations: 'path',
  extensionsDir: 'path',
  historyTablePrefix: 'identifier',
  lockKey: 'integer',
  baseline: 'baseline',
  lint: 'lint',
};

/**
 * Loads what reading the settings needs and cannot load synchronously: the project's Prisma
 * config file, when orchestrate.config.json does not name both core paths itself. Entry points
 * (the CLI, the public API) await this before `loadSettings`.
 */
export async function prepareSettings(root: string): Promise<void> {
  let raw: unknown = null;
  try {
    raw = JSON.parse(readFileSync(path.join(root, CONFIG_FILE), 'utf8'));
  } catch {
    // Absent or invalid: loadSettings reports an invalid file.
  }
  const config = (typeof raw === 'object' && raw !== null ? raw : {}) as RawConfig;
  if (config.coreSchema !== undefined && config.coreMigrations !== undefined) return;
  await preparePrismaConfig(root);
}

/**
 * Reads and validates `orchestrate.config.json` under `root` (absent means defaults).
 * Collects every problem before throwing, so a user fixes the file in one go.
 *
 * @example
 *   const settings = loadSettings('/srv/app'); // settings.coreSchema === '/srv/app/prisma/schema.prisma'
 */
export function loadSettings(root: string): Settings {
  const configFile = path.join(root, CONFIG_FILE);
  let raw: unknown = {};
  let text: string | null = null;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`Cannot read ${configFile}: ${(error as Error).message}.`);
    }
  }
  if (text !== null) {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${configFile} is not valid JSON (${(error as Error).message}); fix the file or delete it to use the defaults.`);
    }
  }
  return parseSettings(root, raw, text === null ? null : configFile);
}

export function parseSettings(root: string, raw: unknown, configFile: string | null): Settings {
  const where = configFile ?? CONFIG_FILE;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${where} must hold a JSON object, e.g. {"extensionsDir": "extensions"}.`);
  }
  const problems: string[] = [];
  const valid = Object.keys(KEYS).join(', ');
  for (const [key, value] of Object.entries(raw)) {
    const kind = KEYS[key as keyof RawConfig];
    if (!kind) {
      problems.push(`${where}: unknown key "${key}"; valid keys are ${valid}.`);
    } else if (kind === 'path' && (typeof value !== 'string' || value.trim() === '')) {
      problems.push(`${where}: "${key}" must be a non-empty path string relative to the project root.`);
    } else if (kind === 'identifier' && (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,20}$/.test(value))) {
      problems.push(`${where}: "${key}" must be a SQL identifier of at most 21 characters (letters, digits, underscore), e.g. "_prisma_migrations".`);
    } else if (kind === 'integer' && (typeof value !== 'number' || !Number.isSafeInteger(value))) {
      problems.push(`${where}: "${key}" must be an integer, e.g. ${DEFAULT_LOCK_KEY}.`);
    } else if (kind === 'baseline' && !isStringRecord(value)) {
      problems.push(`${where}: "baseline" must map owners to the last migration of their baseline, e.g. {"core": "20240101000000_init"}.`);
    } else if (kind === 'lint') {
      const lint = value as { ignoreTables?: unknown } | null;
      const keys = typeof lint === 'object' && lint !== null && !Array.isArray(lint) ? Object.keys(lint) : null;
      if (!keys || keys.some((k) => k !== 'ignoreTables') || !Array.isArray(lint!.ignoreTables ?? []) || (lint!.ignoreTables as unknown[] ?? []).some((t) => typeof t !== 'string' || t === '')) {
        problems.push(`${where}: "lint" must be an object with "ignoreTables", a list of table names or globs, e.g. {"ignoreTables": ["website", "session_*"]}.`);
      }
    }
  }
  if (problems.length > 0) throw new InputErrors(problems);
  const config = raw as RawConfig;
  // Revision and create write into these folders: nothing may land outside the project.
  for (const key of ['coreSchema', 'coreMigrations', 'extensionsDir'] as const) {
    const value = config[key];
    if (value === undefined) continue;
    const relative = path.relative(root, path.resolve(root, value));
    if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      problems.push(
        `${where}: "${key}": ${JSON.stringify(value)} leads ${relative === '' ? 'to the project root itself' : 'outside the project root'} ${root}; orchestrate only writes inside the project, so give a path inside it, e.g. "${KEY_DEFAULTS[key]}".`,
      );
    }
  }
  if (problems.length > 0) throw new InputErrors(problems);
  const resolve = (p: string | undefined, fallback: string) => path.resolve(root, p ?? fallback);
  // prisma.config.ts's `schema` and `migrations.path`, unless orchestrate.config.json names them.
  const prisma = config.coreSchema === undefined || config.coreMigrations === undefined ? prismaConfigPaths(root) : null;
  const schemaFromPrisma = config.coreSchema === undefined ? (prisma?.schema ?? null) : null;
  const coreSchema = schemaFromPrisma ?? resolve(config.coreSchema, 'prisma/schema.prisma');
  let migrationsFromPrisma = config.coreMigrations === undefined ? (prisma?.migrationsPath ?? null) : null;
  // As Prisma does without `migrations.path`: beside the schema file, inside a schema folder.
  if (config.coreMigrations === undefined && !migrationsFromPrisma && schemaFromPrisma) {
    migrationsFromPrisma = path.join(statSync(schemaFromPrisma, { throwIfNoEntry: false })?.isDirectory() ? schemaFromPrisma : path.dirname(schemaFromPrisma), 'migrations');
  }
  return {
    root,
    configFile,
    coreSchema,
    coreMigrations: migrationsFromPrisma ?? resolve(config.coreMigrations, 'prisma/migrations'),
    extensionsDir: resolve(config.extensionsDir, 'extensions'),
    historyTablePrefix: config.historyTablePrefix ?? '_prisma_migrations',
    lockKey: config.lockKey ?? DEFAULT_LOCK_KEY,
    baseline: { ...(config.baseline ?? {}) },
    lintIgnoreTables: [...(config.lint?.ignoreTables ?? [])],
    prismaConfig: schemaFromPrisma || migrationsFromPrisma ? prisma!.file : null,
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string' && v.trim() !== '');
}

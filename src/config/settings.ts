import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputErrors, UsageError } from '../errors.js';

/** What `orchestrate.config.json` may contain. Every key is optional. */
export interface RawConfig {
  coreSchema?: string;
  coreMigrations?: string;
  extensionsDir?: string;
  historyTablePrefix?: string;
  lockKey?: number;
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
}

const KEY_DEFAULTS = { coreSchema: 'prisma/schema.prisma', coreMigrations: 'prisma/migrations', extensionsDir: 'extensions' };

export const CONFIG_FILE = 'orchestrate.config.json';
export const DEFAULT_LOCK_KEY = 72_707_369; // arbitrary, stable: "orch" in a 32-bit range

const KEYS: Record<keyof RawConfig, 'path' | 'identifier' | 'integer'> = {
  coreSchema: 'path',
  coreMigrations: 'path',
  extensionsDir: 'path',
  historyTablePrefix: 'identifier',
  lockKey: 'integer',
};

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
  return {
    root,
    configFile,
    coreSchema: resolve(config.coreSchema, 'prisma/schema.prisma'),
    coreMigrations: resolve(config.coreMigrations, 'prisma/migrations'),
    extensionsDir: resolve(config.extensionsDir, 'extensions'),
    historyTablePrefix: config.historyTablePrefix ?? '_prisma_migrations',
    lockKey: config.lockKey ?? DEFAULT_LOCK_KEY,
  };
}

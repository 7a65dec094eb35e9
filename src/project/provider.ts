import { readSchemaPath } from '../schema/files.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { LOCK_FILE } from '../migrations/folder.js';
import type { Owner, Project } from './project.js';

/** Database products the tool runs migrations on. */
export type Provider = 'postgresql' | 'sqlite';

export const PROVIDERS: readonly Provider[] = ['postgresql', 'sqlite'];

/**
 * The `provider` of a schema's datasource block, read with the schema parser (comments and
 * strings cannot fool it). Null when the text has no datasource block (an extension fragment).
 *
 * @example
 *   schemaProvider('datasource db {\n  provider = "sqlite"\n}\n', 'prisma/schema.prisma'); // 'sqlite'
 */
export async function schemaProvider(text: string, file: string): Promise<Provider | null> {
  const { getSchema } = await import('@mrleebo/prisma-ast');
  let ast;
  try {
    ast = getSchema(text);
  } catch {
    // Unparseable schemas are reported, with file and line, by validation; assume nothing here.
    return null;
  }
  for (const node of ast.list) {
    if (node.type !== 'datasource') continue;
    const assignment = node.assignments.find((a) => a.type === 'assignment' && a.key === 'provider');
    const raw = assignment && assignment.type === 'assignment' ? assignment.value : undefined;
    const value = typeof raw === 'string' && /^".*"$/.test(raw) ? (JSON.parse(raw) as string) : null;
    return value === null ? null : supported(value, file);
  }
  return null;
}

/** Maps a datasource provider name to a supported provider; anything else is refused in one sentence. */
function supported(value: string, file: string): Provider {
  if (value === 'postgres') return 'postgresql';
  if ((PROVIDERS as readonly string[]).includes(value)) return value as Provider;
  throw new UsageError(
    `${file}: datasource provider "${value}" is not supported; orchestrate runs migrations on ${PROVIDERS.map((p) => `"${p}"`).join(' and ')} (MySQL and SQL Server need Prisma's native schema engine, which cannot run in-process).`,
  );
}

/**
 * The datasource provider read without the schema parser, for commands that apply migrations
 * (loading the parser costs more than a no-op `migrate`). A datasource block holds only
 * `key = value` lines, so skipping `//` comments and strings is all the reading it needs;
 * `revision` reads the same value with the parser.
 */
export function scanProvider(text: string, file: string): Provider | null {
  let code = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? text.length : eol - 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      code += text.slice(i, j + 1);
      i = j;
      continue;
    }
    code += c;
  }
  const block = /\bdatasource\s+\w+\s*\{([^}]*)\}/.exec(code);
  const value = block && /(?:^|\n)\s*provider\s*=\s*"([^"]*)"/.exec(block[1]!);
  return value ? supported(value[1]!, file) : null;
}

/** The provider recorded in a migrations folder's `migration_lock.toml`, or null without one. */
export function lockedProvider(migrationsDir: string): string | null {
  let text: string;
  try {
    text = readFileSync(path.join(migrationsDir, LOCK_FILE), 'utf8');
  } catch {
    return null;
  }
  const m = /^\s*provider\s*=\s*"([^"]*)"/m.exec(text);
  return m ? m[1]! : null;
}

/**
 * The refusal Prisma Migrate gives when a migrations folder was written for another provider:
 * its SQL would not run on the new database.
 */
export function assertSameProvider(owner: Owner, rel: (file: string) => string, provider: Provider): void {
  const locked = lockedProvider(owner.migrationsDir);
  if (locked === null || locked === provider || (locked === 'postgres' && provider === 'postgresql')) return;
  throw new UsageError(
    `The datasource provider "${provider}" does not match "${locked}" in ${rel(path.join(owner.migrationsDir, LOCK_FILE))}: ${owner.name}'s migrations were written for ${locked}; move them away (or delete them) and run \`orchestrate revision --all\` to start a new history for ${provider}.`,
  );
}

const cache = new WeakMap<Project, Provider>();

/**
 * The provider a project's migrations run on: what core's `migration_lock.toml` records (cheap
 * to read, and what the SQL was written for), else the core datasource. Defaults to PostgreSQL.
 * An enabled extension whose `migration_lock.toml` names another provider is refused.
 */
export function projectProvider(project: Project): Provider {
  const known = cache.get(project);
  if (known) return known;
  const locked = lockedProvider(project.core.migrationsDir);
  let provider: Provider;
  if (locked === 'sqlite' || locked === 'postgresql' || locked === 'postgres') provider = locked === 'sqlite' ? 'sqlite' : 'postgresql';
  else provider = scannedCoreProvider(project) ?? 'postgresql';
  // Every enabled owner's migrations must be written for it (one small file each).
  for (const owner of project.extensions) assertSameProvider(owner, (file) => path.relative(project.settings.root, file) || file, provider);
  cache.set(project, provider);
  return provider;
}

function scannedCoreProvider(project: Project): Provider | null {
  let text: string;
  try {
    text = readSchemaPath(project.settings.root, project.core.schemaPath).text;
  } catch {
    return null;
  }
  return scanProvider(text, path.relative(project.settings.root, project.core.schemaPath) || project.core.schemaPath);
}

/** The core datasource's provider, read from the core schema file (or folder of files). */
export async function coreSchemaProvider(project: Project): Promise<Provider | null> {
  let text: string;
  try {
    text = readSchemaPath(project.settings.root, project.core.schemaPath).text;
  } catch {
    return null;
  }
  return schemaProvider(text, path.relative(project.settings.root, project.core.schemaPath) || project.core.schemaPath);
}

/**
 * Which PostgreSQL extensions a PGlite instance must load. PGlite ships contrib extensions
 * (pgcrypto, pg_trgm, vector, ...) as tarballs beside its build, but `CREATE EXTENSION` only
 * finds those passed to its constructor: a database whose migrations create one must be opened
 * with it, and reopened with it afterwards.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Extension } from '@electric-sql/pglite';
import { RuntimeError } from '../errors.js';
import { codeOf, splitStatements } from './split.js';

/** Extensions whose files sit in a tarball named otherwise (the contrib folder they come from). */
const TARBALL: Record<string, string> = {
  intarray: '_int',
  intagg: '_int',
  autoinc: 'autoinc',
  insert_username: 'autoinc',
  moddatetime: 'autoinc',
  refint: 'autoinc',
  xml2: 'pgxml',
};

/** Extensions that need another one's files (the `requires` of their control file). */
const REQUIRES: Record<string, string[]> = { earthdistance: ['cube'] };

/** Built into PGlite itself: nothing to load. */
const BUILT_IN = new Set(['plpgsql']);

const CREATE_EXTENSION = /^create\s+extension\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)/i;

/**
 * The extensions `CREATE EXTENSION` statements of these scripts create, in order of first
 * appearance (comments and strings are not mistaken for statements).
 *
 * @example
 *   extensionsCreatedBy(['CREATE EXTENSION IF NOT EXISTS "pg_trgm";']); // ['pg_trgm']
 */
export function extensionsCreatedBy(sqlTexts: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const text of sqlTexts) {
    if (!/create\s+extension/i.test(text)) continue;
    for (const statement of splitStatements(text)) {
      const match = CREATE_EXTENSION.exec(codeOf(statement).text);
      if (!match) continue;
      const raw = match[1]!;
      names.add(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
    }
  }
  return [...names];
}

let distDir: string | null = null;
/** The folder of PGlite's build, where its extension tarballs are. */
function pgliteDist(): string {
  distDir ??= path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  return distDir;
}

function tarballOf(name: string): string | null {
  const file = path.join(pgliteDist(), `${TARBALL[name] ?? name}.tar.gz`);
  return existsSync(file) ? file : null;
}

/** Whether the PGlite build installed here can create this extension. */
export function pgliteShips(name: string): boolean {
  return BUILT_IN.has(name) || tarballOf(name) !== null;
}

export interface PgliteExtensions {
  /** Pass as `extensions` to `PGlite.create`. */
  extensions: Record<string, Extension>;
  /** The names loaded (dependencies included), sorted. */
  loaded: string[];
  /** Extensions asked for that this PGlite does not ship. */
  unavailable: string[];
}

/**
 * The `extensions` option of `PGlite.create` for a set of extension names, or for the scripts
 * that will run (`{ sql: [...] }`): each shipped extension's tarball, as PGlite's own contrib
 * modules give it.
 *
 * @example
 *   const { extensions, unavailable } = pgliteExtensionsFor({ sql: migrations.map((m) => m.sql) });
 *   if (unavailable.length > 0) throw unavailableExtensionError(unavailable[0], 'the shadow database');
 *   const db = await PGlite.create({ extensions });
 */
export function pgliteExtensionsFor(wanted: { sql: Iterable<string> } | Iterable<string>): PgliteExtensions {
  const names = 'sql' in wanted ? extensionsCreatedBy(wanted.sql) : [...wanted];
  const loaded = new Set<string>();
  const unavailable: string[] = [];
  const add = (name: string) => {
    if (BUILT_IN.has(name) || loaded.has(name)) return;
    if (!tarballOf(name)) {
      if (!unavailable.includes(name)) unavailable.push(name);
      return;
    }
    loaded.add(name);
    for (const dependency of REQUIRES[name] ?? []) add(dependency);
  };
  for (const name of names) add(name);
  const tarballs = new Set([...loaded].map((name) => tarballOf(name)!));
  const extensions: Record<string, Extension> = {};
  for (const file of tarballs) {
    const key = path.basename(file, '.tar.gz').replace(/[^A-Za-z0-9_]/g, '_');
    const bundlePath = pathToFileURL(file);
    extensions[key] = { name: path.basename(file, '.tar.gz'), setup: async () => ({ bundlePath }) };
  }
  return { extensions, loaded: [...loaded].sort(), unavailable };
}

/** One sentence for an extension the embedded database cannot create. */
export function unavailableExtensionError(name: string, where: string): RuntimeError {
  return new RuntimeError(
    `${where} creates the PostgreSQL extension "${name}", which the embedded database (PGlite) does not ship; set DATABASE_URL to a PostgreSQL server that has "${name}" installed.`,
  );
}

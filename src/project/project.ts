import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputErrors, UsageError } from '../errors.js';
import type { Settings } from '../config/settings.js';

/** Extension names become parts of SQL identifiers (`_prisma_migrations_<name>`). */
export const EXTENSION_NAME = /^[a-z][a-z0-9_]{0,39}$/;
export const CORE = 'core';

export interface Owner {
  kind: 'core' | 'extension';
  /** `core`, or the extension's folder name. */
  name: string;
  /** Absolute path of the owner's schema file (core schema or fragment). */
  schemaPath: string;
  migrationsDir: string;
  historyTable: string;
  /** Direct dependencies (extensions only); core is implied for every extension. */
  dependsOn: string[];
  description: string | null;
  /** The last migration of the owner's baseline, when orchestrate.config.json names it (see baseline.ts). */
  baseline?: string;
}

export interface Project {
  settings: Settings;
  core: Owner;
  /** Every extension folder found, enabled or not, by name. */
  discovered: Map<string, Owner>;
  /** Enabled extensions in dependency order (ties alphabetical). */
  extensions: Owner[];
  /** Core first, then `extensions`. */
  owners: Owner[];
}

export function validateExtensionName(name: string, where: string): void {
  if (name === CORE) {
    throw new UsageError(`${where}: "core" is reserved for the core schema; choose another extension name.`);
  }
  if (!EXTENSION_NAME.test(name)) {
    throw new UsageError(
      `${where}: invalid extension name ${JSON.stringify(name)}; names must match ^[a-z][a-z0-9_]{0,39}$ (lowercase letter, then lowercase letters, digits or underscores).`,
    );
  }
}

/** Parses `APP_EXTENSIONS` / `--extensions`: comma separated, blanks trimmed, empty means none. */
export function parseExtensionList(value: string | undefined, where: string): string[] {
  if (value === undefined) return [];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const name of names) validateExtensionName(name, where);
  return [...new Set(names)];
}

export function historyTableFor(settings: Settings, owner: string): string {
  return owner === CORE ? settings.historyTablePrefix : `${settings.historyTablePrefix}_${owner}`;
}

function readManifest(dir: string, name: string): { dependsOn: string[]; description: string | null } {
  const file = `${dir}${path.sep}extension.json`;
  if (!existsSync(file)) return { dependsOn: [], description: null };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${(error as Error).message}); fix it, e.g. {"dependsOn": [], "description": "..."}.`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${file} must hold a JSON object, e.g. {"dependsOn": [], "description": "..."}.`);
  }
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (key !== 'dependsOn' && key !== 'description') {
      problems.push(`${file}: unknown key "${key}"; valid keys are dependsOn, description.`);
    }
  }
  const { dependsOn = [], description = null } = raw as { dependsOn?: unknown; description?: unknown };
  if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string')) {
    problems.push(`${file}: "dependsOn" must be an array of extension names, e.g. ["billing"].`);
  }
  if (description !== null && typeof description !== 'string') {
    problems.push(`${file}: "description" must be a string.`);
  }
  if (problems.length > 0) throw new InputErrors(problems);
  const deps = dependsOn as string[];
  for (const dep of deps) validateExtensionName(dep, `${file} dependsOn`);
  if (deps.includes(name)) throw new UsageError(`${file}: extension "${name}" cannot depend on itself; remove it from dependsOn.`);
  return { dependsOn: [...new Set(deps)], description: description as string | null };
}

/** Lists extension folders (those holding a schema.prisma or an extension.json). */
export function discoverExtensions(settings: Settings): Map<string, Owner> {
  const found = new Map<string, Owner>();
  if (!existsSync(settings.extensionsDir)) return found;
  const entries = readdirSync(settings.extensionsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  // Joined by hand: settings paths are absolute and normalised, and names are plain folder names
  // (path.join for every extension is a measurable part of a no-op `migrate`).
  for (const name of entries) {
    const dir = `${settings.extensionsDir}${path.sep}${name}`;
    // A fragment is schema.prisma, or a schema/ folder of .prisma files (Prisma's multi-file schema).
    let schemaPath = `${dir}${path.sep}schema.prisma`;
    if (!existsSync(schemaPath) && existsSync(`${dir}${path.sep}schema`)) schemaPath = `${dir}${path.sep}schema`;
    if (!existsSync(schemaPath) && !existsSync(`${dir}${path.sep}extension.json`)) continue;
    validateExtensionName(name, `extension folder ${dir}`);
    const manifest = readManifest(dir, name);
    found.set(name, {
      kind: 'extension',
      name,
      schemaPath,
      migrationsDir: `${dir}${path.sep}migrations`,
      historyTable: historyTableFor(settings, name),
      dependsOn: manifest.dependsOn,
      description: manifest.description,
      ...(settings.baseline[name] !== undefined ? { baseline: settings.baseline[name] } : {}),
    });
  }
  return found;
}

/**
 * Orders enabled extensions so that every dependency comes first; among extensions that are
 * ready at the same time, alphabetical order decides (deterministic across machines).
 */
export function orderExtensions(enabled: Owner[]): Owner[] {
  const byName = new Map(enabled.map((o) => [o.name, o]));
  for (const owner of enabled) {
    for (const dep of owner.dependsOn) {
      if (!byName.has(dep)) {
        throw new UsageError(
          `Extension "${owner.name}" depends on "${dep}", which is not enabled; add "${dep}" to APP_EXTENSIONS (or --extensions), or remove it from ${path.join(path.dirname(owner.schemaPath), 'extension.json')}.`,
        );
      }
    }
  }
  // Report a cycle with its chain before ordering.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...chain.slice(chain.indexOf(name)), name];
      throw new UsageError(`Dependency cycle between extensions: ${cycle.join(' -> ')}; remove one of these dependsOn entries.`);
    }
    state.set(name, 'visiting');
    for (const dep of [...byName.get(name)!.dependsOn].sort()) visit(dep, [...chain, name]);
    state.set(name, 'done');
  };
  for (const name of [...byName.keys()].sort()) visit(name, []);

  // Kahn's algorithm, always taking the alphabetically first extension whose dependencies are placed.
  const waitingOn = new Map(enabled.map((o) => [o.name, new Set(o.dependsOn).size]));
  const dependents = new Map<string, string[]>();
  for (const o of enabled) for (const dep of new Set(o.dependsOn)) dependents.set(dep, [...(dependents.get(dep) ?? []), o.name]);
  const ready = enabled.filter((o) => waitingOn.get(o.name) === 0).map((o) => o.name);
  const ordered: Owner[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => (a < b ? 1 : -1)); // descending: pop() takes the first name
    const name = ready.pop()!;
    ordered.push(byName.get(name)!);
    for (const next of dependents.get(name) ?? []) {
      const left = waitingOn.get(next)! - 1;
      waitingOn.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return ordered;
}

/** Every transitive dependency of `owner` among `all`, dependencies first. */
export function transitiveDependencies(owner: Owner, project: Project): Owner[] {
  const seen = new Set<string>();
  const walk = (o: Owner) => {
    for (const dep of o.dependsOn) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const d = project.discovered.get(dep);
      if (d) walk(d);
    }
  };
  walk(owner);
  return project.extensions.filter((e) => seen.has(e.name));
}

export interface ProjectOptions {
  /** `--extensions` flag; overrides APP_EXTENSIONS when given. */
  extensions?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the project model: which owners exist, which are enabled, and in which order.
 *
 * @example
 *   const project = loadProject(loadSettings(root), { extensions: 'billing,crm' });
 *   project.owners.map((o) => o.name); // ['core', 'billing', 'crm']
 */
export function loadProject(settings: Settings, options: ProjectOptions = {}): Project {
  const env = options.env ?? process.env;
  const source = options.extensions !== undefined ? '--extensions' : 'APP_EXTENSIONS';
  const names = parseExtensionList(options.extensions ?? env.APP_EXTENSIONS, source);
  const discovered = discoverExtensions(settings);
  const missing = names.filter((n) => !discovered.has(n));
  if (missing.length > 0) {
    const list = discovered.size > 0 ? [...discovered.keys()].join(', ') : 'none';
    throw new UsageError(
      `${source} names ${missing.map((m) => `"${m}"`).join(', ')}, but there is no such folder under ${settings.extensionsDir} (discovered: ${list}); fix the name or create it with \`orchestrate create ${missing[0]}\`.`,
    );
  }
  const core: Owner = {
    kind: 'core',
    name: CORE,
    schemaPath: settings.coreSchema,
    migrationsDir: settings.coreMigrations,
    historyTable: historyTableFor(settings, CORE),
    dependsOn: [],
    description: null,
    ...(settings.baseline[CORE] !== undefined ? { baseline: settings.baseline[CORE] } : {}),
  };
  const extensions = orderExtensions(names.map((n) => discovered.get(n)!));
  return { settings, core, discovered, extensions, owners: [core, ...extensions] };
}

export interface Selection {
  core?: boolean;
  extension?: string[];
  all?: boolean;
}

/**
 * Resolves `--core`, `--extension` and `--all` into owners in project order.
 * With no flag at all, `all` is assumed (the common case in a Docker entrypoint).
 */
export function selectOwners(project: Project, selection: Selection, options: { defaultAll?: boolean } = {}): Owner[] {
  const wanted = new Set<string>();
  const none = !selection.core && !selection.all && (selection.extension ?? []).length === 0;
  if (selection.all || (none && options.defaultAll !== false)) {
    for (const o of project.owners) wanted.add(o.name);
  }
  if (none && options.defaultAll === false) {
    throw new UsageError('Choose which owners to act on: --core, --extension <name> (repeatable) or --all.');
  }
  if (selection.core) wanted.add(CORE);
  for (const name of selection.extension ?? []) {
    validateExtensionName(name, '--extension');
    if (!project.discovered.has(name)) {
      const list = project.discovered.size > 0 ? [...project.discovered.keys()].join(', ') : 'none';
      throw new UsageError(`--extension ${name}: no such extension under ${project.settings.extensionsDir} (discovered: ${list}).`);
    }
    if (!project.extensions.some((e) => e.name === name)) {
      throw new UsageError(
        `--extension ${name}: the extension exists but is not enabled; add it to APP_EXTENSIONS (e.g. APP_EXTENSIONS=${[...project.extensions.map((e) => e.name), name].join(',')}) or pass --extensions.`,
      );
    }
    wanted.add(name);
  }
  return project.owners.filter((o) => wanted.has(o.name));
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `target` with every symlink of its existing part resolved (the rest may not exist yet). */
function realTarget(target: string): string {
  const rest: string[] = [];
  let existing = target;
  while (!existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(realpathSync(existing), ...rest);
}

/**
 * Refuses to write to `target` when it leads outside the project root, e.g. through a symlinked
 * migrations folder: orchestrate writes only inside the project it was pointed at.
 *
 * @example
 *   assertInsideRoot(project.settings, owner.migrationsDir, `the migrations folder of ${owner.name}`);
 */
export function assertInsideRoot(settings: Settings, target: string, what: string): void {
  const root = realpathSync(settings.root);
  const real = realTarget(target);
  const relative = path.relative(root, real);
  if (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)) return;
  const shown = path.relative(settings.root, target) || target;
  throw new UsageError(
    `${what} (${shown}) leads outside the project root ${settings.root}, to ${real}; orchestrate writes only inside the project, so replace the symlink with a folder inside it (copy the files over) and run the command again.`,
  );
}

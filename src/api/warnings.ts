/**
 * Extensions that exist but are not enabled: a folder under extensions/ that APP_EXTENSIONS
 * leaves out, or a history table in the database recording an extension that is not enabled.
 * Forgetting APP_EXTENSIONS otherwise looks like success (`migrate --all` applies core only), so
 * migrate, status, check and generate warn, and `--strict` / ORCHESTRATE_STRICT=1 refuse.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isApplied } from '../apply/state.js';
import type { Driver } from '../db/driver.js';
import { readHistory } from '../db/history.js';
import { CheckError, UsageError } from '../errors.js';
import { MIGRATION_NAME } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import type { RunContext } from './context.js';

export interface DisabledExtensionWarning {
  kind: 'disabled-extension';
  extension: string;
  /** The extension's folder, relative to the project root; null when there is none. */
  folder: string | null;
  /** Migration folders in it. */
  migrations: number | null;
  /** Its history table, when the database has one. */
  historyTable: string | null;
  /** Applied migrations that table records. */
  applied: number | null;
  message: string;
}

export type Warning = DisabledExtensionWarning;

export interface DisabledTable {
  extension: string;
  table: string;
  applied: number;
}

/** Strict when `--strict` is given or ORCHESTRATE_STRICT is 1/true (the container entrypoint sets it). */
export function isStrict(ctx: Pick<RunContext, 'env'>, flag: boolean | undefined): boolean {
  if (flag) return true;
  const raw = (ctx.env.ORCHESTRATE_STRICT ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new UsageError(`ORCHESTRATE_STRICT=${JSON.stringify(ctx.env.ORCHESTRATE_STRICT)} is not 1 or 0; set ORCHESTRATE_STRICT=1 to refuse on warnings, or 0 (or unset it) to only print them.`);
}

function migrationCount(dir: string): number {
  try {
    return readdirSync(dir).filter((name) => MIGRATION_NAME.test(name)).length;
  } catch {
    return 0;
  }
}

/**
 * History tables of extensions that are not enabled, with their applied migrations, looked for in
 * the history tables' schema: one query, and the history read only when there is such a table.
 */
export async function disabledHistoryTables(db: Driver, project: Project): Promise<DisabledTable[]> {
  const prefix = `${project.settings.historyTablePrefix}_`;
  // LIKE's `_` is a wildcard, so the prefix is compared below.
  const rows = await db.query<{ name: string }>(db.dialect.tablesLikeQuery, [`${prefix.replace(/[_%\\]/g, '\\$&')}%`, db.schema]);
  const enabled = new Set(project.extensions.map((e) => e.historyTable));
  const tables = rows
    .map((r) => r.name)
    .filter((name) => name.startsWith(prefix) && !enabled.has(name) && /^[a-z][a-z0-9_]{0,39}$/.test(name.slice(prefix.length)))
    .map((table) => ({ owner: table.slice(prefix.length), table }));
  if (tables.length === 0) return [];
  const history = await readHistory(db, tables);
  return tables.map(({ owner, table }) => ({ extension: owner, table, applied: history.rows.filter((r) => r.owner === owner && isApplied(r)).length }));
}

/** The extension and everything it depends on, among the discovered extensions. */
function withDependencies(project: Project, name: string): string[] {
  const found: string[] = [];
  const walk = (n: string) => {
    if (found.includes(n)) return;
    found.push(n);
    for (const dep of project.discovered.get(n)?.dependsOn ?? []) walk(dep);
  };
  walk(name);
  return found;
}

/** `APP_EXTENSIONS` with `name` (and what it depends on) added. */
export function enabledWith(project: Project, name: string): string {
  const names = project.extensions.map((e) => e.name);
  for (const n of withDependencies(project, name).reverse()) if (!names.includes(n)) names.push(n);
  return names.join(',');
}

/** The command that removes an extension's objects, which works even when it is not enabled. */
export function uninstallCommand(project: Project, name: string): string {
  return `orchestrate --extensions ${enabledWith(project, name)} downgrade --extension ${name} --target base`;
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * One warning per extension that is not enabled but has a folder or a history table.
 * `tables` is null when no database was read.
 */
export function disabledExtensionWarnings(project: Project, tables: DisabledTable[] | null): DisabledExtensionWarning[] {
  const enabled = new Set(project.extensions.map((e) => e.name));
  const byName = new Map<string, { owner?: Owner; table?: DisabledTable }>();
  for (const owner of project.discovered.values()) if (!enabled.has(owner.name)) byName.set(owner.name, { owner });
  for (const table of tables ?? []) byName.set(table.extension, { ...byName.get(table.extension), table });
  const current = project.extensions.length > 0 ? project.extensions.map((e) => e.name).join(',') : '(none)';
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, { owner, table }]) => {
      const folder = owner ? path.relative(project.settings.root, path.dirname(owner.schemaPath)) || '.' : null;
      const migrations = owner ? migrationCount(owner.migrationsDir) : null;
      const found = [
        folder !== null ? `${folder} holds ${count(migrations!, 'migration')}` : null,
        table ? `the database's ${table.table} records ${count(table.applied, 'applied migration')}` : null,
      ].filter(Boolean);
      const enable = `enable it (APP_EXTENSIONS=${enabledWith(project, name)})`;
      const otherwise =
        table && table.applied > 0
          ? owner
            ? `or uninstall it first (\`${uninstallCommand(project, name)}\`)`
            : `or restore its folder and uninstall it (\`${uninstallCommand(project, name)}\`)`
          : table
            ? `or drop its empty history table ${table.table}`
            : 'or remove the folder if the application does not use it';
      return {
        kind: 'disabled-extension' as const,
        extension: name,
        folder,
        migrations,
        historyTable: table?.table ?? null,
        applied: table?.applied ?? null,
        message: `Extension "${name}" is not enabled (enabled: ${current}), but ${found.join(' and ')}; ${enable}, ${otherwise}.`,
      };
    });
}

/**
 * Prints each warning (one line each) and, when strict, refuses with all of them before the
 * command does anything.
 */
export function reportWarnings(ctx: Pick<RunContext, 'reporter'>, warnings: Warning[], strict: boolean): void {
  if (strict && warnings.length > 0) {
    throw new CheckError(
      `Refusing to continue in strict mode (--strict or ORCHESTRATE_STRICT=1), nothing was changed: ${warnings.map((w) => w.message.replace(/\.$/, '')).join('; ')}.`,
    );
  }
  for (const w of warnings) ctx.reporter.warn(w.message);
}

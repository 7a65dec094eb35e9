import { isApplied } from '../apply/state.js';
import type { Owner, Project } from '../project/project.js';
import { projectProvider } from '../project/provider.js';
import { withDatabase, type DatabaseSource } from './connect.js';
import { readHistory } from './history.js';

/**
 * Names of an owner's migrations recorded as applied in the target database: finished and
 * not rolled back, as Prisma Migrate counts them. A missing history table, or an embedded
 * database that was never created, means none (and creates nothing).
 *
 * @example
 *   const applied = await appliedMigrationNames({ root, url: undefined, env: process.env, info() {} }, project, project.core);
 *   applied.has('20250101120000_init'); // true once `orchestrate migrate` ran it
 */
export async function appliedMigrationNames(source: DatabaseSource, project: Project, owner: Owner): Promise<Set<string>> {
  return withDatabase(source, { lockKey: project.settings.lockKey, readOnly: true, provider: projectProvider(project) }, async (db) => {
    if (!db) return new Set<string>();
    const { rows } = await readHistory(db, [{ owner: owner.name, table: owner.historyTable }]);
    return new Set(rows.filter(isApplied).map((r) => r.migrationName));
  });
}

import type { Driver } from '../db/driver.js';
import { EMPTY_HISTORY, readHistory } from '../db/history.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import { buildState, type State } from './state.js';

/** Every enabled owner's migration folders. Read before connecting, so file errors come first. */
export function readOwnerFiles(owners: Owner[]): Map<string, MigrationFiles[]> {
  return new Map(owners.map((o) => [o.name, readMigrations(o.migrationsDir)]));
}

/**
 * The state of every enabled owner. `db` null stands for a database that does not exist yet
 * (the embedded one, before its first use): nothing is applied.
 */
export async function loadState(db: Driver | null, project: Project, files: Map<string, MigrationFiles[]>): Promise<State> {
  const history = db ? await readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable }))) : EMPTY_HISTORY;
  return buildState(project.owners, files, history);
}

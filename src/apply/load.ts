import type { Driver } from '../db/driver.js';
import { EMPTY_HISTORY, readHistory, type HistorySnapshot } from '../db/history.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import { buildState, type State } from './state.js';

/** Every enabled owner's migration folders. */
export function readOwnerFiles(owners: Owner[]): Map<string, MigrationFiles[]> {
  return new Map(owners.map((o) => [o.name, readMigrations(o.migrationsDir)]));
}

/**
 * The state of every enabled owner. `db` null stands for a database that does not exist yet
 * (the embedded one, before its first use): nothing is applied.
 *
 * The history query goes out first and the folders are read while the server answers it: on a
 * no-op `migrate` in a container entrypoint, those two are most of the work.
 */
export async function loadState(db: Driver | null, project: Project): Promise<State> {
  let history: Promise<HistorySnapshot> = Promise.resolve(EMPTY_HISTORY);
  if (db) {
    history = readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable })));
    history.catch(() => {}); // awaited below; this only keeps a failure during the folder read from going unhandled
  }
  const files = readOwnerFiles(project.owners);
  return buildState(project.owners, files, await history);
}

import type { Driver } from '../db/driver.js';
import { dialectFor } from '../db/dialects.js';
import { projectProvider } from '../project/provider.js';
import { EMPTY_HISTORY, readHistory, type HistorySnapshot } from '../db/history.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import { buildState, type State } from './state.js';

export type OwnerFiles = Map<string, MigrationFiles[]>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Migrations read between two event-loop turns (about a millisecond of work). */
const BATCH = 64;

/**
 * Every enabled owner's migration folders, a batch per event-loop turn. It starts on the next
 * turn, so a connection opened right after the call sends its first packet before any file is
 * read; the reading then overlaps the handshake and the history query instead of waiting for
 * them (on a no-op `migrate` in a container entrypoint, reading the folders and asking the
 * server are nearly all of the work).
 */
export async function readOwnerFiles(owners: Owner[]): Promise<OwnerFiles> {
  const files: OwnerFiles = new Map();
  let batch = 0;
  await nextTurn();
  for (const owner of owners) {
    const read = readMigrations(owner.migrationsDir);
    files.set(owner.name, read);
    batch += read.length + 1;
    if (batch >= BATCH) {
      batch = 0;
      await nextTurn();
    }
  }
  return files;
}

/**
 * The state of every enabled owner. `db` null stands for a database that does not exist yet
 * (the embedded one, before its first use): nothing is applied. `files` may already be on its
 * way (see readOwnerFiles); otherwise it is read now, while the history query is in flight.
 *
 * @example
 *   const files = readOwnerFiles(project.owners);
 *   const db = await openDatabase(ctx, { lockKey: project.settings.lockKey });
 *   const state = await loadState(db, project, files);
 */
export async function loadState(db: Driver | null, project: Project, files?: Promise<OwnerFiles>): Promise<State> {
  let history: Promise<HistorySnapshot> = Promise.resolve(EMPTY_HISTORY);
  if (db) history = readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable })));
  const pending = files ?? readOwnerFiles(project.owners);
  // Both are awaited below; this keeps a failure of one from going unhandled while the other runs.
  history.catch(() => {});
  pending.catch(() => {});
  const read = await pending;
  return buildState(project.owners, read, await history, db?.dialect ?? dialectFor(projectProvider(project)));
}

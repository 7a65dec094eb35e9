/**
 * Drift: an owner's migrations, replayed in a shadow, compared with what the project says they
 * produce — the snapshot of its latest migration, or (an adopted history, no snapshot) its
 * schema. Each difference comes with the SQL that would reconcile it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CheckError, UsageError } from '../errors.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import { world } from '../plan/revision.js';
import type { DiffSide } from '../plan/diff-engine.js';
import type { Owner, Project } from '../project/project.js';
import { compose } from '../schema/compose.js';
import { ownerSource, relativePath } from '../schema/sources.js';
import type { ShadowEngine } from './engine.js';
import { openReplaySession, type ReplaySession } from './produce.js';
import { replayChain } from './replay.js';

/** The three states of an owner `orchestrate diff` compares. */
export type OwnerState = 'migrations' | 'snapshot' | 'schema';

export interface Drift {
  owner: string;
  /** What the replayed history was compared with. */
  against: 'snapshot' | 'schema';
  /** Project-relative path of that snapshot or schema. */
  file: string;
  /** SQL taking a database built by the migrations to what `file` describes. */
  sql: string;
  /** Migrations replayed (the owner's own). */
  migrations: number;
}

/**
 * SQL from one state of `owner` to another, the rest of its world (core, dependencies) held at
 * their current schemas on both sides, as `revision` diffs. `null` text means "nothing yet".
 */
export async function diffOwnerTexts(engine: ShadowEngine, project: Project, owner: Owner, current: Map<string, string>, from: string | null, to: string | null): Promise<string> {
  const side = (text: string | null): DiffSide => world(project, owner, current, text)?.files ?? 'empty';
  return engine.diff(side(from), side(to));
}

/** The latest migration's snapshot text, or null when it has none (or there is no migration). */
export function latestSnapshot(migrations: MigrationFiles[]): string | null {
  const latest = migrations.at(-1);
  return latest && existsSync(latest.snapshotPath) ? readFileSync(latest.snapshotPath, 'utf8') : null;
}

/**
 * Replays each owner's history (one shadow for all) and compares it with its latest snapshot,
 * or with its schema when it has no snapshot. Owners without migrations have nothing to replay.
 *
 * @example
 *   const drift = await findDrift(project, project.owners, current);
 *   drift.map((d) => `${d.owner}: ${d.sql}`);
 */
export async function findDrift(project: Project, owners: Owner[], current: Map<string, string>): Promise<Drift[]> {
  // Folders that cannot be read, and requirements that cannot be met, are other checks'
  // problems: the owners they concern (and those that depend on them) are left out here.
  const files = new Map<string, MigrationFiles[]>();
  for (const o of new Set([...project.owners, ...owners])) {
    try {
      files.set(o.name, readMigrations(o.migrationsDir));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
  }
  const readable = (o: Owner) => replayChain(project, o).every((c) => files.has(c.name));
  const replayed = owners.filter((o) => readable(o) && files.get(o.name)!.length > 0);
  if (replayed.length === 0) return [];
  const session: ReplaySession = await openReplaySession(project, project.owners.filter((o) => files.has(o.name)), files);
  const found: Drift[] = [];
  try {
    if (project.owners.every(readable) && (await noDriftAtAll(session, project, files, current))) return [];
    for (const owner of replayed) {
      const list = files.get(owner.name)!;
      const snapshot = latestSnapshot(list);
      let text: string;
      try {
        text = (await session.produced(owner, current)).text;
      } catch (error) {
        if (error instanceof CheckError) continue;
        throw error;
      }
      const target = snapshot ?? current.get(owner.name)!;
      const sql = await diffOwnerTexts(session.engine, project, owner, current, text, target);
      if (sql === '') continue;
      const file = snapshot !== null ? relativePath(project, list.at(-1)!.snapshotPath) : relativePath(project, owner.schemaPath);
      found.push({ owner: owner.name, against: snapshot !== null ? 'snapshot' : 'schema', file, sql, migrations: list.length });
    }
  } finally {
    await session.close();
  }
  return found;
}

/**
 * The common case in one replay: every enabled owner's history, replayed together, produces
 * exactly the composition of their latest snapshots (their schemas where they have none). Only
 * when it does not is each owner replayed on its own, to say whose history differs.
 */
async function noDriftAtAll(session: ReplaySession, project: Project, files: Map<string, MigrationFiles[]>, current: Map<string, string>): Promise<boolean> {
  let expected;
  try {
    const sources = project.owners.map((o) => ownerSource(project, o, latestSnapshot(files.get(o.name)!) ?? current.get(o.name)!));
    expected = compose(sources);
  } catch {
    // Snapshots taken at different times need not compose; the per-owner comparison says more.
    return false;
  }
  try {
    await session.replayAll();
  } catch (error) {
    // A requirement no migration meets: the per-owner replays leave that owner out.
    if (error instanceof CheckError) return false;
    throw error;
  }
  return (await session.engine.diffTo(expected.files)) === '';
}

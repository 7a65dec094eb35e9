/**
 * `orchestrate diff --owner X --from <state> --to <state>`: the SQL between two states of one
 * owner, for review — like `prisma migrate diff`, but per owner, the rest of its world (core,
 * dependencies) held at their current schemas. stdout holds the SQL and nothing else.
 */
import { UsageError } from '../errors.js';
import { readMigrations } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import { readSchemaText, relativePath } from '../schema/sources.js';
import { diffOwnerTexts, latestSnapshot, type OwnerState } from '../shadow/drift.js';
import { openReplaySession } from '../shadow/produce.js';
import { contextProject, type CommandResult, type Context } from './context.js';

export const STATES: readonly OwnerState[] = ['migrations', 'snapshot', 'schema'];

export interface DiffOptions {
  owner?: string;
  from?: string;
  to?: string;
}

export interface DiffData {
  owner: string;
  from: OwnerState;
  to: OwnerState;
  /** SQL taking a database in the `from` state to the `to` state; '' when they match. */
  sql: string;
}

function state(flag: '--from' | '--to', value: string | undefined): OwnerState {
  if (value === undefined) throw new UsageError(`${flag} is required: one of ${STATES.join(', ')} (e.g. \`orchestrate diff --owner core --from migrations --to schema\`).`);
  if (!(STATES as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} ${value} is not a state orchestrate can diff; use one of ${STATES.join(', ')}; comparing with a live database is not supported.`);
  }
  return value as OwnerState;
}

function findOwner(project: Project, name: string | undefined): Owner {
  if (name === undefined) throw new UsageError(`--owner is required: core or an enabled extension (${project.owners.map((o) => o.name).join(', ')}).`);
  const owner = project.owners.find((o) => o.name === name);
  if (owner) return owner;
  const hint = project.discovered.has(name) ? `it is not enabled; add it to APP_EXTENSIONS or --extensions` : `enabled owners: ${project.owners.map((o) => o.name).join(', ')}`;
  throw new UsageError(`--owner ${name} names no enabled owner; ${hint}.`);
}

/**
 * Prints the SQL from one state of an owner to another: `migrations` (its history replayed in a
 * shadow database, never the user's), `snapshot` (its latest migration's snapshot.prisma) or `schema`
 * (its schema file now).
 *
 * @example
 *   const { data } = await diff(ctx, { owner: 'core', from: 'migrations', to: 'schema' });
 *   data.sql; // e.g. 'CREATE INDEX "session_replay_visit_id_idx" ...'
 */
export async function diff(ctx: Context, opts: DiffOptions): Promise<CommandResult<DiffData>> {
  const from = state('--from', opts.from);
  const to = state('--to', opts.to);
  const project = contextProject(ctx);
  const owner = findOwner(project, opts.owner);
  const current = new Map(project.owners.map((o) => [o.name, readSchemaText(project, o)]));
  const migrations = readMigrations(owner.migrationsDir);
  const snapshot = (): string | null => {
    if (migrations.length === 0) return null;
    const text = latestSnapshot(migrations);
    if (text === null) {
      const rel = relativePath(project, migrations.at(-1)!.dir);
      throw new UsageError(`${rel} has no snapshot.prisma (a history adopted from Prisma Migrate); compare with --from migrations instead, which replays the history.`);
    }
    return text;
  };
  // Refused before the shadow database starts.
  const snapshotText = from === 'snapshot' || to === 'snapshot' ? snapshot() : null;
  // One shadow serves the replay and the engine's diffs.
  const session = await openReplaySession(project, project.owners);
  let sql: string;
  try {
    const text = async (s: OwnerState): Promise<string | null> => {
      if (s === 'schema') return current.get(owner.name)!;
      if (s === 'snapshot') return snapshotText;
      return migrations.length === 0 ? null : (await session.produced(owner, current)).text;
    };
    const fromText = await text(from);
    const toText = from === to ? fromText : await text(to);
    sql = await diffOwnerTexts(session.engine, project, owner, current, fromText, toText);
  } finally {
    await session.close();
  }
  if (sql === '') ctx.reporter.info(`No difference: ${owner.name}'s ${from} and ${to} describe the same database.`);
  return { data: { owner: owner.name, from, to, sql }, text: sql };
}

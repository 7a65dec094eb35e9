/**
 * Replay: what an owner's migrations produce, found by running them (after those of core and its
 * dependencies, in `migrate`'s order) into a shadow database with the same planner and runner
 * `migrate` uses.
 */
import { randomUUID } from 'node:crypto';
import { planUpgrade, type Step } from '../apply/plan.js';
import { buildState } from '../apply/state.js';
import { EMPTY_HISTORY } from '../db/history.js';
import { runPlan, snippet } from '../db/runner.js';
import { UsageError, databaseErrorFields } from '../errors.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import { transitiveDependencies, type Owner, type Project } from '../project/project.js';
import { relativePath } from '../schema/sources.js';
import type { Objects, ShadowDatabase } from './database.js';

export interface Replay {
  owner: Owner;
  /** Core, the owner's dependencies and the owner, in the order they were replayed. */
  chain: Owner[];
  /** Migrations replayed per owner of the chain. */
  migrations: Map<string, number>;
  /** What existed before the owner's own migrations ran (the other owners' objects). */
  before: Objects;
  /** What exists after them. */
  after: Objects;
  /** Milliseconds spent applying migrations (the shadow's start not included). */
  applyMs: number;
}

/** Core, `owner`'s transitive dependencies and `owner`, in project (= migrate) order. */
export function replayChain(project: Project, owner: Owner): Owner[] {
  if (owner.kind === 'core') return [project.core];
  const wanted = new Set([project.core.name, owner.name, ...transitiveDependencies(owner, project).map((d) => d.name)]);
  const inOrder = project.owners.filter((o) => wanted.has(o.name));
  // An owner that is not enabled still replays after what it depends on.
  return inOrder.some((o) => o.name === owner.name) ? inOrder : [...inOrder, owner];
}

/**
 * Replays `owner`'s history, after core's and its dependencies', into `shadow`, which is emptied
 * first (one shadow serves several replays: starting it is the slow part). The history tables
 * the runner writes are dropped afterwards: what remains is what the migrations produce.
 *
 * @example
 *   const shadow = await openShadow('postgresql', scripts);
 *   const replay = await replayOwner(project, project.core, shadow);
 */
export async function replayOwner(project: Project, owner: Owner, shadow: ShadowDatabase, files?: Map<string, MigrationFiles[]>, chain = replayChain(project, owner)): Promise<Replay> {
  const read = new Map(chain.map((o) => [o.name, files?.get(o.name) ?? readMigrations(o.migrationsDir)]));
  const state = buildState(chain, read, { ...EMPTY_HISTORY, schema: shadow.driver.schema }, shadow.driver.dialect);
  const plan = planUpgrade(state, chain.map((o) => o.name), { newId: randomUUID });
  await shadow.reset();
  const started = process.hrtime.bigint();
  const own = (s: Step) => s.owner === owner.name;
  await run(project, shadow, { ...plan, steps: plan.steps.filter((s) => !own(s)) });
  const before = await shadow.objects();
  await run(project, shadow, { ...plan, steps: plan.steps.filter(own) });
  const drop = chain.map((o) => shadow.driver.dialect.dropHistoryTable({ schema: shadow.driver.schema, name: o.historyTable })).join('\n');
  await shadow.driver.exec(drop);
  const applyMs = Number(process.hrtime.bigint() - started) / 1e6;
  const after = await shadow.objects();
  const migrations = new Map(chain.map((o) => [o.name, read.get(o.name)!.length]));
  return { owner, chain, migrations, before, after, applyMs };
}

/**
 * Replays every enabled owner's history, in `migrate`'s order, into `shadow` (emptied first):
 * the database a fresh `migrate --all` builds.
 */
export async function replayAll(project: Project, shadow: ShadowDatabase, files?: Map<string, MigrationFiles[]>): Promise<Replay> {
  return replayOwner(project, project.owners.at(-1)!, shadow, files, project.owners);
}

async function run(project: Project, shadow: ShadowDatabase, plan: Parameters<typeof runPlan>[1]): Promise<void> {
  const result = await runPlan(shadow.driver, plan);
  if (!result.failed) return;
  const { step, error, statement } = result.failed;
  const name = step.kind === 'apply' ? `${step.owner}/${step.migration}` : step.owner;
  const where = step.kind === 'apply' ? relativePath(project, step.file) : step.table;
  const at = statement ? ` at line ${statement.line} (\`${snippet(statement.text)}\`)` : '';
  const message = databaseErrorFields(error).message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  throw new UsageError(
    `Replaying the migrations into a shadow database failed in ${name} (${where}${at}): ${message}; a history must replay on an empty database to be compared with a schema, so fix that migration.`,
    { code: 'migrations', owner: step.owner, ...(step.kind === 'apply' ? { migration: step.migration } : {}), cause: error },
  );
}

/**
 * The one place a fleet run reaches the single-database migration: everything else under
 * src/fleet/ sees only `migrateDatabase`. Each database is one orchestrator of the public API
 * (plan, then apply under that database's migration lock: idempotent and resumable).
 */
import { createOrchestrator } from '../api/orchestrator.js';
import { RuntimeError } from '../errors.js';

export interface ProjectRef {
  /** Project root (prisma/ and extensions/). */
  root: string;
  /** Enabled extensions (comma separated), as --extensions; undefined: APP_EXTENSIONS. */
  extensions?: string;
  env?: NodeJS.ProcessEnv;
}

export interface DatabaseOutcome {
  /** `owner/migration` applied by this run, in order. */
  applied: string[];
  /** Already applied before the run. */
  skipped: number;
  /** Pending after the run (with a plan: what a run would apply). */
  remaining: string[];
  /** With `sql`: the script a run would execute. */
  sql?: string;
}

/** A migration failed: what was applied before it is in `outcome`. */
export class DatabaseFailure extends RuntimeError {
  readonly outcome: DatabaseOutcome;
  constructor(message: string, outcome: DatabaseOutcome, cause: unknown) {
    super(message, { cause });
    this.outcome = outcome;
  }
}

/**
 * Migrates one database. With `plan`, reads what a run would apply and touches nothing (with
 * `sql` too, the exact script). Throws the library's typed errors when the database cannot be
 * reached or the project is wrong, and `DatabaseFailure` when a migration fails.
 */
export async function migrateDatabase(
  project: ProjectRef,
  url: string,
  options: { plan?: boolean; sql?: boolean; signal?: AbortSignal } = {},
): Promise<DatabaseOutcome> {
  return untilAborted(run(project, url, options), options.signal);
}

async function run(project: ProjectRef, url: string, options: { plan?: boolean; sql?: boolean; signal?: AbortSignal }): Promise<DatabaseOutcome> {
  const orchestrator = createOrchestrator({
    root: project.root,
    database: url,
    extensions: project.extensions === undefined ? undefined : project.extensions.split(',').map((e) => e.trim()).filter(Boolean),
    env: project.env,
  });
  try {
    const plan = await orchestrator.planUpgrade();
    const skipped = plan.owners.reduce((n, o) => n + o.alreadyApplied.length, 0);
    const planned = plan.owners.flatMap((o) => o.migrations.map((m) => `${o.owner}/${m}`));
    const beyond = plan.owners.flatMap((o) => o.remaining.map((m) => `${o.owner}/${m}`));
    if (options.plan || options.sql) return { applied: [], skipped, remaining: [...planned, ...beyond], sql: options.sql ? orchestrator.sql(plan) : undefined };
    if (planned.length === 0) return { applied: [], skipped, remaining: beyond };
    const result = await orchestrator.apply(plan, { signal: options.signal });
    const applied = result.results.filter((r) => r.status === 'Success').map((r) => `${r.owner}/${r.migration}`);
    const notRun = result.results.filter((r) => r.status !== 'Success').map((r) => `${r.owner}/${r.migration}`);
    const outcome = { applied, skipped: skipped + result.alreadyDone.length, remaining: [...notRun, ...beyond] };
    if (result.error) throw new DatabaseFailure(result.error.problem.message, outcome, result.error.cause);
    if (result.aborted) throw new DatabaseFailure('interrupted between two migrations; a rerun resumes.', outcome, undefined);
    return outcome;
  } finally {
    await orchestrator.close();
  }
}

/**
 * `work`, or a rejection as soon as `signal` fires. The orchestrator stops between two
 * migrations on its own, but not while it waits for the lock or a statement: the CLI ends the
 * process after the report, which closes the connection, and the server rolls back what was in
 * progress.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {}); // settles after the report, if at all
      reject(new RuntimeError('interrupted while migrating; the migration in progress is rolled back when the connection closes, and a rerun resumes.'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

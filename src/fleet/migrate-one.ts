/**
 * The one place a fleet run reaches the single-database migrate: everything else under
 * src/fleet/ sees only `migrateDatabase`. It runs today's `migrate` in-process with a context
 * pointed at the tenant's URL (idempotent, under the database's migration lock, resumable).
 */
import { migrate } from '../commands/migrate.js';
import { makeContext, type Reporter } from '../commands/context.js';
import { status } from '../commands/status.js';
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
  /** Pending after the run (with --plan: what a run would apply). */
  remaining: string[];
  /** With `plan`: the SQL a run would execute. */
  sql?: string;
}

const quiet: Reporter = { info() {}, warn() {} };

/**
 * Migrates one database. With `plan`, reads what a run would apply and touches nothing (with
 * `sql` too, the exact script). Throws the typed errors of `migrate` when the database refuses
 * a migration or cannot be reached.
 */
export async function migrateDatabase(
  project: ProjectRef,
  url: string,
  options: { plan?: boolean; sql?: boolean; signal?: AbortSignal } = {},
): Promise<DatabaseOutcome> {
  const ctx = makeContext({ cwd: project.root, url, extensions: project.extensions }, quiet, project.env ?? process.env);
  if (options.plan || options.sql) {
    const { data } = await status(ctx, { all: true });
    const remaining = data.owners.flatMap((o) => o.migrations.filter((m) => m.status === 'pending').map((m) => `${o.owner}/${m.migration}`));
    const skipped = data.owners.reduce((n, o) => n + o.counts.applied, 0);
    const sql = options.sql ? (await migrate(ctx, { all: true, sql: true })).data.sql : undefined;
    return { applied: [], skipped, remaining, sql };
  }
  const { data } = await untilAborted(migrate(ctx, { all: true }), options.signal);
  return {
    applied: data.owners.flatMap((o) => o.applied.map((a) => `${o.owner}/${a.migration}`)),
    skipped: data.owners.reduce((n, o) => n + o.skipped.length, 0),
    remaining: data.owners.flatMap((o) => o.remaining.map((m) => `${o.owner}/${m}`)),
  };
}

/**
 * `work`, or a rejection as soon as `signal` fires. The single-database migrate takes no signal
 * yet, so an interrupted run's connection is closed by the process ending (the CLI exits after
 * the report): the server then rolls back the migration in progress and frees the lock.
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

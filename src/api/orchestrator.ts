/**
 * The public entry: one object per project, over the same pieces the CLI uses
 * (apply/state → apply/plan → apply/render → db/runner, and the revision planner).
 */
import { loadState } from '../apply/load.js';
import { renderPlan } from '../apply/render.js';
import type { State } from '../apply/state.js';
import { loadSettings, prepareSettings } from '../config/settings.js';
import { assertNotCitusWorker } from '../db/citus.js';
import type { Driver } from '../db/driver.js';
import { dialectFor } from '../db/dialects.js';
import { UsageError } from '../errors.js';
import { loadProject, selectOwners, type Project } from '../project/project.js';
import { projectProvider } from '../project/provider.js';
import {
  downgradeRequest,
  lockedApply,
  planRequest,
  upgradeRequest,
  type ApplyResult,
  type DowngradeRequest,
  type EventHandler,
  type OrchestratePlan,
  type UpgradeRequest,
} from './apply.js';
import { checkProject, type CheckReport } from './check.js';
import { databaseSourceOf, type RunContext } from './context.js';
import { planRevision, writeRevision, type RevisionPlanData, type RevisionRequest, type RevisionWritten } from './revision.js';
import { statusOf, type StatusData } from './status.js';

export interface OrchestratorOptions {
  /** The project root: the folder holding prisma/ and extensions/ (and orchestrate.config.json). */
  root: string;
  /**
   * A PostgreSQL URL, or a `file:` URL for a project whose core datasource is SQLite (relative
   * to `root`). Omitted: DATABASE_URL, else the datasource URL of prisma.config.ts, else the
   * embedded database in `<root>/.orchestrate/pglite` (SQLite: `<root>/.orchestrate/sqlite/dev.db`).
   */
  database?: string;
  /** Enabled extensions. Omitted: APP_EXTENSIONS. */
  extensions?: string[];
  /** How revision diffs schemas: Prisma's schema engine in-process (default) or the Prisma CLI. */
  engine?: 'wasm' | 'prisma-cli';
  /** Environment read for DATABASE_URL, APP_EXTENSIONS and libpq's PG* variables; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Notices (which database is used, waiting for a lock) and the events of every `apply`. */
  onEvent?: EventHandler;
}

export interface ApplyOptions {
  /** Progress of this run (in addition to the orchestrator's `onEvent`). */
  onEvent?: EventHandler;
  /** Stops the run between two migrations; the rest are reported NotExecuted. */
  signal?: AbortSignal;
}

export interface Orchestrator {
  /** Per owner: applied, pending, failed, edited and missing migrations. Reads only. */
  status(options?: { owners?: string[] }): Promise<StatusData>;
  /** What `apply` would run to bring the owners up to date (or to `target`). Reads only. */
  planUpgrade(options?: UpgradeRequest): Promise<OrchestratePlan>;
  /** What `apply` would roll back. Reads only. */
  planDowngrade(options: DowngradeRequest): Promise<OrchestratePlan>;
  /** The exact SQL a plan runs, history bookkeeping included (what `--sql` prints). */
  sql(plan: OrchestratePlan): string;
  /**
   * Runs a plan under the migration lock. The plan is made again under the lock, so several
   * processes may apply the same plan at once: each migration runs once. A failing migration is
   * a result (`ok: false`, its problem in `error`), not a throw.
   */
  apply(plan: OrchestratePlan, options?: ApplyOptions): Promise<ApplyResult>;
  /** Diffs each owner's schema against what its migrations produce; writes nothing. */
  planRevision(options?: RevisionRequest): Promise<RevisionPlanData>;
  /** Writes the migrations of a plan from `planRevision`. */
  writeRevision(plan: RevisionPlanData): Promise<RevisionWritten>;
  /** Every problem of the project and its database, as data. */
  check(): Promise<CheckReport>;
  /** Closes the database connection; the orchestrator cannot be used afterwards. */
  close(): Promise<void>;
}

/**
 * @example
 *   const orchestrator = createOrchestrator({ root: '/app', database: process.env.DATABASE_URL });
 *   try {
 *     const result = await orchestrator.apply(await orchestrator.planUpgrade());
 *     if (!result.ok) throw new Error(result.error?.problem.message ?? 'migration stopped');
 *   } finally {
 *     await orchestrator.close();
 *   }
 */
export function createOrchestrator(options: OrchestratorOptions): Orchestrator {
  if (options.database !== undefined && options.database.trim() === '') {
    throw new UsageError('createOrchestrator: `database` is an empty string; pass a postgresql:// URL, or leave it out for DATABASE_URL or the embedded database.');
  }
  const notify = options.onEvent ?? (() => {});
  const ctx: RunContext = {
    root: options.root,
    globals: { url: options.database, extensions: options.extensions?.join(',') },
    env: options.env ?? process.env,
    reporter: { info: (message) => notify({ type: 'notice', message }), warn: (message) => notify({ type: 'notice', message }) },
  };
  // Explicit extensions replace APP_EXTENSIONS, as --extensions does; an empty list means none.
  if (options.extensions !== undefined && options.extensions.length === 0) ctx.globals.extensions = '';

  let db: Driver | null = null;
  let closed = false;
  // One operation at a time: they share one connection, and a connection runs one transaction.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new UsageError('This orchestrator is closed; create another one.'));
    const run = queue.then(async () => {
      await prepareSettings(ctx.root);
      return fn();
    });
    queue = run.catch(() => {});
    return run;
  };

  const project = (): Project => loadProject(loadSettings(ctx.root), { extensions: ctx.globals.extensions, env: ctx.env });

  /** The shared connection; with `readOnly`, an embedded database that does not exist yet is null. */
  const connection = async (readOnly: boolean, p: Project): Promise<Driver | null> => {
    if (db && db.alive) return db;
    if (db) await db.close().catch(() => {});
    const { openDatabase } = await import('../db/connect.js');
    const opened = await openDatabase(databaseSourceOf(ctx), { lockKey: p.settings.lockKey, readOnly, provider: projectProvider(p) });
    // A Citus worker node has no history tables: everything would look pending there.
    if (opened) await assertNotCitusWorker(opened).catch(async (error) => {
      await opened.close().catch(() => {});
      throw error;
    });
    db = opened;
    return db;
  };
  /** The embedded database allows one opener per process: let the revision planner and check open it. */
  const releaseEmbedded = async () => {
    if (db?.embedded) {
      const open = db;
      db = null;
      await open.close();
    }
  };
  const readState = async (p: Project): Promise<{ state: State; database: string }> => {
    const conn = await connection(true, p);
    return { state: await loadState(conn, p), database: conn?.location ?? 'the embedded database (not created yet)' };
  };

  return {
    status: (opts = {}) =>
      exclusive(async () => {
        const p = project();
        const selected = new Set(selectOwners(p, opts.owners?.length ? { core: opts.owners.includes('core'), extension: opts.owners.filter((o) => o !== 'core') } : { all: true }).map((o) => o.name));
        const { state, database } = await readState(p);
        return statusOf(state, database, selected);
      }),
    planUpgrade: (opts = {}) =>
      exclusive(async () => {
        const p = project();
        const { state, database } = await readState(p);
        const request = upgradeRequest(p, state, opts);
        return { ...planRequest(state, request), database, request };
      }),
    planDowngrade: (opts) =>
      exclusive(async () => {
        const p = project();
        const { state, database } = await readState(p);
        const request = downgradeRequest(p, state, opts);
        return { ...planRequest(state, request), database, request };
      }),
    sql: (plan) => renderPlan(plan, db?.dialect ?? dialectFor(projectProvider(project())), `orchestrate ${plan.command} plan for ${plan.database}`),
    apply: (plan, opts = {}) =>
      exclusive(async () => {
        const p = project();
        const conn = (await connection(false, p))!;
        const onEvent: EventHandler = (event) => {
          notify(event);
          opts.onEvent?.(event);
        };
        return lockedApply(conn, p, plan, { onEvent, signal: opts.signal });
      }),
    planRevision: (opts = {}) =>
      exclusive(async () => {
        await releaseEmbedded();
        return planRevision(ctx, { engine: options.engine, ...opts });
      }),
    writeRevision: (plan) => exclusive(async () => writeRevision(plan)),
    check: () =>
      exclusive(async () => {
        await releaseEmbedded();
        return checkProject(ctx);
      }),
    close: async () => {
      if (closed) return;
      await queue;
      closed = true;
      const open = db;
      db = null;
      await open?.close();
    },
  };
}

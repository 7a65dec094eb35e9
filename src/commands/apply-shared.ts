/** Pieces shared by the commands that read or change applied state (migrate, downgrade, status, ...). */
import { loadState } from '../apply/load.js';
import type { State } from '../apply/state.js';
import { openDatabase, type OpenOptions } from '../db/connect.js';
import { describeHolder, type Driver, type LockHolder } from '../db/driver.js';
import { InterruptedError, UsageError } from '../errors.js';
import { projectProvider } from '../project/provider.js';
import { selectOwners, type Owner, type Project, type Selection } from '../project/project.js';
import { databaseSource, type Context } from './context.js';
import { disabledHistoryTables, type DisabledTable } from '../api/warnings.js';

/**
 * The applied state of every enabled owner, read without taking the migration lock
 * (status, history, current). `database` says where it came from.
 */
export async function readState(
  ctx: Context,
  project: Project,
  options: { disabledTables?: boolean } = {},
): Promise<{ state: State; database: string; disabledTables: DisabledTable[] }> {
  const db = await openDatabase(databaseSource(ctx), { lockKey: project.settings.lockKey, readOnly: true, provider: projectProvider(project) });
  try {
    const state = await loadState(db, project);
    const disabledTables = db && options.disabledTables ? await disabledHistoryTables(db, project) : [];
    return { state, database: db?.location ?? 'the embedded database (not created yet)', disabledTables };
  } finally {
    await db?.close();
  }
}

/** The line a run prints while it waits for the migration lock (at once, then every 10 s). */
export function lockWaitLine(holder: LockHolder | null): string {
  return `Waiting for another orchestrate run to finish: the migration lock is held by ${describeHolder(holder)}...`;
}

/** `--lock-timeout` seconds as the driver takes them. */
export const lockOptions = (seconds: number | undefined) => (seconds === undefined ? {} : { timeoutMs: seconds * 1000 });
/** `--lock-timeout` for the embedded database, whose lock is taken when it opens. */
export const lockFileWait = (seconds: number | undefined) => (seconds === undefined ? {} : { lockTimeoutMs: seconds * 1000 });

/**
 * Opens the run's database, or gives up as soon as `signal` aborts: nothing runs on the server
 * yet, and a connection that opens afterwards is closed at once.
 */
export function openInterruptible(ctx: Context, options: OpenOptions, signal: AbortSignal | undefined): Promise<Driver | null> {
  const opening = openDatabase(databaseSource(ctx), options);
  if (!signal) return opening;
  const interrupted = () => new InterruptedError('Interrupted while connecting to the database; nothing was run.');
  const closeLater = () => void opening.then((db) => db?.close(), () => {});
  if (signal.aborted) {
    closeLater();
    return Promise.reject(interrupted());
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      closeLater();
      reject(interrupted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    opening.then(
      (db) => {
        signal.removeEventListener('abort', onAbort);
        resolve(db);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs `work` on `db` (the lock wait, reading the history) so that a signal cancels what the
 * server is doing and ends the command with an InterruptedError saying nothing was run.
 */
export async function interruptible<T>(db: Driver, signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  const interrupted = (cause?: unknown) => new InterruptedError(`Interrupted while ${what}; nothing was run.`, { cause });
  if (signal.aborted) throw interrupted();
  let cancelling: Promise<void> | null = null;
  const cancel = () => {
    cancelling ??= db.cancel();
  };
  signal.addEventListener('abort', cancel, { once: true });
  try {
    const value = await work();
    if (signal.aborted) throw interrupted();
    return value;
  } catch (error) {
    if (signal.aborted && !(error instanceof InterruptedError)) throw interrupted(error);
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
    await (cancelling as Promise<void> | null);
  }
}

export const hasSelection = (s: Selection) => Boolean(s.core || s.all || (s.extension ?? []).length > 0);

/** An `[owner]` argument: `core` or an enabled extension. */
export function ownerArgument(project: Project, name: string, command: string): Owner {
  const found = project.owners.find((o) => o.name === name);
  if (found) return found;
  const valid = project.owners.map((o) => o.name).join(', ');
  if (project.discovered.has(name)) {
    throw new UsageError(
      `${command}: extension "${name}" exists but is not enabled; add it to APP_EXTENSIONS or --extensions (enabled owners: ${valid}).`,
    );
  }
  throw new UsageError(`${command}: unknown owner "${name}"; valid owners are ${valid}.`);
}

/**
 * How long to wait for the database: `--wait`, else `ORCHESTRATE_WAIT` (the container
 * entrypoint's setting), with the name messages should tell the user to raise.
 */
export function waitSetting(ctx: Context, flag: number | undefined): { waitSeconds?: number; waitSource?: string } {
  if (flag !== undefined) return { waitSeconds: flag, waitSource: '--wait' };
  const raw = ctx.env.ORCHESTRATE_WAIT;
  if (raw === undefined || raw.trim() === '') return {};
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`ORCHESTRATE_WAIT=${JSON.stringify(raw)} is not a number of seconds; set it to e.g. 30, or unset it.`);
  }
  return { waitSeconds: n, waitSource: 'ORCHESTRATE_WAIT' };
}

/**
 * The owners a reading command shows: the `[owner]` shorthand, or --core / --extension / --all,
 * or (neither) every enabled owner.
 */
export function chosenOwners(project: Project, opts: Selection & { owner?: string }, command: string): Owner[] {
  if (opts.owner !== undefined) {
    if (hasSelection(opts)) {
      throw new UsageError(`${command}: give the owner either as an argument (\`${command} ${opts.owner}\`) or with --core / --extension / --all, not both.`);
    }
    return [ownerArgument(project, opts.owner, command)];
  }
  return selectOwners(project, opts);
}

/** Milliseconds for humans: `12 ms`, `1.4 s`. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function timestampText(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '';
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Colours for stdout tables: only on a terminal, and never with NO_COLOR set. */
export function palette(ctx: Context): (code: string, text: string) => string {
  const on = Boolean(process.stdout.isTTY) && !ctx.env.NO_COLOR && ctx.env.TERM !== 'dumb';
  return (code, text) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
}

/** A left-aligned text table; `paint` colours a cell after padding so columns stay aligned. */
export function table(headers: string[], rows: string[][], indent = '  ', paint?: (row: number, col: number, text: string) => string): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], r: number) =>
    indent +
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return paint && r >= 0 ? paint(r, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(headers, -1), ...rows.map((r, i) => line(r, i))].join('\n');
}

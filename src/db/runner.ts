/**
 * Executes a plan on one connection, step by step and statement by statement, and reports what
 * happened as data: the steps done with their durations, and the failure or interruption (if
 * any) with the statement it happened in.
 */
import { assertTransactionSafe, roundTrips, type RoundTrip } from '../apply/render.js';
import type { Plan, Step } from '../apply/plan.js';
import { databaseErrorFields, isDatabaseErrorCode, isSqlState } from '../errors.js';
import type { Driver } from './driver.js';
import { codeOf } from './split.js';

export interface StepDone {
  step: Step;
  durationMs: number;
}

export interface FailedStatement {
  text: string;
  /** 1-based line in the migration's file (of the error's position when the server gave one). */
  line: number;
}

export interface StepFailed {
  step: Step;
  error: unknown;
  /** The statement the server rejected. */
  statement: FailedStatement | null;
  /** The failure came from the history bookkeeping or COMMIT rather than from the script. */
  atCommit: boolean;
  /** The failure came from creating the history table at the start of the transaction. */
  atHistoryTable: boolean;
  connectionLost: boolean;
  /** A migration without a transaction: its history row now records it as failed. */
  recordedFailed: boolean;
  /** The statement that records the step's history row as rolled back (for the fix a message gives). */
  markRolledBack: string;
}

export interface StepInterrupted {
  /** The step that was running, or null when the run stopped between two steps. */
  step: Step | null;
  /** With `step` null: the first step that did not run. */
  next: Step | null;
  /** Statements of the step's script that completed (they stay applied without a transaction). */
  statementsDone: number;
  /** A migration without a transaction: its history row records it as failed. */
  recordedFailed: boolean;
  markRolledBack: string;
}

export interface RunResult {
  done: StepDone[];
  failed: StepFailed | null;
  interrupted: StepInterrupted | null;
}

export interface RunOptions {
  /** Called after each completed step. */
  onStep?: (done: StepDone) => void;
  /** Called before each step runs, so a long migration can be named while it runs. */
  onStart?: (step: Step) => void;
  /**
   * Stops the run (Ctrl-C, SIGTERM): the statement running on the server is cancelled, the
   * step's transaction rolled back, and the result says where the run stopped.
   */
  signal?: AbortSignal;
}

type Outcome = { kind: 'done' } | { kind: 'failed'; failed: StepFailed } | { kind: 'interrupted'; interrupted: StepInterrupted };

/**
 * Runs every step in order and stops at the first failure or interruption, which is rolled back
 * when the step is transactional; steps before it stay done. Each statement of a migration is
 * its own round trip, so the failing one is known without running anything twice. `onStart`
 * hears of each step before it runs (a long migration is named while it runs), `onStep` after
 * it is done.
 *
 * @example
 *   const controller = new AbortController();
 *   process.once('SIGINT', () => controller.abort());
 *   const result = await runPlan(db, plan, { onStep: (d) => log(`${d.step.kind} in ${d.durationMs} ms`), signal: controller.signal });
 *   if (result.failed) throw new RuntimeError(describeFailure(result.failed));
 */
export async function runPlan(db: Driver, plan: Plan, options: RunOptions = {}): Promise<RunResult> {
  assertTransactionSafe(plan, db.dialect);
  await db.prepareFor?.(plan.steps.flatMap((s) => (s.kind === 'apply' || s.kind === 'revert' ? [{ sql: s.sql, where: s.file }] : [])));
  const { signal, onStep = () => {}, onStart = () => {} } = options;
  let cancelling: Promise<void> | null = null;
  const cancel = () => {
    cancelling ??= db.cancel();
  };
  signal?.addEventListener('abort', cancel, { once: true });
  const done: StepDone[] = [];
  try {
    for (const step of plan.steps) {
      if (signal?.aborted) return { done, failed: null, interrupted: { step: null, next: step, statementsDone: 0, recordedFailed: false, markRolledBack: '' } };
      onStart(step);
      const started = process.hrtime.bigint();
      const outcome = await runStep(db, step, plan.schema, signal, () => cancelling);
      if (outcome.kind === 'failed') return { done, failed: outcome.failed, interrupted: null };
      if (outcome.kind === 'interrupted') return { done, failed: null, interrupted: outcome.interrupted };
      const result = { step, durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6) };
      done.push(result);
      onStep(result);
    }
    return { done, failed: null, interrupted: null };
  } finally {
    signal?.removeEventListener('abort', cancel);
    // A cancel request still on its way must not reach whatever the session runs next.
    await (cancelling as Promise<void> | null);
  }
}

const transactional = (step: Step) => step.kind === 'stamp' || ((step.kind === 'apply' || step.kind === 'revert') && step.transactional);

/** The line of `position` (1-based, in the statement's text) in the file, else the line where its code starts. */
function failedStatement(trip: RoundTrip, error: unknown): FailedStatement {
  const statement = trip.statement!;
  const code = codeOf(statement);
  const position = Number(databaseErrorFields(error).position);
  if (Number.isInteger(position) && position > 0 && position <= statement.text.length + 1) {
    const before = statement.text.slice(0, position - 1);
    const line = statement.line + (before.match(/\n/g)?.length ?? 0);
    if (line >= code.line) return { text: code.text, line };
  }
  return code;
}

async function runStep(db: Driver, step: Step, schema: string, signal: AbortSignal | undefined, cancelling: () => Promise<void> | null): Promise<Outcome> {
  const trips = roundTrips(step, db.dialect, schema);
  const table = { schema, name: step.table };
  // The statement a user runs to record a half-applied migration as undone, in this database's SQL.
  const markRolledBack = 'id' in step ? db.dialect.markRolledBack(table, [step.id]) : '';
  // A step without a transaction whose first round trip (the unfinished history row) is done.
  let startedRow = false;
  let statementsDone = 0;
  let inTransaction = false;

  const stop = async (): Promise<Outcome> => {
    await cancelling();
    if ((inTransaction || transactional(step)) && db.alive) await db.exec(db.dialect.rollback).catch(() => {});
    let recordedFailed = false;
    if (startedRow && step.kind === 'apply') {
      const logs = `Interrupted before statement ${statementsDone + 1} of ${step.file} completed; the ${statementsDone} statement(s) before it were applied.`;
      // Even when this cannot be written, the unfinished row says "failed".
      if (db.alive) await db.exec(db.dialect.failHistoryRow(table, step.id, logs)).catch(() => {});
      recordedFailed = true;
    }
    return { kind: 'interrupted', interrupted: { step, next: null, statementsDone, recordedFailed, markRolledBack } };
  };

  for (const trip of trips) {
    // An embedded database answers without I/O, on this thread: let the event loop deliver a
    // pending signal before the next statement, or it would only be seen after the whole run.
    if (signal && db.embedded) await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) return stop();
    try {
      await db.exec(trip.sql);
    } catch (error) {
      if (signal?.aborted) return stop();
      const connectionLost = !db.alive || !isDatabaseErrorCode(databaseErrorFields(error).code);
      // (A stamp's single round trip opens its transaction itself: roll back whatever is open.)
      if ((inTransaction || transactional(step)) && !connectionLost) await db.exec(db.dialect.rollback).catch(() => {});
      const failure: StepFailed = { step, error, statement: null, atCommit: false, atHistoryTable: false, connectionLost, recordedFailed: false, markRolledBack };
      if (trip.statement) failure.statement = failedStatement(trip, error);
      else if (trip.historyTable) failure.atHistoryTable = true;
      else if (trip.finish || step.kind === 'apply') failure.atCommit = true;
      if (startedRow && step.kind === 'apply') {
        failure.recordedFailed = true;
        if (!connectionLost) {
          const where = failure.statement ? `line ${failure.statement.line} of ${step.file}` : step.file;
          const logs = `${serverMessage(error)} (at ${where}, after ${statementsDone} statement(s) that were applied)`;
          await db.exec(db.dialect.failHistoryRow(table, step.id, logs)).catch(() => {});
        }
      }
      return { kind: 'failed', failed: failure };
    }
    if (trip.sql === db.dialect.begin) inTransaction = true;
    else if (trip.finish) inTransaction = false;
    else if (trip.statement) statementsDone++;
    else if (!transactional(step) && step.kind === 'apply') startedRow = true;
  }
  return { kind: 'done' };
}

/** A statement on one line, shortened for a message. */
export function snippet(text: string, max = 120): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function serverMessage(error: unknown): string {
  const { message, code, detail } = databaseErrorFields(error);
  const base = message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  const extra = detail && detail.length <= 200 ? ` (${detail.replace(/\s+/g, ' ').replace(/\.$/, '')})` : '';
  return `${base}${extra}${isSqlState(code) ? ` [SQLSTATE ${code}]` : isDatabaseErrorCode(code) ? ` [${code}]` : ''}`;
}

/**
 * How to resolve a migration without a transaction that stopped partway: its history row says
 * "failed" and blocks the owner until it is stamped or marked rolled back (as with Prisma).
 */
function resolution(step: Step & { kind: 'apply' }, markRolledBack: string): string {
  return `finish or undo its changes by hand, then record it as applied with \`orchestrate stamp ${step.owner} ${step.migration}\` if they are complete, or as rolled back with \`${markRolledBack}\` if they are undone, and run migrate again`;
}

/** One sentence: which owner and migration, which statement, the server's message, what now. */
export function describeFailure(failed: StepFailed): string {
  const { step } = failed;
  const reason = serverMessage(failed.error);
  if (step.kind === 'create-history' || step.kind === 'drop-history') {
    return `Could not ${step.kind === 'create-history' ? 'create' : 'drop'} the history table ${step.table} of ${step.owner}: ${reason}; check that the database user may create tables in the schema of the history tables.`;
  }
  if (step.kind === 'stamp') {
    return `Could not record ${step.owner}/${step.migration} as applied in ${step.table}: ${reason}; nothing of this stamp was recorded.`;
  }
  const name = `${step.owner}/${step.migration}`;
  const up = step.kind === 'apply';
  const where = failed.statement
    ? `line ${failed.statement.line} of ${step.file}, \`${snippet(failed.statement.text)}\``
    : failed.atCommit
      ? step.transactional
        ? `at COMMIT (deferred constraints or the history row in ${step.table})`
        : `recording it in ${step.table}`
      : failed.atHistoryTable
        ? `creating the history table ${step.table}`
        : step.file;
  if (!step.transactional && up && failed.recordedFailed) {
    return `${name} failed at ${where}: ${reason}; it runs without a transaction, so the statements before that one stay applied, and ${step.table} records it as failed, which stops migrate for ${step.owner} until it is resolved: ${resolution(step, failed.markRolledBack)}.`;
  }
  if (failed.connectionLost) {
    return `${up ? '' : 'Rolling back '}${name} was interrupted because the connection to the database was lost (${reason}); ${step.transactional ? `the server rolls back its transaction, so it is ${up ? 'not applied' : 'still applied'}` : 'some of its statements may have run'}; check the database and run ${up ? 'migrate' : 'downgrade'} again.`;
  }
  if (!step.transactional) {
    return `${up ? '' : 'Rolling back '}${name} failed at ${where}: ${reason}; it runs without a transaction, so its statements before that one stay applied and it is ${up ? 'not recorded as applied' : 'still recorded as applied'}; undo them or make the script safe to re-run (e.g. IF NOT EXISTS), then run ${up ? 'migrate' : 'downgrade'} again.`;
  }
  return up
    ? `${name} failed and was rolled back, so nothing of it remains: ${where}: ${reason}; migrations applied before it stay applied; fix the migration and run migrate again.`
    : `Rolling back ${name} failed and was undone, so it stays applied: ${where}: ${reason}; fix its down.sql and run downgrade again.`;
}

const STEP_DOING: Record<Step['kind'], string> = {
  'create-history': 'creating the history table of',
  'drop-history': 'dropping the history table of',
  apply: 'applying',
  revert: 'rolling back',
  stamp: 'stamping',
};

function stepName(step: Step): string {
  return step.kind === 'create-history' || step.kind === 'drop-history' ? step.owner : `${step.owner}/${step.migration}`;
}

/**
 * One sentence for a run stopped by a signal: what was running, that nothing of it remains (or,
 * without a transaction, what does), and what to run next.
 */
export function describeInterruption(interrupted: StepInterrupted, done: StepDone[], command: Plan['command']): string {
  const verb = command === 'migrate' ? 'applied' : command === 'downgrade' ? 'rolled back' : 'recorded';
  const finished = done.filter((d) => d.step.kind === 'apply' || d.step.kind === 'revert' || d.step.kind === 'stamp').length;
  const before = finished === 0 ? `nothing was ${verb} before it` : `the ${finished} migration(s) ${verb} before it stay ${verb}`;
  const { step } = interrupted;
  if (!step) {
    return `Interrupted before ${STEP_DOING[interrupted.next!.kind]} ${stepName(interrupted.next!)}, which did not start; ${before}; run ${command} again to continue.`;
  }
  const name = stepName(step);
  if (step.kind === 'apply' && !step.transactional && (interrupted.statementsDone > 0 || interrupted.recordedFailed)) {
    return `Interrupted while applying ${name}, which runs without a transaction: ${interrupted.statementsDone} of its statements stay applied and ${step.table} records it as failed; ${resolution(step, interrupted.markRolledBack)}.`;
  }
  if (step.kind === 'revert' && !step.transactional && interrupted.statementsDone > 0) {
    return `Interrupted while rolling back ${name}, which runs without a transaction: ${interrupted.statementsDone} statement(s) of its down.sql ran and it is still recorded as applied; undo or finish them by hand, then run downgrade again.`;
  }
  const remains = step.kind === 'revert' ? 'its transaction was rolled back, so it stays applied and nothing of the rollback remains' : step.kind === 'stamp' ? 'nothing of it was recorded' : step.kind === 'apply' ? 'its transaction was rolled back, so nothing of it remains' : 'nothing of it remains';
  return `Interrupted while ${STEP_DOING[step.kind]} ${name}: ${remains}; ${before}; run ${command} again to continue.`;
}

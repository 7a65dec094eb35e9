/**
 * Executes a plan on one connection, step by step, and reports what happened as data: the
 * steps done with their durations, and the failure (if any) with the statement that caused it.
 */
import { assertTransactionSafe, chunks } from '../apply/render.js';
import type { Plan, Step } from '../apply/plan.js';
import { databaseErrorFields, isSqlState } from '../errors.js';
import type { Driver } from './driver.js';
import { codeOf, splitStatements, statementAt, withoutTransactionControl, type Statement } from './split.js';

export interface StepDone {
  step: Step;
  durationMs: number;
}

export interface FailedStatement {
  text: string;
  /** 1-based line in the migration's file. */
  line: number;
}

export interface StepFailed {
  step: Step;
  error: unknown;
  /** The statement the server rejected, when it could be found. */
  statement: FailedStatement | null;
  /** The failure came from the history bookkeeping or COMMIT rather than from the script. */
  atCommit: boolean;
  /** The failure came from creating the history table at the start of the transaction. */
  atHistoryTable: boolean;
  connectionLost: boolean;
}

export interface RunResult {
  done: StepDone[];
  failed: StepFailed | null;
}

/**
 * Runs every step in order and stops at the first failure, which is rolled back when the step
 * is transactional; steps before it stay done. `onStart` hears of each step before it runs (a
 * long migration is named while it runs), `onStep` after it is done.
 *
 * @example
 *   const result = await runPlan(db, plan, (d) => log(`${d.step.kind} in ${d.durationMs} ms`));
 *   if (result.failed) throw new RuntimeError(describeFailure(result.failed));
 */
export async function runPlan(db: Driver, plan: Plan, onStep: (done: StepDone) => void = () => {}, onStart: (step: Step) => void = () => {}): Promise<RunResult> {
  assertTransactionSafe(plan);
  const done: StepDone[] = [];
  for (const step of plan.steps) {
    onStart(step);
    const started = process.hrtime.bigint();
    const failed = await runStep(db, step);
    if (failed) return { done, failed };
    const result = { step, durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6) };
    done.push(result);
    onStep(result);
  }
  return { done, failed: null };
}

const transactional = (step: Step) => step.kind === 'stamp' || ((step.kind === 'apply' || step.kind === 'revert') && step.transactional);

async function runStep(db: Driver, step: Step): Promise<StepFailed | null> {
  const list = chunks(step, db.dialect);
  for (let i = 0; i < list.length; i++) {
    const chunk = list[i]!;
    try {
      await db.exec(chunk.sql);
    } catch (error) {
      const connectionLost = !db.alive || !isSqlState(databaseErrorFields(error).code);
      if (transactional(step) && !connectionLost) await db.exec(db.dialect.rollback).catch(() => {});
      const failure: StepFailed = { step, error, statement: null, atCommit: false, atHistoryTable: false, connectionLost };
      if (step.kind !== 'apply' && step.kind !== 'revert') return failure;
      if (chunk.bodyOffset === undefined) {
        failure.atCommit = true;
        return failure;
      }
      if (connectionLost) return failure;
      // Inside our transaction, BEGIN/COMMIT of the script were blanked out (see chunks); the
      // replay below must not run them either, or its rollback would not undo anything.
      const script = transactional(step) ? withoutTransactionControl(step.sql) : step.sql;
      const statements = splitStatements(script);
      if (chunk.scriptOffset !== undefined) {
        const s = statementAt(statements, chunk.scriptOffset);
        failure.statement = s ? codeOf(s) : null;
        return failure;
      }
      const position = Number(databaseErrorFields(error).position);
      const offset = position - 1 - chunk.bodyOffset;
      if (Number.isFinite(position) && position > 0 && offset < 0 && step.kind === 'apply' && step.createHistory) {
        failure.atHistoryTable = true;
        return failure;
      }
      if (Number.isFinite(position) && position > 0 && offset >= 0 && offset < step.sql.length) {
        const s = statementAt(statements, offset);
        failure.statement = s ? codeOf(s) : null;
        return failure;
      }
      // Errors found while executing (not parsing) carry no position: replay the statements one
      // by one in a transaction that is rolled back, to name the one that fails.
      const replayed = await replay(db, statements);
      if (replayed) {
        failure.statement = codeOf(replayed.statement);
        failure.error = replayed.error;
      }
      return failure;
    }
  }
  return null;
}

async function replay(db: Driver, statements: Statement[]): Promise<{ statement: Statement; error: unknown } | null> {
  try {
    await db.exec(db.dialect.begin);
  } catch {
    return null;
  }
  try {
    for (const statement of statements) {
      try {
        await db.exec(statement.text);
      } catch (error) {
        return { statement, error };
      }
    }
    return null;
  } finally {
    await db.exec(db.dialect.rollback).catch(() => {});
  }
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
  return `${base}${extra}${isSqlState(code) ? ` [SQLSTATE ${code}]` : ''}`;
}

/** One sentence: which owner and migration, which statement, the server's message, what now. */
export function describeFailure(failed: StepFailed): string {
  const { step } = failed;
  const reason = serverMessage(failed.error);
  if (step.kind === 'create-history' || step.kind === 'drop-history') {
    return `Could not ${step.kind === 'create-history' ? 'create' : 'drop'} the history table ${step.table} of ${step.owner}: ${reason}; check that the database user may create tables in the current schema.`;
  }
  if (step.kind === 'stamp') {
    return `Could not record ${step.owner}/${step.migration} as applied in ${step.table}: ${reason}; nothing of this stamp was recorded.`;
  }
  const name = `${step.owner}/${step.migration}`;
  const up = step.kind === 'apply';
  const where = failed.statement
    ? `line ${failed.statement.line} of ${step.file}, \`${snippet(failed.statement.text)}\``
    : failed.atCommit
      ? `at COMMIT (deferred constraints or the history row in ${step.table})`
      : failed.atHistoryTable
        ? `creating the history table ${step.table}`
        : step.file;
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

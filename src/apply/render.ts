/**
 * The SQL of a plan. The runner sends exactly these texts, one statement per round trip, and
 * `--sql` prints them as one script, so what a reviewer reads is what a run executes.
 */
import type { Dialect } from '../db/driver.js';
import { needsTerminator, transactionEndingStatements, withoutTransactionControl, type Splitter, type Statement } from '../db/split.js';
import { splitterFor } from '../db/splitter.js';
import { throwProblems, UsageError, type Problem } from '../errors.js';
import type { Plan, Step } from './plan.js';

/**
 * One round trip of a step. A migration's own statements go one per round trip, as psql sends
 * them: the server's answer then says which statement failed, and PostgreSQL variants that
 * refuse several commands in one query (Citus on distributed tables) run them as they are.
 */
export interface RoundTrip {
  sql: string;
  /** The statement of the step's script (migration.sql / down.sql) this round trip sends. */
  statement?: Statement;
  /** Creates the owner's history table inside the migration's transaction. */
  historyTable?: boolean;
  /** The history bookkeeping that completes the step (and its COMMIT, when transactional). */
  finish?: boolean;
}

/** A script followed by other SQL must end its last statement and its last comment. */
function closed(script: string, split: Splitter): string {
  let body = script.endsWith('\n') ? script : `${script}\n`;
  if (needsTerminator(script, split)) body += ';\n';
  return body;
}

/**
 * The statements of a script as they are sent. Inside our transaction, the script's own
 * top-level BEGIN/COMMIT are left out (see `withoutTransactionControl`, which blanks the same
 * statements in what `--sql` prints).
 */
function scriptStatements(script: string, transactional: boolean, split: Splitter): RoundTrip[] {
  const kept = transactional ? withoutTransactionControl(script, split) : script;
  return split(kept).map((statement) => ({ sql: statement.text, statement }));
}

/** SQL texts joined into one round trip, leaving out the ones a dialect does not need. */
const join = (...parts: (string | undefined)[]) => parts.filter((p) => p !== undefined && p !== '').join('\n');

/**
 * How a step is sent to the server, round trip by round trip. A transactional migration is
 * BEGIN, each of its statements, then the session reset, the history row and COMMIT in one last
 * round trip; a process killed anywhere before that COMMIT leaves an open transaction that the
 * server rolls back, so a migration is never half applied and never recorded without its effects.
 *
 * A migration without a transaction writes its history row first, unfinished (as Prisma does):
 * if a statement fails or the process dies, the row says "failed" and the run stops there until
 * someone resolves it, rather than running its first statements again.
 */
export function roundTrips(step: Step, dialect: Dialect, schema: string): RoundTrip[] {
  const table = { schema, name: step.table };
  const split = splitterFor(dialect);
  // SQLite: foreign keys off before BEGIN (a transaction ignores the pragma), checked before COMMIT.
  const begin: RoundTrip[] = [...(dialect.beforeBegin ? [{ sql: dialect.beforeBegin }] : []), { sql: dialect.begin }];
  switch (step.kind) {
    case 'create-history':
      return [{ sql: dialect.createHistoryTable(table) }];
    case 'drop-history':
      return [{ sql: dialect.dropHistoryTable(table) }];
    case 'apply': {
      const row = { id: step.id, checksum: step.checksum, migrationName: step.migration, appliedStepsCount: step.transactional ? 1 : 0, startedAt: null };
      if (step.transactional) {
        return [
          ...begin,
          ...(step.createHistory ? [{ sql: dialect.createHistoryTable(table), historyTable: true }] : []),
          ...scriptStatements(step.sql, true, split),
          { sql: join(dialect.resetSession, dialect.insertHistoryRow(table, row), dialect.beforeCommit, dialect.commit), finish: true },
        ];
      }
      return [
        { sql: dialect.insertHistoryRow(table, row, false) },
        ...scriptStatements(step.sql, false, split),
        { sql: join(dialect.resetSession, dialect.finishHistoryRow(table, step.id)), finish: true },
      ];
    }
    case 'revert': {
      const remove = dialect.deleteHistoryRow(table, step.rowId);
      if (step.transactional) {
        return [...begin, ...scriptStatements(step.sql, true, split), { sql: join(dialect.resetSession, remove, dialect.beforeCommit, dialect.commit), finish: true }];
      }
      return [...scriptStatements(step.sql, false, split), { sql: join(dialect.resetSession, remove), finish: true }];
    }
    case 'stamp': {
      const lines = [...begin.map((t) => t.sql)];
      if (step.rollBack.length > 0) lines.push(dialect.markRolledBack(table, step.rollBack));
      lines.push(dialect.insertHistoryRow(table, { id: step.id, checksum: step.checksum, migrationName: step.migration, appliedStepsCount: 0, startedAt: null }));
      if (dialect.beforeCommit) lines.push(dialect.beforeCommit);
      lines.push(dialect.commit);
      return [{ sql: lines.join('\n'), finish: true }];
    }
  }
}

export function stepTitle(step: Step): string {
  switch (step.kind) {
    case 'create-history':
      return `-- ${step.owner}: history table ${step.table}`;
    case 'drop-history':
      return `-- ${step.owner}: drop the empty history table ${step.table}`;
    case 'apply':
      return `-- ${step.owner}/${step.migration}${step.transactional ? '' : ' (no transaction)'}`;
    case 'revert':
      return `-- ${step.owner}/${step.migration} (down)${step.transactional ? '' : ' (no transaction)'}`;
    case 'stamp':
      return `-- ${step.owner}/${step.migration} (stamp: recorded as applied, not run)`;
  }
}

/**
 * The SQL text of one step as `--sql` prints it: the round trips, with the script printed whole
 * (its comments and blank lines included) where its statements go. psql splits it into the same
 * statements, so the printed script does what the run does.
 */
export function stepSql(step: Step, dialect: Dialect, schema: string): string {
  const trips = roundTrips(step, dialect, schema);
  if (step.kind !== 'apply' && step.kind !== 'revert') return trips.map((t) => t.sql).join('\n');
  const before = trips.filter((t) => !t.statement && !t.finish);
  const split = splitterFor(dialect);
  const script = closed(step.transactional ? withoutTransactionControl(step.sql, split) : step.sql, split);
  return [...before.map((t) => `${t.sql}\n`), script, trips.at(-1)!.sql].join('');
}

/**
 * The whole run as one script: runnable with `psql -v ON_ERROR_STOP=1 -f`, with a header comment
 * per step.
 */
export function renderPlan(plan: Plan, dialect: Dialect, header: string): string {
  assertTransactionSafe(plan, dialect);
  const parts = [`-- ${header}`];
  if (plan.steps.length === 0) parts.push('-- Nothing to do.');
  for (const step of plan.steps) parts.push(`\n${stepTitle(step)}\n${stepSql(step, dialect, plan.schema)}`);
  return `${parts.join('\n')}\n`;
}

/**
 * Refuses, before anything runs or is printed, a transactional script with a statement that
 * would end its transaction (`ROLLBACK`, `COMMIT AND CHAIN`, `PREPARE TRANSACTION`): the rest
 * of the script and its history row would then commit without it, or without each other.
 * (`BEGIN`/`COMMIT` pairs are harmless and blanked out, see `withoutTransactionControl`.)
 */
export function assertTransactionSafe(plan: Plan, dialect?: Pick<Dialect, 'provider'>): void {
  const split = splitterFor(dialect ?? { provider: 'postgresql' });
  const problems: Problem[] = [];
  for (const step of plan.steps) {
    if ((step.kind !== 'apply' && step.kind !== 'revert') || !step.transactional) continue;
    for (const s of transactionEndingStatements(step.sql, split)) {
      const statement = s.text.replace(/\s+/g, ' ');
      problems.push({
        code: 'transaction-control',
        owner: step.owner,
        migration: step.migration,
        file: step.file,
        line: s.line,
        message: `${step.file}: line ${s.line}, \`${statement}\`, would end the transaction ${step.owner}/${step.migration} ${step.kind === 'apply' ? 'is applied' : 'is rolled back'} in, together with its history row; remove it, or put \`-- orchestrate:no-transaction\` on the first line to run the script without a transaction.`,
      });
    }
  }
  throwProblems(problems, UsageError, '\nNothing was run.');
}

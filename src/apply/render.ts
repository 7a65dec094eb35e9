/**
 * The SQL of a plan. The runner sends exactly these texts (split into round trips), and `--sql`
 * prints them, so what a reviewer reads is what a run executes.
 */
import type { Dialect } from '../db/driver.js';
import { needsTerminator, splitStatements, transactionEndingStatements, withoutTransactionControl } from '../db/split.js';
import { throwProblems, UsageError, type Problem } from '../errors.js';
import type { Plan, Step } from './plan.js';

/** One round trip of a step. `body` marks where the migration's own SQL starts in `sql`. */
export interface Chunk {
  sql: string;
  /** Offset in `sql` of the step's own script (migration.sql / down.sql), when the chunk holds it. */
  bodyOffset?: number;
  /** Offset of this chunk's text inside that script (non-transactional statements). */
  scriptOffset?: number;
}

/** A script followed by other SQL must end its last statement and its last comment. */
function closed(script: string): string {
  let body = script.endsWith('\n') ? script : `${script}\n`;
  if (needsTerminator(script)) body += ';\n';
  return body;
}

/**
 * How a step is sent to the server. A transactional migration takes two round trips: its
 * script after BEGIN, then the history row with COMMIT; killing the process between them leaves
 * an open transaction that the server rolls back, so a migration is never half applied and never
 * recorded without its effects.
 */
export function chunks(step: Step, dialect: Dialect): Chunk[] {
  switch (step.kind) {
    case 'create-history':
      return [{ sql: dialect.createHistoryTable(step.table) }];
    case 'drop-history':
      return [{ sql: dialect.dropHistoryTable(step.table) }];
    case 'apply': {
      const insert = dialect.insertHistoryRow(step.table, {
        id: step.id,
        checksum: step.checksum,
        migrationName: step.migration,
        appliedStepsCount: 1,
        startedAt: null,
      });
      if (step.transactional) {
        const prefix = `${dialect.begin}\n${step.createHistory ? `${dialect.createHistoryTable(step.table)}\n` : ''}`;
        return [{ sql: prefix + closed(withoutTransactionControl(step.sql)), bodyOffset: prefix.length }, { sql: `${insert}\n${dialect.commit}` }];
      }
      // Outside a transaction each statement is its own round trip: PostgreSQL refuses
      // CREATE INDEX CONCURRENTLY inside a multi-statement query.
      return [...splitStatements(step.sql).map((s) => ({ sql: s.text, bodyOffset: 0, scriptOffset: s.start })), { sql: insert }];
    }
    case 'revert': {
      const remove = dialect.deleteHistoryRow(step.table, step.rowId);
      if (step.transactional) {
        const prefix = `${dialect.begin}\n`;
        return [{ sql: prefix + closed(withoutTransactionControl(step.sql)), bodyOffset: prefix.length }, { sql: `${remove}\n${dialect.commit}` }];
      }
      return [...splitStatements(step.sql).map((s) => ({ sql: s.text, bodyOffset: 0, scriptOffset: s.start })), { sql: remove }];
    }
    case 'stamp': {
      const lines = [dialect.begin];
      if (step.rollBack.length > 0) lines.push(dialect.markRolledBack(step.table, step.rollBack));
      lines.push(dialect.insertHistoryRow(step.table, { id: step.id, checksum: step.checksum, migrationName: step.migration, appliedStepsCount: 0, startedAt: null }));
      lines.push(dialect.commit);
      return [{ sql: lines.join('\n') }];
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

/** The SQL text of one step as `--sql` prints it. */
export function stepSql(step: Step, dialect: Dialect): string {
  if ((step.kind === 'apply' || step.kind === 'revert') && !step.transactional) {
    const last = chunks(step, dialect).at(-1)!;
    return `${closed(step.sql)}${last.sql}`;
  }
  return chunks(step, dialect)
    .map((c) => c.sql.replace(/\n$/, ''))
    .join('\n');
}

/**
 * The whole run as one script: runnable with `psql -v ON_ERROR_STOP=1 -f`, with a header comment
 * per step.
 */
export function renderPlan(plan: Plan, dialect: Dialect, header: string): string {
  assertTransactionSafe(plan);
  const parts = [`-- ${header}`];
  if (plan.steps.length === 0) parts.push('-- Nothing to do.');
  for (const step of plan.steps) parts.push(`\n${stepTitle(step)}\n${stepSql(step, dialect)}`);
  return `${parts.join('\n')}\n`;
}

/**
 * Refuses, before anything runs or is printed, a transactional script with a statement that
 * would end its transaction (`ROLLBACK`, `COMMIT AND CHAIN`, `PREPARE TRANSACTION`): the rest
 * of the script and its history row would then commit without it, or without each other.
 * (`BEGIN`/`COMMIT` pairs are harmless and blanked out, see `withoutTransactionControl`.)
 */
export function assertTransactionSafe(plan: Plan): void {
  const problems: Problem[] = [];
  for (const step of plan.steps) {
    if ((step.kind !== 'apply' && step.kind !== 'revert') || !step.transactional) continue;
    for (const s of transactionEndingStatements(step.sql)) {
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

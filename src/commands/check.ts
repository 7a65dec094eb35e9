/** `orchestrate check`: words the report of the check use case (src/api/check.ts). */
import { checkProject, type CheckOptions, type CheckReport } from '../api/check.js';
import type { Problem, ProblemCode } from '../errors.js';
import type { CommandResult, Context } from './context.js';

export type { CheckOptions };
export type ProblemKind = ProblemCode;

/** A problem as `check --json` prints it: `owner` is null for problems of the whole project. */
export type CheckProblem = Omit<Problem, 'owner'> & { owner: string | null };

/** check's report as `--json` prints it: every problem has an `owner` (null for the whole project). */
export type CheckData = Omit<CheckReport, 'problems' | 'notes'> & { problems: CheckProblem[] };

/**
 * Everything `revision --check` verifies, plus lint (naming, ownership, down.sql) and, when a
 * database is configured, orphan history tables and edited applied migrations; exit 3 when
 * there is any problem.
 *
 * @example
 *   const result = await check(ctx);
 *   result.data.problems.map((p) => p.code); // e.g. ['table-prefix', 'missing-down']
 */
export async function check(ctx: Context, opts: CheckOptions = {}): Promise<CommandResult<CheckData>> {
  const report = await checkProject(ctx, opts);
  for (const w of report.warnings) ctx.reporter.warn(w.message);
  const problems = report.problems.map((p): CheckProblem => ({ ...p, owner: p.owner ?? null }));
  const lines = problems.map((p) => `${p.code}${p.owner ? ` (${p.owner})` : ''}: ${p.message}`);
  lines.push(...report.notes);
  const { ok, owners, migrations, database, warnings, baselines } = report;
  if (ok) {
    lines.push(
      `ok: ${owners.length} owner(s) (${owners.join(', ')}), ${migrations} migration(s), schemas match their migrations${database.checked ? `, database ${database.location} consistent` : ''}.`,
    );
  } else {
    lines.push(`${problems.length} problem(s) found.`);
  }
  return { data: { ok, owners, migrations, database, problems, warnings, baselines }, text: lines.join('\n'), exitCode: ok ? 0 : 3 };
}

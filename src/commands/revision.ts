/**
 * `orchestrate revision`: words what the revision use case (src/api/revision.ts) planned and
 * wrote. Progress goes to the reporter (stderr) as each owner is diffed; the summary is the
 * result.
 */
import { checkData, planRevisionRun, writeRevisionRun, type RevisionData, type RevisionEntry, type RevisionOptions, type RevisionProgress } from '../api/revision.js';
import type { CommandResult, Context } from './context.js';

export type { RevisionData, RevisionEntry, RevisionOptions } from '../api/revision.js';

/** From this many owners on, the summary gives counts and only the owners with work. */
export const COMPACT_FROM = 50;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function progressLine(e: RevisionProgress): string {
  if (e.kind === 'start') return `Diffing ${plural(e.owners, 'owner')} (${e.changed} changed since their latest migration)...`;
  const width = String(e.total).length;
  const what = e.status === 'pending' ? (e.statements > 0 ? plural(e.statements, 'statement') : 'to write') : 'no changes';
  return `[${String(e.index).padStart(width)}/${e.total}] ${e.owner}: ${what} (${Math.round(e.durationMs)} ms)`;
}

function entryLine(e: RevisionEntry, empty: boolean): string {
  if (e.status === 'merged') return `${e.owner}: merged ${e.parents!.join(' and ')} in ${e.path}`;
  const detail = empty ? ' (empty, for hand-written SQL)' : ` (${plural(e.statements ?? 0, 'statement')})`;
  return `${e.owner}: created ${e.path}${detail}${e.replaced?.length ? `, replacing ${e.replaced.length} migration(s)` : ''}`;
}

/** The result's text: one line per owner with a new migration (counts first at 50+ owners). */
export function summary(data: RevisionData, empty = false): string {
  const lines: string[] = [];
  const work = data.owners.filter((o) => o.status !== 'unchanged');
  const compact = data.owners.length >= COMPACT_FROM;
  if (data.check) {
    if (compact) lines.push(`${plural(data.owners.length, 'owner')}: ${work.length} with changes without a migration, ${data.owners.length - work.length} unchanged.`);
    lines.push(...data.problems.map((p) => p.message));
    if (work.length === 0 && !compact) lines.push(`No changes: the migrations of ${data.owners.length} owner(s) match their schemas.`);
    return lines.join('\n');
  }
  if (compact) {
    const created = work.filter((o) => o.status === 'created').length;
    const merged = work.filter((o) => o.status === 'merged').length;
    lines.push(`${plural(data.owners.length, 'owner')}: ${created} new migration${created === 1 ? '' : 's'}${merged ? `, ${merged} merged` : ''}, ${data.owners.length - work.length} unchanged, ${plural(data.warnings.length, 'data-loss warning')}.`);
  }
  lines.push(...work.map((e) => entryLine(e, empty)));
  if (work.length === 0 && !compact) lines.push(`No changes: the migrations of ${data.owners.length} owner(s) match their schemas.`);
  return lines.join('\n');
}

/**
 * For each selected owner, diff what its migrations produce against its schema (the rest of its
 * world held at the current state) and write one new migration.
 */
export async function revision(ctx: Context, opts: RevisionOptions): Promise<CommandResult<RevisionData>> {
  const plan = await planRevisionRun(ctx, { ...opts, onProgress: (e) => ctx.reporter.info(progressLine(e)) });
  const data = opts.check ? checkData(plan) : await writeRevisionRun(plan, { signal: opts.signal });
  // Prisma's `migrate dev` wording, one line per statement, before the summary.
  for (const w of data.warnings) ctx.reporter.warn(`${w.owner}: ${w.message}`);
  return { data, text: summary(data, Boolean(opts.empty)), exitCode: data.check && data.problems.length > 0 ? 3 : 0 };
}

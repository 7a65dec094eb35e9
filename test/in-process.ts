/**
 * The public API in-process, for tests whose subject is data (written migrations, check's
 * report, applied history) rather than the CLI's wording or exit code: each CLI run pays a Node
 * start, module loading and its engine starts again.
 */
import { expect } from 'vitest';
import { createOrchestrator, type CheckReport, type RevisionRequest, type RevisionWritten } from '../src/index.js';
import type { CheckProblem } from '../src/commands/check.js';

/**
 * `revision` in-process through the public API: for fixtures whose generation is not what a test
 * is about (a CLI process per fixture costs a Node start and an engine start each time).
 */
export async function reviseInProcess(root: string, extensions: string[], request: RevisionRequest = {}, database?: string): Promise<RevisionWritten> {
  const orchestrator = createOrchestrator({ root, extensions, env: {}, ...(database !== undefined ? { database } : {}) });
  try {
    return await orchestrator.writeRevision(await orchestrator.planRevision(request));
  } finally {
    await orchestrator.close();
  }
}

export interface InProcessOptions {
  /** A postgresql:// URL; omitted: the embedded database in <root>/.orchestrate/pglite, if any. */
  database?: string;
  /** Read for ORCHESTRATE_STRICT and the like; DATABASE_URL and APP_EXTENSIONS of the test process are never read. */
  env?: Record<string, string>;
}

/** check's report as `check --json` prints it: `owner: null` for problems of the whole project, plus the notes the text ends with. */
export type CheckResult = Omit<CheckReport, 'problems'> & { problems: CheckProblem[] };

export async function checkData(root: string, extensions: string[], options: InProcessOptions = {}): Promise<CheckResult> {
  const orchestrator = createOrchestrator({ root, extensions, env: options.env ?? {}, ...(options.database !== undefined ? { database: options.database } : {}) });
  try {
    const report = await orchestrator.check();
    return { ...report, problems: report.problems.map((p) => ({ ...p, owner: p.owner ?? null })) };
  } finally {
    await orchestrator.close();
  }
}

/** Applies every pending migration of core and the given extensions; fails the test if one fails. */
export async function migrateInProcess(root: string, extensions: string[], database?: string): Promise<void> {
  const orchestrator = createOrchestrator({ root, extensions, env: {}, ...(database !== undefined ? { database } : {}) });
  try {
    const result = await orchestrator.apply(await orchestrator.planUpgrade());
    expect(result.error?.problem.message ?? null).toBeNull();
    expect(result.ok).toBe(true);
  } finally {
    await orchestrator.close();
  }
}

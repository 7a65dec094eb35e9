import { createOrchestrator, type CheckReport, type RevisionRequest, type RevisionWritten } from '../src/index.js';

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

/** `check` in-process: the report `check --json` prints, as data. */
export async function checkInProcess(root: string, extensions: string[], database?: string): Promise<CheckReport> {
  const orchestrator = createOrchestrator({ root, extensions, env: {}, ...(database !== undefined ? { database } : {}) });
  try {
    return await orchestrator.check();
  } finally {
    await orchestrator.close();
  }
}

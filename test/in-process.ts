import { createOrchestrator, type RevisionRequest, type RevisionWritten } from '../src/index.js';

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

/**
 * orchestrate as a library: per-owner Prisma migrations for a core schema plus extension
 * fragments. See docs/api.md.
 *
 * @example
 *   import { createOrchestrator } from 'orchestrate';
 *   const orchestrator = createOrchestrator({ root: process.cwd() });
 *   const result = await orchestrator.apply(await orchestrator.planUpgrade());
 *   await orchestrator.close();
 */
export { createOrchestrator } from './api/orchestrator.js';
export type { ApplyOptions, Orchestrator, OrchestratorOptions } from './api/orchestrator.js';
export type {
  ApplyFailure,
  ApplyResult,
  Direction,
  DowngradeRequest,
  EventHandler,
  MigrationResult,
  OrchestrateEvent,
  OrchestratePlan,
  PlanRequest,
  UpgradeRequest,
} from './api/apply.js';
export type { CheckReport } from './api/check.js';
export type { DataLossWarning, RevisionOwnerPlan, RevisionPlanData, RevisionProgress, RevisionRequest, RevisionWritten } from './api/revision.js';
export type { MigrationStatus, StatusData, StatusOwner } from './api/status.js';
export type { OwnerPlan, Step, Target } from './apply/plan.js';
export { CheckError, InputErrors, OrchestrateError, RuntimeError, UsageError } from './errors.js';
export type { ExitCode, Problem, ProblemCode } from './errors.js';

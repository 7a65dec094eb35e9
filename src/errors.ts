/**
 * Typed errors. Library code throws these; only the CLI entry turns them into exit codes.
 *
 * Exit codes: 1 runtime or database error, 2 usage or input error, 3 a check found a problem.
 */
export type ExitCode = 1 | 2 | 3;

export class OrchestrateError extends Error {
  readonly exitCode: ExitCode;
  /**
   * What the command had done when it failed, in the shape of its success data (e.g. the owners
   * of `migrate` with what was applied): `--json` error documents carry it beside `error`.
   */
  result?: unknown;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags, bad files, bad names: the user must change their input (exit 2). */
export class UsageError extends OrchestrateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
  }
}

/** Several input problems collected before reporting (exit 2), one sentence per line. */
export class InputErrors extends UsageError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

/** A check found a problem: pending changes, checksum mismatch, unmet dependency (exit 3). */
export class CheckError extends OrchestrateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 3, options);
  }
}

/** The database or the engine failed at run time (exit 1). */
export class RuntimeError extends OrchestrateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
  }
}

/** First line of an unknown error's message, for one-sentence reporting. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The fields a database error carries (the server session and PGlite use node-postgres' names). */
export interface DatabaseErrorFields {
  message: string;
  code?: string;
  position?: string | number;
  detail?: string;
  hint?: string;
}

export function databaseErrorFields(error: unknown): DatabaseErrorFields {
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>;
    return {
      message: typeof e.message === 'string' ? e.message : String(error),
      code: typeof e.code === 'string' ? e.code : undefined,
      position: typeof e.position === 'string' || typeof e.position === 'number' ? e.position : undefined,
      detail: typeof e.detail === 'string' ? e.detail : undefined,
      hint: typeof e.hint === 'string' ? e.hint : undefined,
    };
  }
  return { message: String(error) };
}

/** SQLSTATE codes are five characters; anything else (ECONNRESET...) is a connection problem. */
export function isSqlState(code: string | undefined): boolean {
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code);
}

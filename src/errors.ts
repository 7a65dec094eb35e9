/**
 * Typed errors. Library code throws these; only the CLI entry turns them into exit codes.
 *
 * Exit codes: 1 runtime or database error, 2 usage or input error, 3 a check found a problem.
 */
export type ExitCode = 1 | 2 | 3;

/**
 * What kind of problem a planner, a reader or `check` found. Code reads the code; only people
 * read the message.
 */
export type ProblemCode =
  /** Bad input with no more specific code (flags, config, names, manifests). */
  | 'input'
  /** A schema file is missing or does not parse. */
  | 'schema'
  /** Composition or Prisma validation failed (duplicate owners, bad `extend model`, invalid schema). */
  | 'composition'
  /** A generated migration would change another owner's objects. */
  | 'ownership'
  /** Schema changes without a migration (what `revision --check` reports). */
  | 'pending-changes'
  /** An extension's table (after `@@map`) does not start with `<name>_`. */
  | 'table-prefix'
  /** An extension's enum type (after `@@map`) does not start with `<name>_`. */
  | 'enum-prefix'
  /** A migrations folder cannot be read (a directory without migration.sql, no snapshot). */
  | 'migrations'
  /** A migration.sql or down.sql is not valid UTF-8 (refused before anything runs). */
  | 'encoding'
  /** A migration has no down.sql, so `downgrade` cannot roll it back. */
  | 'missing-down'
  /** A history table of an extension that is not enabled. */
  | 'orphan-history'
  /** An applied migration whose migration.sql changed since. */
  | 'checksum-mismatch'
  /** A migration that started and never finished in an earlier run. */
  | 'failed-migration'
  /** An applied migration whose folder is gone. */
  | 'missing-migration'
  /** A `-- orchestrate:requires` line names a migration that does not exist. */
  | 'unknown-requirement'
  /** A migration requires one that is not applied (applying it, or already applied). */
  | 'unmet-requirement'
  /** Rolling back a migration that an applied migration of another owner requires. */
  | 'required-by'
  /** `--target` names no migration, or one of several owners. */
  | 'unknown-target'
  | 'ambiguous-target'
  /** A transactional script holds a statement that would end its transaction. */
  | 'transaction-control'
  /** A migration failed while it ran (a result of `apply`, not a throw). */
  | 'migration-failed'
  /** A run stopped by a signal (SIGINT, SIGTERM, an aborted `AbortSignal`); a result, not a throw. */
  | 'interrupted'
  /** A migrations folder whose name does not start with a 14-digit timestamp (it would never run). */
  | 'migration-name'
  /** An extension folder that is not listed in the enabled extensions. */
  | 'disabled-extension'
  /** What an owner's migrations produce (replayed in a shadow) differs from its snapshot or schema. */
  | 'drift'
  /** An owner's history has two heads (migrations made on two branches from one parent). */
  | 'multiple-heads';

/**
 * One problem, as data: what kind, where (owner, migration, file, line) and one sentence for
 * people. `file` is as the message names it (project-relative for schema files).
 */
export interface Problem {
  code: ProblemCode;
  owner?: string;
  migration?: string;
  file?: string;
  line?: number;
  message: string;
  /** SQL that would reconcile the difference (drift). */
  sql?: string;
}

export interface ErrorOptions {
  cause?: unknown;
  /** The problems behind the error; defaults to one problem holding the message. */
  problems?: Problem[];
  /** The code, owner and migration of that default problem. */
  code?: ProblemCode;
  owner?: string;
  migration?: string;
  /** What the command had done when it failed (see `OrchestrateError.result`). */
  result?: unknown;
}

export class OrchestrateError extends Error {
  readonly exitCode: ExitCode;
  /** The same as data: one entry per sentence of the message. */
  readonly problems: Problem[];
  /**
   * What the command had done when it failed, in the shape of its success data (e.g. the owners
   * of `migrate` with what was applied): `--json` error documents carry it beside `error`.
   */
  result?: unknown;
  constructor(message: string, exitCode: ExitCode, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    const { code = 'input', owner, migration } = options;
    if (options.result !== undefined) this.result = options.result;
    this.problems = options.problems ?? [{ code, ...(owner === undefined ? {} : { owner }), ...(migration === undefined ? {} : { migration }), message }];
  }
}

/** Bad flags, bad files, bad names: the user must change their input (exit 2). */
export class UsageError extends OrchestrateError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** Several input problems collected before reporting (exit 2), one sentence per line. */
export class InputErrors extends UsageError {
  constructor(problems: (string | Problem)[]) {
    const list = problems.map((p): Problem => (typeof p === 'string' ? { code: 'input', message: p } : p));
    super(list.map((p) => p.message).join('\n'), { problems: list });
  }
}

/** A check found a problem: pending changes, checksum mismatch, unmet dependency (exit 3). */
export class CheckError extends OrchestrateError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 3, options);
  }
}

/** The database or the engine failed at run time (exit 1). */
export class RuntimeError extends OrchestrateError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 1, options);
  }
}

/**
 * A run stopped by a signal (Ctrl-C, SIGTERM) after cancelling what the database was doing; the
 * message says what remains. The CLI exits 128 + the signal's number (130, 143).
 */
export class InterruptedError extends OrchestrateError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 1, options);
  }
}

/** Throws the problems as one error, their messages one per line (nothing when there are none). */
export function throwProblems(problems: Problem[], Kind: typeof UsageError | typeof CheckError, suffix = ''): void {
  if (problems.length === 0) return;
  throw new Kind(problems.map((p) => p.message).join('\n') + suffix, { problems });
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

/** A code the database gave a failed statement (SQLSTATE, or SQLite's result codes), not a lost connection. */
export function isDatabaseErrorCode(code: string | undefined): boolean {
  return isSqlState(code) || (code !== undefined && /^SQLITE_[A-Z_]+$/.test(code));
}

/** SQLSTATE codes are five characters; anything else (ECONNRESET...) is a connection problem. */
export function isSqlState(code: string | undefined): boolean {
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code);
}

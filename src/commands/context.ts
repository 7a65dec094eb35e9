import path from 'node:path';
import { loadSettings, type Settings } from '../config/settings.js';
import { explicitDatabaseUrl } from '../db/url.js';
import { UsageError } from '../errors.js';
import { isDirectory, loadProject, type Project } from '../project/project.js';

/** Flags every command accepts. */
export interface GlobalOptions {
  cwd?: string;
  extensions?: string;
  url?: string;
  json?: boolean;
  verbose?: boolean;
}

/** Where commands send human progress lines (stderr in the CLI, a buffer in tests). */
export interface Reporter {
  info(line: string): void;
  warn(line: string): void;
}

export const silentReporter: Reporter = { info() {}, warn() {} };

export interface Context {
  root: string;
  globals: GlobalOptions;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  /** Asks a yes/no question on a terminal; absent when nobody can answer (scripts, CI). */
  confirm?: (question: string) => Promise<boolean>;
}

/** What a command hands back to the CLI: data for `--json`, lines for humans, an exit code. */
export interface CommandResult<T = unknown> {
  data: T;
  text: string;
  /** 1: some work failed and the data says which (fleet); 130: interrupted by a signal. */
  exitCode?: 0 | 1 | 3 | 130;
}

export function makeContext(globals: GlobalOptions, reporter: Reporter = silentReporter, env: NodeJS.ProcessEnv = process.env): Context {
  const root = path.resolve(globals.cwd ?? process.cwd());
  if (globals.cwd !== undefined && !isDirectory(root)) {
    throw new UsageError(`--cwd ${globals.cwd}: no such directory (${root}); point it at the project root, the folder holding prisma/ and extensions/.`);
  }
  return { root, globals, env, reporter };
}

export function contextSettings(ctx: Context): Settings {
  return loadSettings(ctx.root);
}

export function contextProject(ctx: Context): Project {
  return loadProject(contextSettings(ctx), { extensions: ctx.globals.extensions, env: ctx.env });
}

/** The database URL: `--url`, else `DATABASE_URL`; undefined means "use the embedded database" (an empty one is a usage error). */
export function explicitUrl(ctx: Context): string | undefined {
  return explicitDatabaseUrl({ url: ctx.globals.url, env: ctx.env })?.url;
}

/** The database settings of a command, as the db layer takes them. */
export { databaseSourceOf as databaseSource } from '../api/context.js';

/**
 * What a use case needs to know about its run: the project root, the database and extension
 * choices, the environment, and where progress notes go. The CLI builds one from its flags;
 * `createOrchestrator` builds one from its options. Nothing here reads flags or prints.
 */
import type { DatabaseSource } from '../db/connect.js';

export interface RunContext {
  root: string;
  globals: {
    /** A database URL; undefined falls back to DATABASE_URL, prisma.config.ts, then the embedded database. */
    url?: string;
    /** Enabled extensions, comma separated; undefined means APP_EXTENSIONS. */
    extensions?: string;
  };
  env: NodeJS.ProcessEnv;
  reporter: { info(line: string): void; warn(line: string): void };
}

/** The database settings of a run, as the db layer takes them. */
export function databaseSourceOf(ctx: RunContext): DatabaseSource {
  return { root: ctx.root, url: ctx.globals.url, env: ctx.env, info: (line) => ctx.reporter.info(line) };
}

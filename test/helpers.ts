import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(REPO, 'dist/cli.js');
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export const DATASOURCE = 'datasource db {\n  provider = "postgresql"\n}\n';
export const GENERATOR = 'generator client {\n  provider = "prisma-client"\n  output   = "../generated/client"\n}\n';

/** A temp directory outside the repository, removed by the returned cleanup. */
export function tempDir(prefix = 'orch-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ProjectSpec {
  core?: string;
  extensions?: Record<string, { schema?: string; manifest?: object | string }>;
  files?: Record<string, string>;
}

/** Writes a project tree: `core` is the body after the datasource block. */
export function writeProject(dir: string, spec: ProjectSpec): void {
  mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), DATASOURCE + '\n' + (spec.core ?? ''));
  for (const [name, ext] of Object.entries(spec.extensions ?? {})) {
    const extDir = path.join(dir, 'extensions', name);
    mkdirSync(extDir, { recursive: true });
    if (ext.schema !== undefined) writeFileSync(path.join(extDir, 'schema.prisma'), ext.schema);
    if (ext.manifest !== undefined) {
      writeFileSync(path.join(extDir, 'extension.json'), typeof ext.manifest === 'string' ? ext.manifest : JSON.stringify(ext.manifest, null, 2));
    }
  }
  for (const [file, content] of Object.entries(spec.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
}

/** What a CLI run left: its exit, and its output as text. */
export interface CliResult {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a process; never throws on a non-zero exit. */
export async function runCli(cwd: string, args: string[], env: Record<string, string | undefined> = {}, options: { timeout?: number } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, ...args], {
    cwd,
    reject: false,
    env: { APP_EXTENSIONS: '', DATABASE_URL: undefined, NO_COLOR: '1', ...env },
    extendEnv: true,
    timeout: options.timeout ?? 55_000,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh, uniquely named PostgreSQL database; `drop` removes it (with open connections). */
export async function createDatabase(prefix = 'orch_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs one query on a database URL and returns the rows. */
export async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * A comparable description of the user-visible schema: tables, columns, constraints, indexes,
 * enum types. Two databases with the same snapshot have the same schema.
 */
export async function catalogSnapshot(url: string): Promise<string> {
  const parts = await Promise.all([
    query(url, `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema='public' AND table_name NOT LIKE '\\_prisma\\_migrations%' ORDER BY 1,2`),
    query(url, `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace='public'::regnamespace AND conrelid::regclass::text NOT LIKE '\\_prisma\\_migrations%' ORDER BY 1,2`),
    query(url, `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname='public' AND tablename NOT LIKE '\\_prisma\\_migrations%' ORDER BY 1,2`),
    query(url, `SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid=t.oid WHERE t.typnamespace='public'::regnamespace ORDER BY 1, e.enumsortorder`),
  ]);
  return JSON.stringify(parts, null, 1);
}

import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { RuntimeError, UsageError } from '../errors.js';
import { ensureBridgeExecutable } from './bridge-location.js';
import { normaliseScript, oneLine, type DiffEngine, type DiffSide } from './engine.js';

export interface PrismaCliEngineOptions {
  /**
   * The database URL, accepted for parity with the in-process engine. A diff between two
   * schemas never connects to a database (the bridge answers the engine's start-up probe
   * itself), so it is not passed on.
   */
  url?: string;
  /** The project root: the Prisma CLI runs here (with a scratch config, see `runPrismaCli`). */
  cwd: string;
  /** Environment for the Prisma CLI (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface PrismaCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const require = createRequire(import.meta.url);

function prismaPackageDir(): string {
  try {
    return path.dirname(require.resolve('prisma/package.json'));
  } catch (error) {
    throw new RuntimeError('The `prisma` package is not installed next to orchestrate; install it (`pnpm add prisma@7.10.0`) to use the Prisma CLI.', { cause: error });
  }
}

/** The Prisma CLI entry (`prisma/build/index.js`) of the `prisma` package this tool depends on. */
export function prismaCliEntry(): string {
  return path.join(prismaPackageDir(), 'build/index.js');
}

/**
 * The schema engine the Prisma CLI would use without the bridge: one named by
 * PRISMA_SCHEMA_ENGINE_BINARY (or its old name), or a native binary that `@prisma/engines`
 * downloaded at install time. `null` means the CLI would try to download one.
 */
export function configuredSchemaEngine(env: NodeJS.ProcessEnv): string | null {
  for (const key of ['PRISMA_SCHEMA_ENGINE_BINARY', 'PRISMA_MIGRATION_ENGINE_BINARY']) {
    const value = env[key];
    if (value && value.trim() !== '') return value;
  }
  try {
    const fromPrisma = createRequire(path.join(prismaPackageDir(), 'package.json'));
    const enginesDir = path.dirname(fromPrisma.resolve('@prisma/engines/package.json'));
    const native = readdirSync(enginesDir).find((name) => name.startsWith('schema-engine-'));
    return native ? path.join(enginesDir, native) : null;
  } catch {
    return null;
  }
}

/**
 * The environment for running the Prisma CLI with nothing to download: the bridge as schema
 * engine unless a native one is configured, and no update check or telemetry (both would try
 * the network). `scratchDir` may receive a small wrapper script (see `ensureBridgeExecutable`).
 */
export async function prismaCliEnv(base: NodeJS.ProcessEnv, scratchDir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  env.CHECKPOINT_DISABLE ??= '1';
  env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';
  env.NO_COLOR ??= '1';
  // The config loader (jiti) would otherwise keep a transpile cache on disk.
  env.JITI_FS_CACHE ??= 'false';
  if (!configuredSchemaEngine(base)) env.PRISMA_SCHEMA_ENGINE_BINARY = await ensureBridgeExecutable(scratchDir);
  return env;
}

/**
 * Runs the Prisma CLI with `prismaCliEnv` and a scratch `prisma.config.mjs` (`--config`), so
 * that the project's own prisma.config.ts, which may require environment variables, is not
 * loaded. Never throws on a non-zero exit.
 *
 * @example
 *   const { exitCode, stdout } = await runPrismaCli(['--version'], { cwd, scratchDir });
 */
export async function runPrismaCli(
  args: string[],
  options: { cwd: string; scratchDir: string; env?: NodeJS.ProcessEnv; config?: string },
): Promise<PrismaCliResult> {
  const configFile = path.join(options.scratchDir, 'prisma.config.mjs');
  await writeFile(configFile, options.config ?? 'export default {};\n');
  const env = await prismaCliEnv(options.env ?? process.env, options.scratchDir);
  const withConfig = args[0] === '--version' || args[0] === '-v' ? args : [...args, '--config', configFile];
  const result = await execa(process.execPath, [prismaCliEntry(), ...withConfig], {
    cwd: options.cwd,
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    timeout: 300_000,
  });
  const stderr = String(result.stderr ?? '');
  return {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout ?? ''),
    stderr: result.exitCode === undefined && result.failed ? `${stderr}${result.shortMessage}` : stderr,
  };
}

/**
 * A `DiffEngine` that runs `prisma migrate diff --script` through the Prisma CLI, once per
 * diff, with each side written as a schema folder in a temporary directory outside the
 * project (removed afterwards, also on error). Without a native engine, the CLI runs the same
 * wasm engine as `startWasmEngine` through the bridge, so scripts are byte-identical.
 *
 * @example
 *   const engine = await startPrismaCliEngine({ cwd: project.settings.root });
 *   const sql = await engine.diff('empty', [{ path: 'prisma/schema.prisma', content }]);
 */
export async function startPrismaCliEngine(options: PrismaCliEngineOptions): Promise<DiffEngine> {
  // Fail here, before any diff, when the CLI is missing or the cwd is wrong.
  prismaCliEntry();
  if (!existsSync(options.cwd)) throw new UsageError(`The project directory ${options.cwd} does not exist; pass an existing --cwd.`);
  return {
    name: 'prisma-cli',
    async diff(from, to) {
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'orchestrate-diff-'));
      try {
        const names = new Map<string, string>();
        const args = ['migrate', 'diff', ...(await writeSide(scratch, 'from', from, names)), ...(await writeSide(scratch, 'to', to, names)), '--script'];
        const result = await runPrismaCli(args, { cwd: options.cwd, scratchDir: scratch, env: options.env });
        if (result.exitCode !== 0) {
          throw new UsageError(`Prisma's schema engine could not diff the schemas: ${cliErrorMessage(result, names, options.cwd)}`);
        }
        // The CLI prints the script, then `console.log`s its command's (empty) return value.
        return normaliseScript(result.stdout.endsWith('\n') ? result.stdout.slice(0, -1) : result.stdout);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    async close() {},
  };
}

/**
 * Writes one side as a schema folder. Files are numbered so that the CLI, which reads a
 * folder in name order, sees them in the given order: the engine emits statements in
 * declaration order, and the in-process engine gets the list as it is.
 */
async function writeSide(scratch: string, label: 'from' | 'to', side: DiffSide, names: Map<string, string>): Promise<string[]> {
  if (side === 'empty') return [`--${label}-empty`];
  const dir = path.join(scratch, label);
  await mkdir(dir);
  await Promise.all(
    side.map(async (file, i) => {
      const base = path.basename(file.path).replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.prisma$/, '');
      const name = path.join(dir, `${String(i).padStart(4, '0')}_${base}.prisma`);
      names.set(name, file.path);
      await writeFile(name, file.content);
    }),
  );
  return [`--${label}-schema`, dir];
}

/** The CLI's error output without its banner lines, with scratch file names mapped back. */
function cliErrorMessage(result: PrismaCliResult, names: Map<string, string>, cwd: string): string {
  let text = (result.stderr.trim() || result.stdout.trim() || `the Prisma CLI exited with code ${result.exitCode}`)
    .split('\n')
    .filter((line) => !/^(Loaded Prisma config from|Prisma schema loaded from|Prisma config detected)/.test(line))
    .join('\n')
    .trim()
    .replace(/^Error: (P\d{4}\s+)?/, '')
    .trim();
  // The CLI shows file names relative to its cwd; absolute ones first, they contain the others.
  const pairs = [...names].flatMap(([scratchName, original]) => [
    [scratchName, original],
    [path.relative(cwd, scratchName), original],
  ]);
  for (const [scratchName, original] of pairs) text = text.split(scratchName!).join(original!);
  return oneLine(text);
}

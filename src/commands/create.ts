import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings, type Settings } from '../config/settings.js';
import { OrchestrateError, RuntimeError, UsageError } from '../errors.js';
import { readMigrations } from '../migrations/folder.js';
import { assertInsideRoot, discoverExtensions, isDirectory, loadProject, parseExtensionList, validateExtensionName } from '../project/project.js';
import type { ApplyFailure } from '../api/apply.js';
import { createOrchestrator } from '../api/orchestrator.js';
import { explicitDatabaseUrl } from '../db/url.js';
import type { RevisionWritten } from '../api/revision.js';
import { duration, plural } from './apply-shared.js';
import type { CommandResult, Context } from './context.js';
import type { MigrateData } from './migrate.js';

export interface CreateOptions {
  /** Write a fragment without the sample model (and so no initial migration). */
  skipModel?: boolean;
  /** Generate the initial migration but do not apply it. */
  skipMigrate?: boolean;
}

export interface CreateData {
  command: 'create' | 'init';
  extension: string;
  /** The extension's folder, relative to the project root. */
  folder: string;
  /** Files `create` wrote before generating the migration (relative paths); empty for `init`. */
  files: string[];
  /** The sample model and its table, or null (`--skip-model`, `init`). */
  model: { name: string; table: string } | null;
  /** The initial migration, or null when the fragment declares nothing yet. */
  migration: string | null;
  revision: RevisionWritten;
  /** The `migrate` result, or null with `--skip-migrate` or without a migration. */
  migrate: MigrateData | null;
  /** Whether APP_EXTENSIONS (or --extensions) already lists the extension. */
  enabled: boolean;
  /** The line that enables it, e.g. `APP_EXTENSIONS=billing,crm,loyalty`; null when enabled. */
  enableWith: string | null;
}

/** `loyalty_points` → `LoyaltyPoints`: the sample model's name. */
export function modelName(extension: string): string {
  return extension
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

export function sampleFragment(extension: string): { text: string; model: string; table: string } {
  const model = `${modelName(extension)}Item`;
  const table = `${extension}_items`;
  const text = `// Extension "${extension}": its own models and enums, and \`extend model\` blocks that add
// fields to core models. Prefix table and enum names with "${extension}_" (\`orchestrate check\`
// reports those that are not), so they never clash with core or another extension.

model ${model} {
  id        Int      @id @default(autoincrement())
  name      String
  createdAt DateTime @default(now())

  @@map("${table}")
}

// To relate items to a core model, add the foreign key here and the back-relation to it:
//   userId Int?
//   user   User? @relation(fields: [userId], references: [id])
// extend model User {
//   ${model[0]!.toLowerCase()}${model.slice(1)}s ${model}[]
// }
`;
  return { text, model, table };
}

export function emptyFragment(extension: string): string {
  return `// Extension "${extension}": declare its models and enums here (tables prefixed "${extension}_",
// e.g. @@map("${extension}_items")), and add fields to core models with \`extend model User { ... }\`.
// Then run \`orchestrate revision --extension ${extension} -m <name>\` to generate the migration.
`;
}

/** The enabled-extension list of this run (`--extensions`, else APP_EXTENSIONS) and where it came from. */
function requestedExtensions(ctx: Context): { names: string[]; source: string } {
  const source = ctx.globals.extensions !== undefined ? '--extensions' : 'APP_EXTENSIONS';
  return { names: parseExtensionList(ctx.globals.extensions ?? ctx.env.APP_EXTENSIONS, source), source };
}

/**
 * Removes what a command wrote when it fails or is interrupted (Ctrl-C, SIGTERM): nothing
 * half-written stays in the project. `release()` keeps the files.
 */
function undoOnFailure(undo: () => void): { release: () => void; run: () => void } {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    detach();
    undo();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    run();
    // With no other listener, let the signal end the process as it would have.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const detach = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    release: () => {
      done = true;
      detach();
    },
    run,
  };
}

interface Steps {
  revision: RevisionWritten;
  migrate: MigrateData | null;
  migration: string | null;
  lines: string[];
}

/**
 * Generates the extension's initial migration and applies it, with the extension enabled for
 * this run even when APP_EXTENSIONS does not list it yet. Through the public API: the same
 * planner and runner as `revision` and `migrate`, without their wording.
 */
async function generateAndApply(ctx: Context, extension: string, others: string[], opts: CreateOptions): Promise<Steps> {
  explicitDatabaseUrl({ url: ctx.globals.url, env: ctx.env }); // an empty --url or DATABASE_URL is refused here, in the CLI's words
  const orchestrator = createOrchestrator({
    root: ctx.root,
    database: ctx.globals.url,
    extensions: [...others, extension],
    env: ctx.env,
    onEvent: (event) => {
      if (event.type === 'notice') ctx.reporter.info(event.message);
      else if (event.type === 'lock:wait') ctx.reporter.info('Waiting for another orchestrate run to finish (it holds the migration lock)...');
      else if (event.type === 'migration:end') ctx.reporter.info(`Applied ${event.owner}/${event.migration} (${duration(event.durationMs)})`);
    },
  });
  try {
    const written = await orchestrator.writeRevision(await orchestrator.planRevision({ owners: [extension], name: 'init' }));
    const entry = written.owners.find((o) => o.owner === extension);
    if (entry?.status !== 'created' || !entry.migration) {
      return { revision: written, migrate: null, migration: null, lines: [`${extension}: the fragment declares nothing yet, so there is no initial migration; add models, then run \`orchestrate revision --extension ${extension} -m <name>\`.`] };
    }
    const lines = [`${extension}: created ${entry.path} (${plural(entry.statements ?? 0, 'statement')})`];
    if (opts.skipMigrate) {
      lines.push(`Not applied (--skip-migrate); once "${extension}" is enabled, apply it with \`orchestrate migrate --extension ${extension}\` (or now: \`orchestrate --extensions ${[...others, extension].join(',')} migrate --extension ${extension}\`).`);
      return { revision: written, migrate: null, migration: entry.migration, lines };
    }
    const plan = await orchestrator.planUpgrade({ owners: [extension] });
    const result = await orchestrator.apply(plan);
    if (result.error) throw new MigrationFailed(result.error);
    const applied = result.results.filter((r) => r.status === 'Success');
    const owners = plan.owners.map((o) => ({
      owner: o.owner,
      historyTable: o.historyTable,
      applied: applied.filter((r) => r.owner === o.owner).map((r) => ({ migration: r.migration, durationMs: r.durationMs ?? 0 })),
      skipped: o.alreadyApplied,
      remaining: o.remaining,
      failed: null,
    }));
    lines.push(`Applied ${plural(applied.length, 'migration')} (${extension}: ${applied.length}) in ${duration(result.durationMs)}.`);
    return { revision: written, migrate: { database: plan.database, owners, applied: applied.length, durationMs: result.durationMs, warnings: [], schemaChanges: [] }, migration: entry.migration, lines };
  } finally {
    await orchestrator.close();
  }
}

/** The initial migration failed to apply: a result of the run, carried out of the scaffold's undo. */
class MigrationFailed extends Error {
  constructor(readonly failure: ApplyFailure) {
    super(failure.problem.message);
  }
}

function enableHint(extension: string, requested: { names: string[]; source: string }): { enabled: boolean; enableWith: string | null; line: string | null } {
  if (requested.names.includes(extension)) return { enabled: true, enableWith: null, line: null };
  const list = [...requested.names, extension].join(',');
  const enableWith = `APP_EXTENSIONS=${list}`;
  const line =
    requested.source === '--extensions'
      ? `"${extension}" is not in --extensions: pass --extensions ${list}, or set ${enableWith} in the environment.`
      : `"${extension}" is not enabled yet: add this line to the environment (.env, Docker, CI):\n  ${enableWith}`;
  return { enabled: false, enableWith, line };
}

/** Checks the rest of the project (config, manifests, other enabled extensions) before anything is written. */
function loadOthers(ctx: Context, extension: string): { settings: Settings; requested: { names: string[]; source: string }; others: string[] } {
  const settings = loadSettings(ctx.root);
  const requested = requestedExtensions(ctx);
  const others = requested.names.filter((n) => n !== extension);
  loadProject(settings, { extensions: others.join(','), env: ctx.env });
  return { settings, requested, others };
}

const rel = (settings: Settings, p: string) => path.relative(settings.root, p).split(path.sep).join('/') || '.';

/**
 * `orchestrate create <name>`: scaffolds `extensions/<name>/` (manifest, fragment with a sample
 * model whose table is prefixed `<name>_`), generates its initial migration and applies it.
 * Anything it wrote is removed again when a later step fails.
 *
 * @example
 *   const result = await create(ctx, 'loyalty', {});
 *   result.data.migration; // '20250101120000_init'
 */
export async function create(ctx: Context, extension: string, opts: CreateOptions): Promise<CommandResult<CreateData>> {
  validateExtensionName(extension, 'create');
  // An existing folder is the most specific problem: say it before checking the rest.
  const existing = path.join(loadSettings(ctx.root).extensionsDir, extension);
  if (existsSync(existing)) {
    const settings = loadSettings(ctx.root);
    throw new UsageError(
      `create ${extension}: ${rel(settings, existing)} already exists; choose another name, or run \`orchestrate init ${extension}\` to add migrations to that folder.`,
    );
  }
  const { settings, requested, others } = loadOthers(ctx, extension);
  const folder = path.join(settings.extensionsDir, extension);
  if (existsSync(folder)) {
    throw new UsageError(
      `create ${extension}: ${rel(settings, folder)} already exists; choose another name, or run \`orchestrate init ${extension}\` to add migrations to that folder.`,
    );
  }

  assertInsideRoot(settings, folder, `The new extension folder`);
  const createdExtensionsDir = !existsSync(settings.extensionsDir);
  const undo = undoOnFailure(() => {
    rmSync(folder, { recursive: true, force: true });
    if (createdExtensionsDir) rmSync(settings.extensionsDir, { recursive: true, force: true });
  });
  try {
    mkdirSync(folder, { recursive: true });
    const manifest = path.join(folder, 'extension.json');
    writeFileSync(manifest, `${JSON.stringify({ dependsOn: [], description: `The ${extension} extension.` }, null, 2)}\n`);
    const fragment = path.join(folder, 'schema.prisma');
    const sample = opts.skipModel ? null : sampleFragment(extension);
    writeFileSync(fragment, sample ? sample.text : emptyFragment(extension));
    const files = [rel(settings, manifest), rel(settings, fragment)];

    const steps = await generateAndApply(ctx, extension, others, opts);
    undo.release();
    const hint = enableHint(extension, requested);
    const lines = [
      `Created ${rel(settings, folder)}/: extension.json, schema.prisma${sample ? ` (model ${sample.model}, table ${sample.table})` : ' (no model: --skip-model)'}.`,
      ...steps.lines,
      ...(hint.line ? [hint.line] : []),
    ];
    return {
      data: {
        command: 'create',
        extension,
        folder: rel(settings, folder),
        files,
        model: sample ? { name: sample.model, table: sample.table } : null,
        migration: steps.migration,
        revision: steps.revision,
        migrate: steps.migrate,
        enabled: hint.enabled,
        enableWith: hint.enableWith,
      },
      text: lines.join('\n'),
    };
  } catch (error) {
    undo.run();
    // The failure's own advice may point into the folder that was just removed: say what now.
    const again = `create removed ${rel(settings, folder)}/ again, so fix the cause and run \`orchestrate create ${extension}\` again.`;
    if (error instanceof MigrationFailed) {
      const { problem, reason, statement } = error.failure;
      const where = statement ? ` at line ${statement.line}, \`${statement.text.replace(/\s+/g, ' ').slice(0, 120)}\`` : '';
      throw new RuntimeError(`The initial migration ${problem.owner}/${problem.migration} failed${where} and was rolled back (${reason}); ${again}`, { cause: error.failure.cause, problems: [problem] });
    }
    if (error instanceof OrchestrateError) throw new OrchestrateError(`${error.message}\n${again}`, error.exitCode, { cause: error, problems: error.problems });
    throw error;
  }
}

/**
 * `orchestrate init <name>`: for an extension folder that has a fragment but no migrations yet
 * (written by hand, or copied from another project), generates the initial migration and
 * applies it. What it wrote is removed again when a later step fails.
 */
export async function init(ctx: Context, extension: string, opts: CreateOptions): Promise<CommandResult<CreateData>> {
  validateExtensionName(extension, 'init');
  const settings = loadSettings(ctx.root);
  const folder = path.join(settings.extensionsDir, extension);
  if (!isDirectory(folder)) {
    const discovered = [...discoverExtensions(settings).keys()];
    throw new UsageError(
      `init ${extension}: there is no folder ${rel(settings, folder)} (discovered: ${discovered.length ? discovered.join(', ') : 'none'}); check the name, or scaffold a new extension with \`orchestrate create ${extension}\`.`,
    );
  }
  const fragment = path.join(folder, 'schema.prisma');
  if (!existsSync(fragment)) {
    throw new UsageError(
      `init ${extension}: ${rel(settings, fragment)} does not exist; write the extension's models there (no datasource or generator block), then run \`orchestrate init ${extension}\` again.`,
    );
  }
  const migrationsDir = path.join(folder, 'migrations');
  assertInsideRoot(settings, migrationsDir, `The migrations folder of ${extension}`);
  const existing = readMigrations(migrationsDir);
  if (existing.length > 0) {
    throw new UsageError(
      `init ${extension}: ${rel(settings, migrationsDir)} already holds ${plural(existing.length, 'migration')}; add new ones with \`orchestrate revision --extension ${extension} -m <name>\`.`,
    );
  }
  if (opts.skipModel) ctx.reporter.info('--skip-model has no effect on init: it never writes a model.');
  const { requested, others } = loadOthers(ctx, extension);

  // Remove only what this command adds: the folder itself, or new entries in an existing one.
  const hadDir = existsSync(migrationsDir);
  const before = new Set(hadDir ? readdirSync(migrationsDir) : []);
  const undo = undoOnFailure(() => {
    if (!hadDir) {
      rmSync(migrationsDir, { recursive: true, force: true });
      return;
    }
    for (const entry of readdirSync(migrationsDir)) {
      if (!before.has(entry)) rmSync(path.join(migrationsDir, entry), { recursive: true, force: true });
    }
  });
  try {
    const steps = await generateAndApply(ctx, extension, others, opts);
    undo.release();
    const hint = enableHint(extension, requested);
    return {
      data: {
        command: 'init',
        extension,
        folder: rel(settings, folder),
        files: [],
        model: null,
        migration: steps.migration,
        revision: steps.revision,
        migrate: steps.migrate,
        enabled: hint.enabled,
        enableWith: hint.enableWith,
      },
      text: [...steps.lines, ...(hint.line ? [hint.line] : [])].join('\n'),
    };
  } catch (error) {
    undo.run();
    if (error instanceof MigrationFailed) throw new RuntimeError(error.failure.problem.message, { cause: error.failure.cause, problems: [error.failure.problem] });
    throw error;
  }
}

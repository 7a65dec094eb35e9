#!/usr/bin/env node
/**
 * Command-line wiring only: declare flags, reject bad combinations, call a command module,
 * print its result, map errors to exit codes. Command modules are imported lazily so that
 * `migrate` never loads the schema engine or @prisma/internals; the one named on the command
 * line starts loading at once (see `commands`).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { InterruptedError, OrchestrateError } from './errors.js';
import type { CommandResult, Context, GlobalOptions, Reporter } from './commands/context.js';
import { makeContext } from './commands/context.js';
import { prepareSettings } from './config/settings.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/** A loader that imports its module once; later calls return the same promise. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => (loading ??= load());
}

/**
 * Each command's module. The command named first on the command line starts loading before the
 * command line is parsed, so that reading and compiling its modules overlaps building and
 * running the parser (a few milliseconds of every container start with `migrate`).
 */
const commands = {
  revision: once(() => import('./commands/revision.js')),
  migrate: once(() => import('./commands/migrate.js')),
  downgrade: once(() => import('./commands/downgrade.js')),
  status: once(() => import('./commands/status.js')),
  history: once(() => import('./commands/history.js')),
  current: once(() => import('./commands/current.js')),
  stamp: once(() => import('./commands/stamp.js')),
  create: once(() => import('./commands/create.js')),
  generate: once(() => import('./commands/generate.js')),
  check: once(() => import('./commands/check.js')),
  diff: once(() => import('./commands/diff.js')),
  debug: once(() => import('./commands/debug.js')),
  fleet: once(() => import('./commands/fleet.js')),
};
const aliases: Record<string, keyof typeof commands> = { upgrade: 'migrate', init: 'create' };
const named = process.argv[2] ?? '';
const early = Object.hasOwn(commands, named) ? (named as keyof typeof commands) : aliases[named];
// A failure surfaces when the action awaits the same promise.
if (early) commands[early]().catch(() => {});

const useColor = process.stderr.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const paint = (code: string, s: string) => (useColor ? `\u001b[${code}m${s}\u001b[0m` : s);

const reporter: Reporter = {
  info: (line) => process.stderr.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${paint('33', 'warning:')} ${line}\n`),
};

type Runner = (ctx: Context) => Promise<CommandResult>;

/** Exit codes for a run stopped by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
let received: keyof typeof SIGNAL_EXIT | null = null;

/**
 * For the commands that change the database (migrate, downgrade, stamp): the first SIGINT or
 * SIGTERM (Ctrl-C; what Docker and Kubernetes send on every rollout) aborts the run, which
 * cancels the statement running on the server, rolls back its migration and releases the lock
 * before the process exits 130 or 143. A second signal exits at once.
 */
function interruptSignal(announce?: string): AbortSignal {
  const controller = new AbortController();
  for (const name of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) {
    process.on(name, () => {
      if (received) process.exit(SIGNAL_EXIT[name]);
      received = name;
      // fleet and its worker go on for a while (the report, running jobs): say what happens
      if (announce) reporter.info(`${name}: ${announce} (again to quit at once)...`);
      controller.abort();
    });
  }
  return controller.signal;
}

/**
 * For the commands that only read but may replay migrations into a shadow database (check,
 * diff): a signal ends the run at once, as by default, but through `process.exit`, so that an
 * SQLite shadow's temporary folder is removed on the way out.
 */
function exitOnSignal(): void {
  for (const name of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) process.on(name, () => process.exit(SIGNAL_EXIT[name]));
}

/** A yes/no question on the terminal (stderr, so that stdout stays the result). */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

let verbose = false;
let jsonOutput = false;

async function execute(cmd: Command, run: Runner): Promise<void> {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  verbose = Boolean(globals.verbose);
  jsonOutput = Boolean(globals.json);
  const ctx = makeContext(globals, reporter);
  if (process.stdin.isTTY && process.stderr.isTTY) ctx.confirm = confirm;
  await prepareSettings(ctx.root);
  const result = await run(ctx);
  if (globals.json) {
    process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
  } else if (result.text) {
    process.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
  }
  process.exitCode = result.exitCode ?? 0;
}

const selection = (c: Command, all = 'act on core and every enabled extension (the default when no owner is named)') =>
  c
    .option('--core', 'act on the core owner')
    .option('--extension <name>', 'act on this extension (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--all', all);

const program = new Command()
  .name('orchestrate')
  .description('Per-owner Prisma migrations for a core schema plus extension fragments.')
  .version(version, '-V, --version')
  .option('--cwd <dir>', 'project root (default: the current directory)')
  .option('--extensions <list>', 'enabled extensions, comma separated (overrides APP_EXTENSIONS)')
  .option('--url <url>', 'database URL (overrides DATABASE_URL)')
  .option('--json', 'print one JSON document on stdout')
  .option('--verbose', 'print stack traces and engine logs')
  .exitOverride();

selection(program.command('revision').description('generate a migration per changed owner'))
  .option('-m, --name <name>', 'migration name (default: init for a first migration, else migration)')
  .option('--empty', 'write a blank migration for hand-written SQL')
  .option('--regenerate', "replace an owner's migrations by one fresh initial migration")
  .option('--force', 'with --regenerate: even when some are applied in the database')
  .option('--check', 'write nothing; exit 3 when an owner has changes without a migration')
  .option('--merge', "join an owner's two heads (migrations made on two branches) with a merge migration")
  .addOption(new Option('--engine <engine>', 'how to diff').choices(['wasm', 'prisma-cli']).default('wasm'))
  .action(async (opts, cmd: Command) => {
    const { revision } = await commands.revision();
    // Ctrl-C stops between owners, or removes the migration being written: each is complete or absent.
    const signal = interruptSignal();
    await execute(cmd, (ctx) => revision(ctx, { ...opts, signal }));
  });

for (const name of ['migrate', 'upgrade']) {
  selection(program.command(name).description(name === 'migrate' ? 'apply pending migrations' : 'alias of migrate'))
    .option('--target <migration>', 'stop after this migration')
    .option('--sql', 'print the SQL the run would execute, touching nothing')
    .option('--wait <seconds>', 'retry the first connection this long (default: ORCHESTRATE_WAIT, else no retry)', parseSeconds)
    .option('--lock-timeout <seconds>', 'give up waiting for the migration lock after this long', parseLockSeconds)
    .option('--strict', 'exit 3 instead of warning about extensions that are not enabled (also ORCHESTRATE_STRICT=1)')
    .action(async (opts, cmd: Command) => {
      const { migrate } = await commands.migrate();
      const signal = interruptSignal();
      await execute(cmd, (ctx) => migrate(ctx, { ...opts, signal }));
    });
}

selection(
  program.command('downgrade').description('roll back applied migrations with their down.sql'),
  'act on core and every enabled extension (needed with --target base; without an owner, --target <migration> finds its owner)',
)
  .requiredOption('--target <migration>', 'last migration to keep, or "base" for none')
  .option('--sql', 'print the SQL the run would execute, touching nothing')
  .option('--cascade', 'first downgrade extension migrations that require what is rolled back')
  .option('-y, --yes', 'drop tables and columns that hold rows without asking (needed when not on a terminal)')
  .option('--wait <seconds>', 'retry the first connection this long', parseSeconds)
  .option('--lock-timeout <seconds>', 'give up waiting for the migration lock after this long', parseLockSeconds)
  .action(async (opts, cmd: Command) => {
    const { downgrade } = await commands.downgrade();
    const signal = interruptSignal();
    await execute(cmd, (ctx) => downgrade(ctx, { ...opts, signal }));
  });

selection(program.command('status').description('applied, pending, failed and modified migrations per owner'))
  .option('--exit-code', 'exit 3 when anything is pending, failed or modified')
  .option('--strict', 'exit 3 instead of warning about extensions that are not enabled (also ORCHESTRATE_STRICT=1)')
  .action(async (opts, cmd: Command) => {
    const { status } = await commands.status();
    await execute(cmd, (ctx) => status(ctx, opts));
  });

selection(program.command('history [owner]').description('applied migrations, oldest first ([owner] is short for --core or --extension <owner>)'))
  .action(async (owner: string | undefined, opts, cmd: Command) => {
    const { history } = await commands.history();
    await execute(cmd, (ctx) => history(ctx, { ...opts, owner }));
  });

selection(program.command('current [owner]').description('latest applied migration per owner ([owner] is short for --core or --extension <owner>)'))
  .action(async (owner: string | undefined, opts, cmd: Command) => {
    const { current } = await commands.current();
    await execute(cmd, (ctx) => current(ctx, { ...opts, owner }));
  });

program
  .command('stamp <owner> <migration>')
  .description('record migrations up to this one as applied without running them')
  .option('--lock-timeout <seconds>', 'give up waiting for the migration lock after this long', parseLockSeconds)
  .action(async (owner: string, migration: string, opts: { lockTimeout?: number }, cmd: Command) => {
    const { stamp } = await commands.stamp();
    const signal = interruptSignal();
    await execute(cmd, (ctx) => stamp(ctx, { owner, migration, lockTimeout: opts.lockTimeout, signal }));
  });

for (const name of ['create', 'init']) {
  const command = program.command(`${name} <name>`);
  // init writes no model (the folder has its own fragment), so only create has --skip-model.
  if (name === 'create') command.option('--skip-model', 'write a fragment without the sample model (nothing to migrate yet)');
  command
    .description(name === 'create' ? 'scaffold a new extension with an initial migration' : 'add migrations to an existing extension folder')
    .option('--skip-migrate', 'do not apply the initial migration')
    .action(async (extension: string, opts, cmd: Command) => {
      const mod = await commands.create();
      await execute(cmd, (ctx) => (name === 'create' ? mod.create(ctx, extension, opts) : mod.init(ctx, extension, opts)));
    });
}

program
  .command('generate')
  .description('write the merged schema and run `prisma generate` on it')
  .option('--strict', 'exit 3 instead of warning about extension folders that are not enabled (also ORCHESTRATE_STRICT=1)')
  .action(async (opts, cmd: Command) => {
    const { generate } = await commands.generate();
    await execute(cmd, (ctx) => generate(ctx, opts));
  });

selection(program.command('check').description('validate schemas and migrations, lint naming and ownership'))
  .option('--strict', 'count extension folders that are not enabled as problems (also ORCHESTRATE_STRICT=1)')
  .action(async (opts, cmd: Command) => {
    const { check } = await commands.check();
    exitOnSignal();
    await execute(cmd, (ctx) => check(ctx, opts));
  });

program
  .command('diff')
  .description("print the SQL between two states of one owner: its migrations (replayed in a shadow database), its latest snapshot, or its schema")
  .requiredOption('--owner <name>', 'core or an enabled extension')
  .requiredOption('--from <state>', 'migrations, snapshot or schema')
  .requiredOption('--to <state>', 'migrations, snapshot or schema')
  .action(async (opts, cmd: Command) => {
    const { diff } = await commands.diff();
    exitOnSignal();
    await execute(cmd, (ctx) => diff(ctx, opts));
  });

program
  .command('debug')
  .description('print environment, configuration, extensions and database information')
  .action(async (opts, cmd: Command) => {
    const { debug } = await commands.debug();
    await execute(cmd, (ctx) => debug(ctx, opts));
  });

const fleetCommand = program
  .command('fleet')
  .description('migrate every tenant database of a list: canary first, a bounded number at a time')
  .option('--file <path>', 'tenant list: one URL per line, or JSON [{"name", "url", "labels"}]')
  .option('--command <cmd>', 'a shell command printing the tenant list')
  .option('--query <sql>', 'a query on the control database returning url (and name, labels) columns')
  .option('--control-url <url>', 'control database for --query (default: ORCHESTRATE_CONTROL_URL)')
  .option('--canary <n|label>', 'run the first n databases, or those with this label, first; stop if any fails')
  .option('--concurrency <n>', 'databases migrated at once (keep under the servers\' connection limits)', parseCount, 4)
  .addOption(new Option('--on-error <mode>', 'after a failure: stop starting new databases, or continue').choices(['stop', 'continue']).default('stop'))
  .option('--plan', 'per database: what would be applied, touching nothing')
  .option('--sql', 'per database: the SQL a run would execute, touching nothing')
  .action(async (opts, cmd: Command) => {
    const { fleet } = await commands.fleet();
    const signal = interruptSignal('starting no more databases, ending the running ones');
    await execute(cmd, (ctx) => fleet(ctx, opts, signal));
    // Interrupted migrations may still hold connections: ending the process closes them, and the
    // server rolls back what was in progress.
    if (signal.aborted) await new Promise<void>((resolve) => process.stdout.write('', () => resolve())).then(() => process.exit(received ? SIGNAL_EXIT[received] : 130));
  });

fleetCommand
  .command('enqueue')
  .description('put one migration job per tenant database into the queue on the control database')
  .option('--file <path>', 'tenant list: one URL per line, or JSON [{"name", "url", "labels"}]')
  .option('--command <cmd>', 'a shell command printing the tenant list')
  .option('--query <sql>', 'a query on the control database returning url (and name, labels) columns')
  .option('--control-url <url>', 'control database holding the queue (default: ORCHESTRATE_CONTROL_URL)')
  .option('--canary <n|label>', 'queue the other databases only once these succeeded')
  .addOption(new Option('--on-error <mode>', 'after a failed migration: take the rest off the queue, or continue').choices(['stop', 'continue']).default('stop'))
  .option('--rollout <id>', 'rollout id (default: rollout-<UTC time>)')
  .option('--max-attempts <n>', 'attempts per database when it cannot be reached (retried with backoff)', parseCount, 10)
  .action(async (opts, cmd: Command) => {
    const { fleetEnqueue } = await commands.fleet();
    await execute(cmd, (ctx) => fleetEnqueue(ctx, fleetOptions(cmd, opts)));
  });

fleetCommand
  .command('worker')
  .description('take migration jobs from the control database and run them (run as many as wanted)')
  .option('--control-url <url>', 'control database holding the queue (default: ORCHESTRATE_CONTROL_URL)')
  .option('--concurrency <n>', 'jobs run at once by this worker', parseCount, 4)
  .option('--lock-timeout <seconds>', 'give the jobs of a worker silent this long to another worker', parseSeconds, 60)
  .option('--poll-interval <seconds>', 'how often to look for retries that are due', parseSeconds, 2)
  .option('--until-done', 'exit once the queue is empty instead of waiting for more jobs')
  .action(async (opts, cmd: Command) => {
    const { fleetWorker } = await commands.fleet();
    const signal = interruptSignal('taking no more jobs, finishing the running ones');
    await execute(cmd, (ctx) => fleetWorker(ctx, fleetOptions(cmd, opts), signal));
  });

fleetCommand
  .command('status')
  .description("a rollout's report from the control database")
  .option('--control-url <url>', 'control database holding the queue (default: ORCHESTRATE_CONTROL_URL)')
  .option('--rollout <id>', 'which rollout (default: the latest)')
  .action(async (opts, cmd: Command) => {
    const { fleetStatus } = await commands.fleet();
    await execute(cmd, (ctx) => fleetStatus(ctx, fleetOptions(cmd, opts)));
  });

/**
 * A `fleet` subcommand's options. Commander gives an option spelled the same on `fleet` and on
 * its subcommand (--file, --concurrency...) to `fleet` when it is given after the subcommand's
 * name, so an option set on the command line wins over the other command's default.
 */
function fleetOptions(cmd: Command, opts: Record<string, unknown>): Record<string, unknown> {
  const parent = cmd.parent!;
  const merged: Record<string, unknown> = { ...opts };
  for (const [key, value] of Object.entries(parent.opts())) {
    if (parent.getOptionValueSource(key) === 'cli' && (cmd.getOptionValueSource(key) !== 'cli' || merged[key] === undefined)) merged[key] = value;
  }
  return merged;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more, e.g. --concurrency 8.');
  return n;
}

const ENV: Record<string, string> = {
  DATABASE_URL: 'database URL (--url overrides it; unset: the embedded database, .orchestrate/pglite, or .orchestrate/sqlite/dev.db for provider = "sqlite")',
  APP_EXTENSIONS: 'enabled extensions, comma separated (--extensions overrides it)',
  ORCHESTRATE_WAIT: 'seconds to retry the first connection when --wait is not given',
  ORCHESTRATE_STRICT: '1: extensions that are not enabled are errors (exit 3), as with --strict',
  PRISMA_SCHEMA_ENGINE_BINARY: 'a schema-engine executable for `prisma generate` (default: the bundled WebAssembly bridge)',
  NO_COLOR: 'no colours in the output',
};

/** Per command: examples, and which of ENV it reads (besides NO_COLOR). */
const HELP: Record<string, { examples: string[]; env: string[] }> = {
  revision: {
    examples: ['orchestrate revision --all -m add_invoices', 'orchestrate revision --check   # CI: exit 3 when a migration is missing', 'orchestrate revision --extension billing --merge -m merge   # two heads after a git merge'],
    env: ['APP_EXTENSIONS', 'DATABASE_URL'],
  },
  migrate: {
    examples: ['orchestrate migrate --all', 'orchestrate migrate --extension billing --target add_due_date', 'orchestrate migrate --all --sql > deploy.sql'],
    env: ['DATABASE_URL', 'APP_EXTENSIONS', 'ORCHESTRATE_WAIT', 'ORCHESTRATE_STRICT'],
  },
  downgrade: {
    examples: ['orchestrate downgrade --extension billing --target -1', 'orchestrate downgrade --extension crm --target base --yes   # uninstall crm', 'orchestrate downgrade --core --target 20261123184710 --sql'],
    env: ['DATABASE_URL', 'APP_EXTENSIONS', 'ORCHESTRATE_WAIT'],
  },
  status: {
    examples: ['orchestrate status', 'orchestrate status --extension billing', 'orchestrate status --exit-code   # CI: exit 3 when anything is pending'],
    env: ['DATABASE_URL', 'APP_EXTENSIONS', 'ORCHESTRATE_STRICT'],
  },
  history: { examples: ['orchestrate history', 'orchestrate history --extension billing', 'orchestrate history billing --json'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
  current: { examples: ['orchestrate current', 'orchestrate current --core', 'orchestrate current --all --json'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
  stamp: { examples: ['orchestrate stamp core 20261123184710_init', 'orchestrate stamp billing 20261123184736_add_due_date'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
  create: { examples: ['orchestrate create loyalty', 'orchestrate create loyalty --skip-migrate', 'orchestrate create notes --skip-model'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
  init: { examples: ['orchestrate init loyalty', 'orchestrate init loyalty --skip-migrate'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
  generate: { examples: ['orchestrate generate', 'APP_EXTENSIONS=billing,crm orchestrate generate'], env: ['APP_EXTENSIONS', 'ORCHESTRATE_STRICT', 'PRISMA_SCHEMA_ENGINE_BINARY'] },
  check: { examples: ['orchestrate check', 'orchestrate check --extension billing', 'orchestrate check --strict --json'], env: ['DATABASE_URL', 'APP_EXTENSIONS', 'ORCHESTRATE_STRICT'] },
  diff: {
    examples: ['orchestrate diff --owner core --from migrations --to schema   # drift of an adopted history', 'orchestrate diff --owner billing --from snapshot --to schema   # the next revision', 'orchestrate diff --owner core --from migrations --to snapshot --json'],
    env: ['APP_EXTENSIONS'],
  },
  debug: { examples: ['orchestrate debug', 'orchestrate debug --json'], env: ['DATABASE_URL', 'APP_EXTENSIONS'] },
};
HELP.upgrade = HELP.migrate!;

const EXIT_CODES = 'Exit codes:\n  0  success\n  1  database or runtime error\n  2  usage or input error (nothing was changed)\n  3  a check found a problem (pending, edited or failed migrations, strict warnings)';

for (const command of program.commands) {
  // Commands copy the program's help settings when created, so each is told here.
  command.configureHelp({ showGlobalOptions: true });
  const help = HELP[command.name()];
  if (!help) continue;
  const env = [...help.env, 'NO_COLOR'];
  const width = Math.max(...env.map((e) => e.length));
  command.addHelpText(
    'after',
    [
      '',
      'Examples:',
      ...help.examples.map((e) => `  $ ${e}`),
      '',
      'Environment:',
      ...env.map((e) => `  ${e.padEnd(width)}  ${ENV[e]}`),
      '',
      EXIT_CODES,
    ].join('\n'),
  );
}
program.configureHelp({ showGlobalOptions: true });
program.addHelpText(
  'after',
  [
    '',
    'Examples:',
    '  $ orchestrate revision --all -m add_invoices',
    '  $ orchestrate migrate --all',
    '  $ orchestrate status --exit-code',
    '',
    'Environment: DATABASE_URL, APP_EXTENSIONS, ORCHESTRATE_WAIT, ORCHESTRATE_STRICT, NO_COLOR (`orchestrate help <command>` says which each reads).',
    '',
    EXIT_CODES,
  ].join('\n'),
);

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds, e.g. --wait 30.');
  return n;
}

function parseLockSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds, e.g. --lock-timeout 60.');
  return n;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    if (error.exitCode === 0) return 0;
    // Commander already printed its message on stderr; --json still gets its one document.
    if (argv.includes('--json')) {
      const message = error.message.replace(/^error: /, '');
      process.stdout.write(`${JSON.stringify({ error: { message: `${message}${/[.?!]$/.test(message) ? '' : '.'} Run \`orchestrate --help\` for usage.`, exitCode: 2 } }, null, 2)}\n`);
    }
    return 2;
  }
  const json = jsonOutput;
  if (error instanceof InterruptedError) {
    const exitCode = received ? SIGNAL_EXIT[received] : error.exitCode;
    if (json) {
      const partial = typeof error.result === 'object' && error.result !== null ? error.result : {};
      process.stdout.write(`${JSON.stringify({ error: { message: error.message, exitCode, signal: received }, ...partial }, null, 2)}\n`);
    }
    process.stderr.write(`${paint('33', 'interrupted:')} ${error.message}\n`);
    return exitCode;
  }
  if (error instanceof OrchestrateError) {
    const message = error.message;
    if (json) {
      const partial = typeof error.result === 'object' && error.result !== null ? error.result : {};
      process.stdout.write(`${JSON.stringify({ error: { message, exitCode: error.exitCode }, ...partial }, null, 2)}\n`);
    }
    process.stderr.write(`${paint('31', 'error:')} ${message}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n${error.cause instanceof Error ? `cause: ${error.cause.stack}\n` : ''}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { message, exitCode: 1 } }, null, 2)}\n`);
  process.stderr.write(`${paint('31', 'error:')} ${message}${verbose ? '' : ' (run with --verbose for details)'}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}

program.configureOutput({
  outputError: (str, write) => write(str),
});

const argv = process.argv.slice(2);
if (argv.length === 0) {
  // Nothing to do is a usage error: a script that lost its arguments must not look successful.
  program.outputHelp({ error: true });
  process.exitCode = 2;
} else if (argv.includes('--json') && (argv.includes('--version') || argv.includes('-V'))) {
  process.stdout.write(`${JSON.stringify({ version }, null, 2)}\n`);
} else {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = report(error);
    // The database is cleaned up by now; a connection attempt still under way (`--wait`) must
    // not keep the process alive.
    if (error instanceof InterruptedError) process.exit();
  }
}

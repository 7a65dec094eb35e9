#!/usr/bin/env node
/**
 * orchestrate-schema-engine: a drop-in for Prisma's native `schema-engine` binary that runs
 * Prisma's schema engine compiled to WebAssembly in this process. Point the Prisma CLI at it:
 *
 *   PRISMA_SCHEMA_ENGINE_BINARY=node_modules/.bin/orchestrate-schema-engine prisma migrate diff ...
 *
 * Same command line, same line-delimited JSON-RPC on stdin/stdout, same JSON log lines on
 * stderr. This file is the process entry point; the work is in the modules beside it.
 */
import { readFile } from 'node:fs/promises';
import { schemaEngineVersion } from 'orchestrate/bridge-support';
import { BridgeUsageError, parseBridgeArgs, USAGE } from './args.js';
import { runCliCommand } from './cli-command.js';
import { createBridgeHost } from './host.js';
import { JsonRpcPeer } from './json-rpc.js';
import { ERROR_TARGET, jsonLogger } from './log.js';

const logger = jsonLogger((line) => process.stderr.write(line));

// The Prisma CLI parses every stderr line as JSON: Node's own warnings must be log lines too.
process.emitWarning = ((warning: string | Error) => {
  logger.log('WARN', typeof warning === 'string' ? warning : warning.message);
}) as typeof process.emitWarning;

const fatal = (message: string): 1 => {
  logger.log('ERROR', message, { is_panic: false, error_code: '' }, ERROR_TARGET);
  return 1;
};

async function main(argv: string[]): Promise<number> {
  let invocation;
  try {
    invocation = parseBridgeArgs(argv);
  } catch (error) {
    if (error instanceof BridgeUsageError) return fatal(error.message);
    throw error;
  }
  // `7.10.0-4.<commit>`: the native engine reports the commit of prisma-engines.
  const gitHash = (await schemaEngineVersion()).split('.').pop()!;

  switch (invocation.kind) {
    case 'version':
      process.stdout.write(`schema-engine-cli ${gitHash}\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'cli':
      return runCliCommand(invocation.command, invocation.datasource, logger, gitHash);
    case 'rpc': {
      let datamodels: [string, string][] | undefined;
      if (invocation.datamodels) {
        try {
          datamodels = await Promise.all(invocation.datamodels.map(async (file) => [file, await readFile(file, 'utf8')] as [string, string]));
        } catch (error) {
          return fatal(`Cannot read the Prisma schema file given with --datamodels (${(error as Error).message}); check that the path exists.`);
        }
      }
      const extensionTypes = invocation.extensionTypes as { types?: unknown[] } | undefined;
      if (extensionTypes?.types && extensionTypes.types.length > 0) {
        logger.log('WARN', 'orchestrate-schema-engine ignores --extension-types: the wasm schema engine has no support for database extension types.');
      }
      logger.log('INFO', 'Starting schema engine RPC server', { git_hash: gitHash });
      const host = createBridgeHost({
        datamodels,
        datasource: invocation.datasource,
        logger,
        print: async (content) => {
          await peer.call('print', { content });
        },
      });
      const peer = new JsonRpcPeer(process.stdin, (line) => process.stdout.write(line), (method, params) => host.handle(method, params), (error) =>
        logger.log('ERROR', `A notification failed: ${error instanceof Error ? error.message : String(error)}`),
      );
      try {
        await peer.run();
      } finally {
        await host.dispose();
      }
      return 0;
    }
  }
}

const flush = () => new Promise<void>((resolve) => process.stdout.write('', () => resolve()));

main(process.argv.slice(2)).then(
  async (code) => {
    await flush();
    process.exit(code);
  },
  async (error: unknown) => {
    logger.log('ERROR', `orchestrate-schema-engine crashed: ${error instanceof Error ? error.message : String(error)}`, {
      is_panic: true,
      backtrace: error instanceof Error ? error.stack : undefined,
    });
    await flush();
    process.exit(101);
  },
);

import type { CliCommand, DatasourceUrls } from './args.js';
import { createPostgresDatabase } from './connections.js';
import { createBridgeHost, toRpcError } from './host.js';
import { RpcError } from './json-rpc.js';
import { ERROR_TARGET, type BridgeLogger } from './log.js';

/**
 * `schema-engine --datasource <json> cli <command>`: one command, no JSON-RPC. The Prisma CLI
 * skips the first stderr line, parses the others as JSON and, on exit code 1, reads the
 * `error_code` and `message` of the `ERROR` line whose target is `schema_engine::logger`
 * (P1003 "database does not exist" makes it offer to create the database).
 *
 * Returns the process exit code.
 */
export async function runCliCommand(command: CliCommand, datasource: DatasourceUrls, logger: BridgeLogger, gitHash: string): Promise<0 | 1> {
  logger.log('INFO', 'Starting schema engine CLI', { git_hash: gitHash });
  const fail = (message: string, errorCode = ''): 1 => {
    logger.log('ERROR', message, { is_panic: false, error_code: errorCode }, ERROR_TARGET);
    return 1;
  };
  const url = datasource.url;
  if (!url) return fail('The datasource.url property is required in your Prisma config file when using this command; set `datasource.url` in prisma.config.ts.', 'P1012');
  switch (command) {
    case 'can-connect-to-database': {
      const host = createBridgeHost({ datamodels: undefined, datasource, logger, print: async () => {} });
      try {
        await host.handle('ensureConnectionValidity', { datasource: { tag: 'ConnectionString', url } });
        logger.log('INFO', 'Connection successful');
        return 0;
      } catch (error) {
        return failWith(error);
      } finally {
        await host.dispose();
      }
    }
    case 'create-database':
      try {
        const name = await createPostgresDatabase(url);
        logger.log('INFO', `Database '${name}' was successfully created.`);
        return 0;
      } catch (error) {
        return failWith(error);
      }
    case 'drop-database':
      return fail('orchestrate-schema-engine does not drop databases; drop it with your database tools (e.g. `dropdb`).');
  }

  function failWith(error: unknown): 1 {
    const rpc = error instanceof RpcError ? error : toRpcError(error, undefined);
    const data = (rpc.data ?? {}) as { message?: string; error_code?: string };
    return fail(data.message ?? rpc.message, data.error_code ?? '');
  }
}

/**
 * The command line of Prisma's native `schema-engine` binary, as the Prisma CLI uses it:
 *
 *   schema-engine [--datamodels <FILE>...] [--datasource <JSON>] [--enabled-preview-features <a,b>]
 *                 [--extension-types <JSON>] [cli <create-database|can-connect-to-database|drop-database>]
 *   schema-engine --version | -V
 *
 * Without a subcommand the engine serves JSON-RPC on stdin/stdout.
 */
export interface DatasourceUrls {
  url?: string;
  shadowDatabaseUrl?: string;
}

export type BridgeInvocation =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'rpc'; datamodels: string[] | undefined; datasource: DatasourceUrls; previewFeatures: string[]; extensionTypes: unknown }
  | { kind: 'cli'; command: CliCommand; datasource: DatasourceUrls };

export const CLI_COMMANDS = ['create-database', 'can-connect-to-database', 'drop-database'] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** A command line the bridge cannot make sense of; its message is one sentence. */
export class BridgeUsageError extends Error {}

export const USAGE = `orchestrate-schema-engine: Prisma's schema engine (WebAssembly build) behind the native engine's command line.
When no subcommand is given, it serves JSON-RPC over stdio.

USAGE:
    orchestrate-schema-engine [OPTIONS] [SUBCOMMAND]

FLAGS:
    -h, --help       Prints help information
    -V, --version    Prints version information

OPTIONS:
    -d, --datamodels <FILE>...                List of paths to the Prisma schema files
        --datasource <JSON>                   {"url": "...", "shadowDatabaseUrl": "..."} from the Prisma config
        --enabled-preview-features <LIST>     Accepted for compatibility; the schema's generator block decides
        --extension-types <JSON>              Accepted for compatibility; not supported by this bridge

SUBCOMMANDS:
    cli create-database | can-connect-to-database | drop-database
`;

export function parseBridgeArgs(argv: string[]): BridgeInvocation {
  let datamodels: string[] | undefined;
  let datasourceJson: string | undefined;
  let previewFeatures: string[] = [];
  let extensionTypes: unknown = undefined;
  let cli: CliCommand | undefined;

  const args = [...argv];
  const takeValue = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const value = args.shift();
    if (value === undefined) throw new BridgeUsageError(`The argument ${flag} requires a value; see --help.`);
    return value;
  };

  while (args.length > 0) {
    const arg = args.shift()!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (flag) {
      case '-V':
      case '--version':
        return { kind: 'version' };
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-d':
      case '--datamodels': {
        datamodels ??= [];
        datamodels.push(takeValue(flag, inline));
        // Like the native engine, several paths may follow one flag.
        while (args.length > 0 && !args[0]!.startsWith('-') && args[0] !== 'cli') datamodels.push(args.shift()!);
        break;
      }
      case '--datasource':
        datasourceJson = takeValue(flag, inline);
        break;
      case '--enabled-preview-features':
        previewFeatures = takeValue(flag, inline).split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--extension-types': {
        const raw = takeValue(flag, inline);
        try {
          extensionTypes = JSON.parse(raw);
        } catch {
          throw new BridgeUsageError(`--extension-types must be JSON, got ${JSON.stringify(raw.slice(0, 60))}.`);
        }
        break;
      }
      case 'cli': {
        const command = args.shift();
        if (!command || !(CLI_COMMANDS as readonly string[]).includes(command)) {
          throw new BridgeUsageError(`The cli subcommand takes one of ${CLI_COMMANDS.join(', ')}, got ${command === undefined ? 'nothing' : JSON.stringify(command)}.`);
        }
        cli = command as CliCommand;
        if (args.length > 0) throw new BridgeUsageError(`Unexpected argument ${JSON.stringify(args[0])} after "cli ${command}"; see --help.`);
        break;
      }
      default:
        throw new BridgeUsageError(`Unknown argument ${JSON.stringify(arg)}; see --help.`);
    }
  }

  const datasource = parseDatasource(datasourceJson);
  if (cli) return { kind: 'cli', command: cli, datasource };
  return { kind: 'rpc', datamodels, datasource, previewFeatures, extensionTypes };
}

function parseDatasource(json: string | undefined): DatasourceUrls {
  if (json === undefined) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new BridgeUsageError('--datasource must be a JSON object such as {"url": "postgresql://..."}; the value is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BridgeUsageError('--datasource must be a JSON object such as {"url": "postgresql://..."}.');
  }
  const { url, shadowDatabaseUrl } = raw as Record<string, unknown>;
  const result: DatasourceUrls = {};
  if (typeof url === 'string' && url !== '') result.url = url;
  if (typeof shadowDatabaseUrl === 'string' && shadowDatabaseUrl !== '') result.shadowDatabaseUrl = shadowDatabaseUrl;
  return result;
}

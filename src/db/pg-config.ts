/**
 * Connection settings as libpq reads them, turned into node-postgres client settings.
 *
 * node-postgres reads a connection string with pg-connection-string, whose `sslmode` meanings
 * differ from libpq's (prefer/require/verify-ca verify like verify-full and print a SECURITY
 * WARNING); its `useLibpqCompat` option fixes those but still knows no `allow`, no fallback of
 * `prefer` to plaintext, no ~/.postgresql files and no PGSSL* variables. So the URL is read
 * here, parameter by parameter as libpq documents them, and node-postgres gets explicit
 * settings it does not reinterpret: no connection string, and `ssl` always given.
 *
 * https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions as TlsOptions, PeerCertificate } from 'node:tls';
import type { ClientConfig } from 'pg';
import { UsageError } from '../errors.js';
import { parseDatabaseUrl, redactUrl } from './url.js';

const require = createRequire(import.meta.url);

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Without connect_timeout / PGCONNECT_TIMEOUT (or with 0, libpq's "forever"), no attempt lasts longer. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** Where the server's Unix socket is when the URL names no host (libpq's DEFAULT_PGSOCKET_DIR). */
const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp'];

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  sslmode: SslMode;
  /** Prisma's `?schema=`, else 'public'. */
  schema: string;
  /** Prisma's `?schema=` as given. */
  schemaParam: string | undefined;
  connectTimeoutMs: number;
  /**
   * The connection attempts libpq would make, in order: `allow` tries plaintext then TLS,
   * `prefer` TLS then plaintext, the others one attempt. See `shouldFallBack`.
   */
  attempts: ClientConfig[];
}

/** The value of a libpq parameter: URL query, else environment variable; '' counts as unset. */
function setting(params: URLSearchParams, env: NodeJS.ProcessEnv, name: string, variable: string): string | undefined {
  const fromUrl = params.get(name);
  if (fromUrl !== null && fromUrl !== '') return fromUrl;
  const fromEnv = env[variable];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Reads a postgresql:// URL with libpq's meaning of every part it shares with libpq, the
 * PG* variables for what the URL leaves out, and Prisma's `?schema=`. Other parameters
 * (Prisma's `connection_limit`, `pgbouncer`, ...) are ignored, as Prisma's engines ignore
 * libpq's. Throws UsageError for values libpq would refuse.
 *
 * @example
 *   pgTarget('postgresql://app@db/app?sslmode=require', {}).attempts[0].ssl; // { rejectUnauthorized: false, ... }
 */
export function pgTarget(url: string, env: NodeJS.ProcessEnv): PgTarget {
  const parsed = parseDatabaseUrl(url);
  if (!parsed) throw new UsageError(`The database URL is not a valid URL (${redactUrl(url)}); use postgresql://user:password@host:5432/database, percent-encoding special characters in the password.`);
  const { url: u } = parsed;
  const params = u.searchParams;
  if (parsed.host.includes(',')) {
    throw new UsageError(`The database URL names several hosts (${redactUrl(url)}); orchestrate connects to one server: name the primary.`);
  }

  const hostSetting = params.get('host') || parsed.host || env.PGHOST || undefined;
  const portText = params.get('port') || u.port || env.PGPORT || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`The database URL's port "${portText}" is not a port number; use e.g. 5432.`);
  const host = hostSetting ?? defaultHost(port);
  const user = params.get('user') || decode(u.username) || env.PGUSER || osUser(env);
  const database = params.get('dbname') || decode(u.pathname.replace(/^\//, '')) || env.PGDATABASE || user;
  const explicitPassword = params.get('password') ?? (u.password ? decode(u.password) : undefined) ?? env.PGPASSWORD;

  const sslmode = (setting(params, env, 'sslmode', 'PGSSLMODE') ?? 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) {
    throw new UsageError(`sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')} (the values libpq accepts); fix the URL or PGSSLMODE.`);
  }
  const connectTimeoutMs = connectTimeout(setting(params, env, 'connect_timeout', 'PGCONNECT_TIMEOUT'));
  const schema = params.get('schema') || 'public';
  const applicationName = setting(params, env, 'application_name', 'PGAPPNAME') ?? params.get('fallback_application_name') ?? 'orchestrate';
  // Prisma's ?schema= becomes the search_path, so unqualified migration SQL lands where Prisma Migrate puts it.
  const searchPath = params.get('schema') ? `-c search_path=${quoteOption(`"${schema.replace(/"/g, '""')}"`)}` : undefined;
  const options = [setting(params, env, 'options', 'PGOPTIONS'), searchPath].filter(Boolean).join(' ') || undefined;

  const home = env.HOME || os.homedir();
  const base: ClientConfig = {
    host,
    port,
    user,
    database,
    // Asked only when the server wants a password, like libpq (then ~/.pgpass is read).
    password: () => passwordFor({ explicit: explicitPassword, host, port, database, user, env, home, passfile: setting(params, env, 'passfile', 'PGPASSFILE') }),
    application_name: applicationName,
    options,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const tls = (): ClientConfig => ({ ...base, ssl: tlsOptions(sslmode, host, params, env, home) });
  const plain = (): ClientConfig => ({ ...base, ssl: false });
  const attempts =
    sslmode === 'disable' ? [plain()] : sslmode === 'allow' ? [plain(), tls()] : sslmode === 'prefer' ? [tls(), plain()] : [tls()];
  return { host, port, user, database, sslmode, schema, schemaParam: params.get('schema') || undefined, connectTimeoutMs, attempts };
}

/** libpq's default user: the operating-system user (containers may run as a uid with no name). */
function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    const name = env.USER || env.USERNAME;
    if (name) return name;
    throw new UsageError('The database URL names no user, PGUSER is unset, and this process runs as a user without a name; put the user in the URL (postgresql://user@host/db).');
  }
}

function defaultHost(port: number): string {
  if (process.platform === 'win32') return 'localhost';
  return DEFAULT_SOCKET_DIRS.find((dir) => existsSync(path.join(dir, `.s.PGSQL.${port}`))) ?? DEFAULT_SOCKET_DIRS.find((dir) => existsSync(dir)) ?? 'localhost';
}

/** libpq's rules: an integer number of seconds; 0 or less means none (here: the default deadline); 1 counts as 2. */
function connectTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  const seconds = Number(text.trim());
  if (!Number.isInteger(seconds)) throw new UsageError(`connect_timeout "${text}" is not a whole number of seconds; use e.g. connect_timeout=10.`);
  if (seconds <= 0) return DEFAULT_CONNECT_TIMEOUT_MS;
  return Math.max(2, seconds) * 1000;
}

/** A value inside the startup `options` string: backslash-escape spaces and backslashes. */
const quoteOption = (value: string) => value.replace(/([\\ ])/g, '\\$1');

/**
 * TLS settings of one mode, as libpq applies them: the server certificate is verified when a
 * root certificate is available (sslrootcert, else ~/.postgresql/root.crt) — for `require` and
 * `prefer` too, as libpq does — and its name only with verify-full; verify-ca and verify-full
 * without a root certificate are refused. A client certificate (sslcert, else
 * ~/.postgresql/postgresql.crt) is sent when the file exists.
 */
function tlsOptions(mode: SslMode, host: string, params: URLSearchParams, env: NodeJS.ProcessEnv, home: string): TlsOptions {
  const dotdir = path.join(home, '.postgresql');
  const rootcert = setting(params, env, 'sslrootcert', 'PGSSLROOTCERT') ?? path.join(dotdir, 'root.crt');
  const options: TlsOptions = {};
  if (rootcert === 'system') {
    if (mode !== 'verify-full') {
      throw new UsageError(`sslrootcert=system needs sslmode=verify-full (libpq refuses the weaker sslmode "${mode}" with it); fix the URL.`);
    }
    options.rejectUnauthorized = true; // Node's bundled root certificates
  } else if (existsSync(rootcert)) {
    options.ca = readSslFile(rootcert, 'sslrootcert');
    options.rejectUnauthorized = true;
  } else if (mode === 'verify-ca' || mode === 'verify-full') {
    throw new UsageError(
      `sslmode=${mode} verifies the server's certificate, but the root certificate file "${rootcert}" does not exist; give the CA certificate with sslrootcert=/path/to/ca.crt (or sslrootcert=system), or use sslmode=require to encrypt without verifying.`,
    );
  } else {
    options.rejectUnauthorized = false;
  }
  // Node would check the name for every mode; libpq checks it with verify-full only, and then
  // against the host as written (an IP address against the certificate's IP entries).
  options.checkServerIdentity =
    mode === 'verify-full'
      ? (_servername: string, cert: PeerCertificate) => (require('node:tls') as typeof import('node:tls')).checkServerIdentity(host, cert)
      : () => undefined;

  const sslcert = setting(params, env, 'sslcert', 'PGSSLCERT') ?? path.join(dotdir, 'postgresql.crt');
  if (existsSync(sslcert)) {
    const sslkey = setting(params, env, 'sslkey', 'PGSSLKEY') ?? path.join(dotdir, 'postgresql.key');
    if (!existsSync(sslkey)) throw new UsageError(`The client certificate "${sslcert}" has no private key file "${sslkey}"; give it with sslkey=/path/to/key.`);
    options.cert = readSslFile(sslcert, 'sslcert');
    options.key = readSslFile(sslkey, 'sslkey');
    const passphrase = params.get('sslpassword');
    if (passphrase) options.passphrase = passphrase;
  }
  return options;
}

function readSslFile(file: string, parameter: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${parameter} file "${file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); fix the path or its permissions.`, { cause: error });
  }
}

interface PasswordLookup {
  explicit: string | undefined;
  host: string;
  port: number;
  database: string;
  user: string;
  env: NodeJS.ProcessEnv;
  home: string;
  passfile: string | undefined;
}

/**
 * The password: the URL's, else PGPASSWORD, else the matching line of ~/.pgpass (PGPASSFILE,
 * `passfile`), read with the `pgpass` package. As in libpq, a socket connection to the default
 * socket directory matches `localhost` lines.
 */
async function passwordFor(lookup: PasswordLookup): Promise<string> {
  if (lookup.explicit !== undefined) return lookup.explicit;
  const file = lookup.passfile ?? path.join(lookup.home, '.pgpass');
  const helper = require('pgpass/lib/helper.js') as PgpassHelper;
  const warnings: string[] = [];
  // pgpass writes its warnings to stderr; they become part of the message below instead.
  const { Writable } = require('node:stream') as typeof import('node:stream');
  helper.warnTo(new Writable({ write: (chunk: Buffer, _encoding, done) => (warnings.push(chunk.toString().trim()), done()) }));
  const hostForFile = lookup.host.startsWith('/') && DEFAULT_SOCKET_DIRS.includes(lookup.host.replace(/\/+$/, '')) ? 'localhost' : lookup.host;
  const found = await new Promise<string | undefined>((resolve) => {
    const { stat, createReadStream } = require('node:fs') as typeof import('node:fs');
    stat(file, (error, stats) => {
      if (error || !helper.usePgPass(stats, file)) return resolve(undefined);
      const info = { host: hostForFile, port: String(lookup.port), database: lookup.database, user: lookup.user };
      helper.getPassword(info, createReadStream(file), resolve);
    });
  });
  if (found !== undefined) return found;
  const ignored = warnings.length > 0 ? ` (${warnings.join('; ').replace(/^WARNING: /, '').replace(/\.$/, '')})` : '';
  throw new Error(`the server asks for a password, but none was given in the URL, PGPASSWORD or ${file}${ignored}`);
}

interface PgpassHelper {
  warnTo(stream: NodeJS.WritableStream): NodeJS.WritableStream;
  usePgPass(stats: import('node:fs').Stats, file: string): boolean;
  getPassword(info: object, stream: NodeJS.ReadableStream, cb: (password: string | undefined) => void): void;
}

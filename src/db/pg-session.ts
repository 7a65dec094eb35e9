/**
 * One PostgreSQL session: connect and authenticate, then queries (pipelined), on the wire
 * protocol of `pg-wire.ts`.
 *
 * Why not `pg.Client`: loading node-postgres costs ~15-20 ms (type parsers for every PostgreSQL
 * type, the WebCrypto stack for SCRAM, DNS helpers, package resolution), which a no-op
 * `migrate` in a container entrypoint pays on every start, for a session that only needs the
 * simple and extended query protocols and COPY TO STDOUT. SCRAM and `.pgpass` still use
 * node-postgres' own code (`pg/lib/crypto/sasl`, `pgpass`), loaded only when the server asks for
 * a password. Settings are resolved as node-postgres resolves them (URL, then PG* variables).
 */
import { createRequire } from 'node:module';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { WireConnection } from './pg-wire.js';
import { timestampFromText } from './postgres-dialect.js';

const require = createRequire(import.meta.url);

export interface SessionSettings {
  /** Host name, IP address, or a directory holding the server's Unix socket. */
  host: string;
  port: number;
  user: string;
  database: string;
  password: string | null;
  ssl: boolean | TlsOptions;
  /** Startup parameters besides user and database (application_name, options, ...). */
  startup: Record<string, string>;
  connectTimeoutMs: number;
}

export type SessionRow = Record<string, unknown>;

/**
 * Settings from a connection URL, with node-postgres' fallbacks: PGUSER/USER, PGHOST or
 * localhost, PGPORT or 5432, PGDATABASE or the user name, PGPASSWORD, PGSSLMODE.
 */
export function sessionSettings(url: string, extra: { options?: string; applicationName: string; connectTimeoutMs: number }): SessionSettings {
  const { parse } = require('pg-connection-string') as typeof import('pg-connection-string');
  const config = parse(url);
  const env = process.env;
  const user = config.user || env.PGUSER || (process.platform === 'win32' ? env.USERNAME : env.USER) || '';
  const startup: Record<string, string> = { application_name: str(config.application_name) || env.PGAPPNAME || extra.applicationName };
  for (const key of ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'] as const) {
    const value = str(config[key]);
    if (value) startup[key] = String(parseInt(value, 10));
  }
  const options = [str(config.options) || env.PGOPTIONS, extra.options].filter(Boolean).join(' ');
  if (options) startup.options = options;
  return {
    host: config.host || env.PGHOST || 'localhost',
    port: parseInt(config.port || env.PGPORT || '5432', 10),
    user,
    database: config.database || env.PGDATABASE || user,
    password: config.password || env.PGPASSWORD || null,
    ssl: sslSetting(config.ssl === undefined ? sslFromEnvironment(env.PGSSLMODE) : config.ssl),
    startup,
    connectTimeoutMs: extra.connectTimeoutMs,
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function sslFromEnvironment(mode: string | undefined): boolean | string {
  if (mode === 'prefer' || mode === 'require' || mode === 'verify-ca' || mode === 'verify-full') return true;
  if (mode === 'no-verify') return 'no-verify';
  return false;
}

function sslSetting(value: unknown): boolean | TlsOptions {
  if (value === 'true' || value === true) return true;
  if (value === 'no-verify') return { rejectUnauthorized: false };
  if (typeof value === 'object' && value !== null) return value as TlsOptions;
  return false;
}

/** Column values as node-postgres returns them for the types the tool reads; other types stay text. */
function convert(type: number, text: string): unknown {
  switch (type) {
    case 16: // bool
      return text === 't';
    case 21: // int2
    case 23: // int4
    case 26: // oid
      return Number(text);
    case 1114: // timestamp
    case 1184: // timestamptz
      return timestampFromText(text);
    default:
      return text;
  }
}

interface Pending {
  fields: { name: string; type: number }[];
  rows: SessionRow[];
  /** Per `COPY ... TO STDOUT` statement, the data it sent. */
  copies: Buffer[][];
  error: unknown;
  resolve: (result: { rows: SessionRow[]; copies: Buffer[][] }) => void;
  reject: (error: unknown) => void;
}

export interface Session {
  /**
   * Runs one query: simple protocol without parameters (any number of statements), extended with.
   * Queries are pipelined: each is sent at once, and the answers come back in order.
   */
  query(text: string, params?: unknown[]): Promise<SessionRow[]>;
  /**
   * Runs `COPY ... TO STDOUT` statements (one script) and returns, per statement, its rows in
   * COPY's text format, split into fields (`null` for NULL).
   */
  copyOut(script: string): Promise<(string | null)[][][]>;
  readonly alive: boolean;
  /** Sends Terminate and lets the process exit without waiting for the server to close. */
  close(): void;
}

/**
 * Opens a session and waits until the server is ready for queries.
 *
 * @example
 *   const session = await openSession(sessionSettings(url, { applicationName: 'orchestrate', connectTimeoutMs: 10_000 }));
 *   const [row] = await session.query('SELECT 1 AS one'); // { one: '1' }
 *   session.close();
 */
export function openSession(settings: SessionSettings): Promise<Session> {
  const con = new WireConnection(settings.ssl);
  let alive = true;
  let ready = false;
  // Queries in flight, oldest first: each is sent at once, and the server answers them in order.
  const inflight: Pending[] = [];
  let password = settings.password;
  let scram: { mechanism: string; response: string; message: string } | null = null;

  return new Promise<Session>((resolveOpen, rejectOpen) => {
    let opening = true;
    const timer = setTimeout(() => {
      con.markEnding();
      con.stream.destroy(new Error('Connection terminated due to connection timeout'));
    }, settings.connectTimeoutMs);
    timer.unref();

    const fail = (error: unknown) => {
      if (opening) {
        opening = false;
        clearTimeout(timer);
        alive = false;
        con.markEnding();
        con.stream.destroy();
        rejectOpen(error);
        return;
      }
      for (const pending of inflight.splice(0)) pending.reject(error);
    };

    /** The password, from the settings or from ~/.pgpass (PGPASSFILE), as node-postgres finds it. */
    const withPassword = (use: (password: string) => void | Promise<void>) => {
      const go = (pw: string | null) => {
        if (pw === null) return fail(new Error('the server asks for a password, but the URL has none (add it to the URL, PGPASSWORD or ~/.pgpass)'));
        password = pw;
        // Through a promise, so that a synchronous throw (e.g. no SASL mechanism in common)
        // rejects the open instead of escaping from the socket's data handler.
        Promise.resolve()
          .then(() => use(pw))
          .catch(fail);
      };
      if (password !== null) return go(password);
      const pgpass = require('pgpass') as (info: object, cb: (pw?: string) => void) => void;
      pgpass({ host: settings.host, port: settings.port, database: settings.database, user: settings.user }, (pw) => go(pw ?? null));
    };

    con.on('connect', () => (settings.ssl ? con.requestSsl() : con.startup({ user: settings.user, database: settings.database, ...settings.startup })));
    con.on('sslconnect', () => con.startup({ user: settings.user, database: settings.database, ...settings.startup }));
    con.on('authenticationCleartextPassword', () => withPassword((pw) => con.password(pw)));
    con.on('authenticationMD5Password', (msg: { salt: Buffer }) =>
      withPassword((pw) => {
        // md5(md5(password + user) + salt), in hex, prefixed with "md5" (as libpq computes it).
        const { createHash } = require('node:crypto') as typeof import('node:crypto');
        const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
        con.password(`md5${md5(Buffer.concat([Buffer.from(md5(pw + settings.user)), msg.salt]))}`);
      }),
    );
    con.on('authenticationSASL', (msg: { mechanisms: string[] }) =>
      withPassword(() => {
        scram = sasl().startSession(msg.mechanisms);
        con.sendSASLInitialResponseMessage(scram.mechanism, scram.response);
      }),
    );
    con.on('authenticationSASLContinue', (msg: { data: string }) => {
      sasl()
        .continueSession(scram, password, msg.data)
        .then(() => con.sendSCRAMClientFinalMessage(scram!.response))
        .catch(fail);
    });
    con.on('authenticationSASLFinal', (msg: { data: string }) => {
      try {
        sasl().finalizeSession(scram, msg.data);
      } catch (error) {
        fail(error);
      }
    });
    con.on('rowDescription', (msg: { fields: { name: string; dataTypeID: number }[] }) => {
      const current = inflight[0];
      if (current) current.fields = msg.fields.map((f) => ({ name: f.name, type: f.dataTypeID }));
    });
    con.on('dataRow', (msg: { fields: (string | null)[] }) => {
      const current = inflight[0];
      if (!current) return;
      const row: SessionRow = {};
      const { fields } = current;
      for (let i = 0; i < fields.length; i++) {
        const value = msg.fields[i];
        row[fields[i]!.name] = value === null || value === undefined ? null : convert(fields[i]!.type, value);
      }
      current.rows.push(row);
    });
    con.on('copyOutResponse', () => inflight[0]?.copies.push([]));
    con.on('copyData', (msg: { chunk: Buffer }) => inflight[0]?.copies.at(-1)?.push(msg.chunk));
    // COPY ... FROM STDIN has no data source here: refuse it, and the server reports an error.
    con.on('copyInResponse', () => con.sendCopyFail('COPY FROM STDIN is not supported in migrations; use INSERT statements'));
    con.on('errorMessage', (error: unknown) => {
      if (opening) return fail(error);
      const current = inflight[0];
      if (current && current.error === null) current.error = error;
    });
    con.on('readyForQuery', () => {
      if (opening) {
        opening = false;
        ready = true;
        clearTimeout(timer);
        resolveOpen(session);
        return;
      }
      const pending = inflight.shift();
      if (!pending) return;
      if (pending.error !== null) pending.reject(pending.error);
      else pending.resolve({ rows: pending.rows, copies: pending.copies });
    });
    con.on('error', (error: unknown) => {
      alive = false;
      fail(error);
    });
    con.once('end', () => {
      alive = false;
      fail(new Error(ready ? 'Connection terminated unexpectedly' : 'Connection terminated by the server during start-up'));
    });

    const send = (text: string, params?: unknown[]) =>
      new Promise<{ rows: SessionRow[]; copies: Buffer[][] }>((resolve, reject) => {
        if (!alive) return reject(new Error('Connection terminated'));
        // Converted before anything is queued: a value that cannot be sent rejects this query only.
        const values = params === undefined || params.length === 0 ? null : params.map(toParameter);
        inflight.push({ fields: [], rows: [], copies: [], error: null, resolve, reject });
        if (values === null) con.query(text);
        else con.extendedQuery(text, values);
      });

    const session: Session = {
      get alive() {
        return alive;
      },
      async query(text, params) {
        return (await send(text, params)).rows;
      },
      async copyOut(script) {
        const { copies } = await send(script);
        return copies.map((chunks) => copyRows(Buffer.concat(chunks).toString('utf8')));
      },
      close() {
        if (!alive) return;
        alive = false;
        con.end();
        con.stream.unref();
      },
    };

    if (settings.host.startsWith('/')) con.connect(`${settings.host}/.s.PGSQL.${settings.port}`);
    else con.connect(settings.port, settings.host);
  });
}

interface Sasl {
  startSession(mechanisms: string[]): { mechanism: string; response: string; message: string };
  continueSession(session: unknown, password: string | null, data: string): Promise<void>;
  finalizeSession(session: unknown, data: string): void;
}
const sasl = () => require('pg/lib/crypto/sasl') as Sasl;

/** A query parameter as text, the way node-postgres sends it (arrays as array literals). */
function toParameter(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return arrayLiteral(v);
    return `"${String(toParameter(v)).replace(/(["\\])/g, '\\$1')}"`;
  });
  return `{${items.join(',')}}`;
}

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * Rows of COPY's text format: tab-separated fields, `\N` for NULL. COPY TO escapes a backslash
 * and the control characters \b \f \n \r \t \v with a backslash, and nothing else.
 */
export function copyRows(text: string): (string | null)[][] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) =>
    line.split('\t').map((field) => {
      if (field === '\\N') return null;
      if (!field.includes('\\')) return field;
      return field.replace(/\\(.)/g, (_, c: string) => COPY_ESCAPES[c] ?? c);
    }),
  );
}

/**
 * The PostgreSQL v3 wire protocol, as much of it as a migration session uses: startup (with
 * TLS negotiation), authentication messages, the simple and extended query protocols, COPY TO
 * STDOUT, errors. It emits events under node-postgres' names (`readyForQuery`, `dataRow`,
 * `errorMessage`, ...), so `pg-session.ts` reads like a node-postgres client.
 *
 * Why not node-postgres' own `Connection` and `pg-protocol`: resolving and loading those two
 * packages costs ~5 ms on every start (most of it resolving them through the package manager's
 * links), which is a tenth of a no-op `migrate` in a container entrypoint. The messages below are
 * the protocol's documented formats (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';

const require = createRequire(import.meta.url);

/** A server error or notice, with node-postgres' field names. */
export class DatabaseError extends Error {
  severity?: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  internalPosition?: string;
  internalQuery?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
}

const ERROR_FIELDS: Record<string, keyof DatabaseError> = {
  S: 'severity',
  C: 'code',
  D: 'detail',
  H: 'hint',
  P: 'position',
  p: 'internalPosition',
  q: 'internalQuery',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
  F: 'file',
  L: 'line',
  R: 'routine',
};

const PROTOCOL_3_0 = 196608;
const SSL_REQUEST_CODE = 80877103;

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
}

const cstring = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/** A typed frontend message: type byte, int32 length (itself included), body. */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** NUL-terminated strings starting at `offset`, up to an empty one or the end. */
function cstrings(body: Buffer, offset: number): string[] {
  const out: string[] = [];
  while (offset < body.length) {
    const end = body.indexOf(0, offset);
    if (end === -1 || end === offset) break;
    out.push(body.toString('utf8', offset, end));
    offset = end + 1;
  }
  return out;
}

function parseError(body: Buffer): DatabaseError {
  const fields: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]!);
    const end = body.indexOf(0, offset + 1);
    if (end === -1) break;
    fields[code] = body.toString('utf8', offset + 1, end);
    offset = end + 1;
  }
  const error = new DatabaseError(fields.M ?? 'unknown server error');
  for (const [code, name] of Object.entries(ERROR_FIELDS)) {
    if (fields[code] !== undefined) (error as unknown as Record<string, string>)[name] = fields[code];
  }
  return error;
}

type Socket = net.Socket;

/**
 * One connection. Events: `connect` (TCP or socket connected, before TLS), `sslconnect`,
 * `authenticationCleartextPassword`, `authenticationMD5Password` ({ salt }),
 * `authenticationSASL` ({ mechanisms }), `authenticationSASLContinue` ({ data }),
 * `authenticationSASLFinal` ({ data }), `rowDescription` ({ fields: [{ name, dataTypeID }] }),
 * `dataRow` ({ fields }), `copyOutResponse`, `copyData` ({ chunk }), `copyInResponse`,
 * `errorMessage` (DatabaseError), `readyForQuery`, `error` (socket errors), `end` (closed).
 */
export class WireConnection extends EventEmitter {
  stream: Socket;
  private pending: Buffer | null = null;
  private ending = false;

  constructor(private readonly ssl: boolean | TlsOptions) {
    super();
    this.stream = new net.Socket();
  }

  /** A TCP port and host, or the path of a Unix socket (`port` alone, as a string). */
  connect(port: number | string, host?: string): void {
    const socket = this.stream;
    socket.setNoDelay(true);
    if (typeof port === 'string') socket.connect(port);
    else socket.connect(port, host!);
    socket.once('connect', () => this.emit('connect'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Resets while we are closing the connection ourselves are expected.
      if (this.ending && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return;
      this.emit('error', error);
    });
    socket.on('close', () => this.emit('end'));
    if (!this.ssl) {
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
      return;
    }
    socket.once('data', (reply: Buffer) => {
      if (reply[0] !== 0x53 /* S */) {
        socket.destroy();
        this.emit('error', new Error(reply[0] === 0x4e ? 'The server does not support SSL connections' : 'There was an error establishing an SSL connection'));
        return;
      }
      const tls = require('node:tls') as typeof import('node:tls');
      const options: TlsOptions = { socket, ...(this.ssl === true ? {} : this.ssl) };
      if (host !== undefined && net.isIP(host) === 0) options.servername = host;
      let secure: Socket;
      try {
        secure = tls.connect(options);
      } catch (error) {
        this.emit('error', error);
        return;
      }
      this.stream = secure;
      secure.on('data', (chunk: Buffer) => this.receive(chunk));
      secure.on('error', (error: unknown) => this.emit('error', error));
      this.emit('sslconnect');
    });
  }

  requestSsl(): void {
    this.stream.write(Buffer.concat([int32(8), int32(SSL_REQUEST_CODE)]));
  }

  startup(params: Record<string, string>): void {
    const pairs = Object.entries({ ...params, client_encoding: 'UTF8' }).flatMap(([k, v]) => [cstring(k), cstring(v)]);
    const body = Buffer.concat([int32(PROTOCOL_3_0), ...pairs, Buffer.from([0])]);
    this.send(Buffer.concat([int32(4 + body.length), body]));
  }

  password(password: string): void {
    this.send(message('p', cstring(password)));
  }

  sendSASLInitialResponseMessage(mechanism: string, response: string): void {
    const data = Buffer.from(response, 'utf8');
    this.send(message('p', cstring(mechanism), int32(data.length), data));
  }

  sendSCRAMClientFinalMessage(response: string): void {
    this.send(message('p', Buffer.from(response, 'utf8')));
  }

  query(text: string): void {
    this.send(message('Q', cstring(text)));
  }

  /** Parse, Bind (text parameters), Describe portal, Execute, Sync: one extended-protocol query. */
  extendedQuery(text: string, values: (string | null)[]): void {
    const params = values.map((v) => {
      if (v === null) return int32(-1);
      const data = Buffer.from(v, 'utf8');
      return Buffer.concat([int32(data.length), data]);
    });
    this.send(
      Buffer.concat([
        message('P', cstring(''), cstring(text), int16(0)),
        message('B', cstring(''), cstring(''), int16(0), int16(values.length), ...params, int16(0)),
        message('D', Buffer.from('P'), cstring('')),
        message('E', cstring(''), int32(0)),
        message('S'),
      ]),
    );
  }

  sendCopyFail(reason: string): void {
    this.send(message('f', cstring(reason)));
  }

  /** Terminate, then close our side. */
  end(): void {
    this.ending = true;
    if (!this.stream.writable) {
      this.stream.end();
      return;
    }
    this.stream.write(message('X'), () => this.stream.end());
  }

  /** Marks the connection as being closed on purpose (resets are then not errors). */
  markEnding(): void {
    this.ending = true;
  }

  private send(data: Buffer): void {
    if (this.stream.writable) this.stream.write(data);
  }

  /** Splits the byte stream into messages; a message may span several chunks. */
  private receive(chunk: Buffer): void {
    const buffer = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    while (buffer.length - offset >= 5) {
      const length = buffer.readInt32BE(offset + 1);
      if (buffer.length - offset < 1 + length) break;
      // Chunks are not reused by the socket, so bodies may stay views into them.
      this.dispatch(buffer[offset]!, buffer.subarray(offset + 5, offset + 1 + length));
      offset += 1 + length;
    }
    this.pending = offset === buffer.length ? null : buffer.subarray(offset);
  }

  private dispatch(type: number, body: Buffer): void {
    switch (String.fromCharCode(type)) {
      case 'R':
        return this.authentication(body);
      case 'Z':
        return void this.emit('readyForQuery');
      case 'T': {
        const count = body.readInt16BE(0);
        const fields: { name: string; dataTypeID: number }[] = [];
        let offset = 2;
        for (let i = 0; i < count; i++) {
          const end = body.indexOf(0, offset);
          const name = body.toString('utf8', offset, end);
          // After the name: table OID (4), column number (2), type OID (4), size (2), modifier (4), format (2).
          fields.push({ name, dataTypeID: body.readInt32BE(end + 7) });
          offset = end + 19;
        }
        return void this.emit('rowDescription', { fields });
      }
      case 'D': {
        const count = body.readInt16BE(0);
        const fields: (string | null)[] = [];
        let offset = 2;
        for (let i = 0; i < count; i++) {
          const length = body.readInt32BE(offset);
          offset += 4;
          if (length === -1) {
            fields.push(null);
          } else {
            fields.push(body.toString('utf8', offset, offset + length));
            offset += length;
          }
        }
        return void this.emit('dataRow', { fields });
      }
      case 'E':
        return void this.emit('errorMessage', parseError(body));
      case 'H':
        return void this.emit('copyOutResponse');
      case 'd':
        return void this.emit('copyData', { chunk: body });
      case 'G':
        return void this.emit('copyInResponse');
      default:
        // ParameterStatus, BackendKeyData, CommandComplete, EmptyQueryResponse, ParseComplete,
        // BindComplete, NoData, ParameterDescription, CopyDone, NoticeResponse,
        // NotificationResponse, NegotiateProtocolVersion: nothing to do.
        return;
    }
  }

  private authentication(body: Buffer): void {
    const code = body.readInt32BE(0);
    switch (code) {
      case 0:
        return; // AuthenticationOk: ParameterStatus, BackendKeyData and ReadyForQuery follow.
      case 3:
        return void this.emit('authenticationCleartextPassword');
      case 5:
        return void this.emit('authenticationMD5Password', { salt: Buffer.from(body.subarray(4, 8)) });
      case 10:
        return void this.emit('authenticationSASL', { mechanisms: cstrings(body, 4) });
      case 11:
        return void this.emit('authenticationSASLContinue', { data: body.toString('utf8', 4) });
      case 12:
        return void this.emit('authenticationSASLFinal', { data: body.toString('utf8', 4) });
      default:
        this.emit('error', new Error(`the server asks for an authentication method this tool does not support (code ${code}); use password, md5 or scram-sha-256 in pg_hba.conf`));
    }
  }
}

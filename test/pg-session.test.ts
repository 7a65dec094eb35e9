/**
 * The PostgreSQL session under the server driver (src/db/pg-session.ts): queries, parameters,
 * type conversions, COPY TO STDOUT and errors against the test server; authentication,
 * TLS negotiation, time-outs and hang-ups against a fake server that speaks the v3 wire protocol; and the pure
 * helpers (COPY text decoding, connection settings) on their own.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyRows, openSession, sessionSettings, type Session } from '../src/db/pg-session.js';
import { postgresSettings } from '../src/db/postgres.js';
import { PG_ADMIN_URL, createDatabase, query, tempDir } from './helpers.js';

/** Opens a session on a URL with the tool's defaults (and a short time-out: these are local). */
function open(url: string, extra: { options?: string; applicationName?: string; connectTimeoutMs?: number } = {}): Promise<Session> {
  return openSession(sessionSettings(url, { applicationName: 'orchestrate', connectTimeoutMs: 5000, ...extra }));
}

/** A broken session tends to hang rather than throw: fail fast instead of after the global 120 s. */
const FAST = { timeout: 10_000 };

/** Polls until `check` holds, for at most `ms`. */
async function waitFor(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------------------------
// Against the test server
// ---------------------------------------------------------------------------------------------

describe('session on the test server', FAST, () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const opened: Session[] = [];
  /** A session on the test database, closed after the test. */
  const session = async (url = db.url, extra: Parameters<typeof open>[1] = {}) => {
    const s = await open(url, extra);
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await createDatabase('orch_pgsession');
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('runs scripts of several statements with the simple protocol', async () => {
    const s = await session();
    const rows = await s.query(`
      CREATE TABLE script_t (id int PRIMARY KEY, name text);
      INSERT INTO script_t VALUES (1, 'one'), (2, 'two');
      UPDATE script_t SET name = upper(name) WHERE id = 2;
      SELECT id, name FROM script_t ORDER BY id;
    `);
    expect(rows).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'TWO' },
    ]);
    // Every statement's rows, in order; statements without rows contribute none.
    expect(await s.query('SELECT 1 AS a; SELECT 2 AS b; SET search_path = public')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(await s.query('')).toEqual([]);
    expect(await s.query('SELECT 1 AS n WHERE false')).toEqual([]);
  });

  it('binds parameters, with arrays as array literals that round-trip exactly', async () => {
    const s = await session();
    const strings = ['plain', 'say "hi"', 'back\\slash', 'trailing\\', 'a,b', '{braces}', null, '', 'NULL', ' spaced ', "it's", 'tab\tnew\nline', 'ünïcødé €😀'];
    const [row] = await s.query('SELECT array_to_json($1::text[])::text AS json, cardinality($1::text[]) AS n, ($1::text[])[7] IS NULL AS seventh_is_null', [strings]);
    expect(JSON.parse(row!.json as string)).toEqual(strings);
    expect(row).toMatchObject({ n: strings.length, seventh_is_null: true });

    // Nested arrays, an empty array, scalars of every kind, NULL and undefined, a Date, an object.
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const [all] = await s.query(
      `SELECT array_to_json($1::int[])::text AS grid, cardinality($2::text[]) AS empty, $3::int + 1 AS n, $4::bool AS flag,
              $5::text AS t, $6::text IS NULL AS null_is_null, $7::text IS NULL AS undefined_is_null, $8::timestamptz AS at, $9::jsonb ->> 'k' AS k`,
      [[[1, 2], [3, 4]], [], 41, false, "'; DROP TABLE nothing; --", null, undefined, at, { k: 'v"w' }],
    );
    expect(all).toEqual({ grid: '[[1,2],[3,4]]', empty: 0, n: 42, flag: false, t: "'; DROP TABLE nothing; --", null_is_null: true, undefined_is_null: true, at, k: 'v"w' });

    // Parameters reach tables too, not just expressions.
    await s.query('CREATE TABLE param_t (id int, tags text[])');
    await s.query('INSERT INTO param_t VALUES ($1, $2)', [1, strings]);
    const [stored] = await s.query('SELECT array_to_json(tags)::text AS json FROM param_t WHERE id = $1', [1]);
    expect(JSON.parse(stored!.json as string)).toEqual(strings);
  });

  it('converts bool, int2/int4/oid, timestamp(tz) and NULL; leaves other types as text', async () => {
    const s = await session();
    const sql = `SELECT true AS yes, false AS no, 42::int4 AS i4, (-7)::int2 AS i2, 'pg_class'::regclass::oid AS oid,
                        '2024-05-06 07:08:09.123+02'::timestamptz AS tz, 'hello' AS t, ''::text AS empty,
                        NULL::text AS null_text, NULL::int AS null_int, NULL::timestamptz AS null_tz, NULL::bool AS null_bool,
                        9007199254740993::int8 AS big, 1.50::numeric AS num, '{"a":1}'::jsonb AS j, '{1,2}'::int[] AS arr`;
    const expected = {
      yes: true,
      no: false,
      i4: 42,
      i2: -7,
      oid: 1259,
      tz: new Date(Date.UTC(2024, 4, 6, 5, 8, 9, 123)),
      t: 'hello',
      empty: '',
      null_text: null,
      null_int: null,
      null_tz: null,
      null_bool: null,
      big: '9007199254740993',
      num: '1.50',
      j: '{"a": 1}',
      arr: '{1,2}',
    };
    const [simple] = await s.query(sql);
    expect(simple).toEqual(expected);
    expect(simple!.tz).toBeInstanceOf(Date);
    // The extended protocol (any parameter) describes its portal: the same conversions apply.
    const [extended] = await s.query(`${sql}, $1::int AS p`, [5]);
    expect(extended).toEqual({ ...expected, p: 5 });
    // Years before 100 are read as written (JavaScript's lenient date parser would make them 19xx/20xx).
    const [{ early, late }] = (await s.query(`SELECT '0001-01-01 00:00:00+00'::timestamptz AS early, '0050-06-01 12:00:00'::timestamp AS late`)) as [{ early: Date; late: Date }];
    expect(early.getUTCFullYear()).toBe(1);
    expect(late.getFullYear()).toBe(50);
    // now() is a timestamptz near the client's clock.
    const [{ now }] = (await s.query('SELECT now() AS now')) as [{ now: Date }];
    expect(now).toBeInstanceOf(Date);
    expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('copyOut decodes several COPY TO STDOUT statements of one script into the original strings', async () => {
    const s = await session();
    const values: (string | null)[] = [
      'plain',
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      'crlf\r\n',
      'back\\slash',
      '\\N',
      '\\',
      '',
      null,
      'controls \b\f\v end',
      'all\t\n\r\\ of them',
      'ünïcødé €😀',
    ];
    await s.query('CREATE TABLE copy_a (id int PRIMARY KEY, v text, w text); CREATE TABLE copy_b (k text PRIMARY KEY, n int); CREATE TABLE copy_empty (x text)');
    for (const [i, v] of values.entries()) await s.query('INSERT INTO copy_a VALUES ($1, $2, $3)', [i, v, i % 2 ? null : `row ${i}`]);
    await s.query('INSERT INTO copy_b VALUES ($1, $2), ($3, NULL)', ['key\twith\ttabs', 7, 'second\\key']);

    const copies = await s.copyOut(
      [
        'COPY (SELECT id, v, w FROM copy_a ORDER BY id) TO STDOUT',
        'COPY (SELECT k, n FROM copy_b ORDER BY n NULLS LAST) TO STDOUT',
        'COPY copy_empty (x) TO STDOUT',
      ].join(';\n'),
    );
    expect(copies).toHaveLength(3);
    expect(copies[0]).toEqual(values.map((v, i) => [String(i), v, i % 2 ? null : `row ${i}`]));
    expect(copies[1]).toEqual([
      ['key\twith\ttabs', '7'],
      ['second\\key', null],
    ]);
    expect(copies[2]).toEqual([]);

    // A big table arrives in many CopyData messages; every row survives.
    await s.query(`CREATE TABLE copy_big AS SELECT g AS id, repeat('x\ty\\', g % 50) AS v FROM generate_series(1, 5000) g`);
    const [big] = await s.copyOut('COPY (SELECT id, v FROM copy_big ORDER BY id) TO STDOUT');
    expect(big).toHaveLength(5000);
    expect(big![4999]).toEqual(['5000', '']);
    expect(big![48]).toEqual(['49', 'x\ty\\'.repeat(49)]);
  });

  it('refuses COPY FROM STDIN with a server error and keeps working', async () => {
    const s = await session();
    await s.query('CREATE TABLE copy_in (v text)');
    await expect(s.query('COPY copy_in FROM STDIN')).rejects.toMatchObject({ message: expect.stringContaining('COPY FROM STDIN is not supported') });
    expect(await s.query('SELECT count(*)::int AS n FROM copy_in')).toEqual([{ n: 0 }]);
  });

  it('rejects server errors with SQLSTATE and position, and the session keeps working', async () => {
    const s = await session();
    const error = await s.query('SELECT 1;\nSELEC 2;').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: '42601', position: '11', severity: 'ERROR', message: 'syntax error at or near "SELEC"' });
    expect(await s.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);

    // The same through the extended protocol, and a run-time error half-way through a script.
    await expect(s.query('SELECT $1::int AS n', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect(await s.query('SELECT $1::int AS n', ['12'])).toEqual([{ n: 12 }]);
    await s.query('CREATE TABLE err_t (id int PRIMARY KEY)');
    await expect(s.query('INSERT INTO err_t VALUES (1); INSERT INTO err_t VALUES (1); INSERT INTO err_t VALUES (2)')).rejects.toMatchObject({ code: '23505', constraint: 'err_t_pkey' });
    // A simple-protocol script is one implicit transaction: nothing of it stays.
    expect(await s.query('SELECT count(*)::int AS n FROM err_t')).toEqual([{ n: 0 }]);
    expect(s.alive).toBe(true);
  });

  it('queues a query issued before the previous one finished, and runs them in order', async () => {
    const s = await session();
    const finished: string[] = [];
    const track = <T>(name: string, p: Promise<T>) => p.finally(() => finished.push(name));
    const first = track('first', s.query("SELECT pg_sleep(0.2), set_config('orch.step', 'first', false) AS step"));
    const second = track('second', s.query("SELECT current_setting('orch.step') AS step"));
    const broken = track('broken', s.query('SELEC'));
    const third = track('third', s.query("SELECT set_config('orch.step', $1, false) AS step", ['third']));
    const fourth = track('fourth', s.query("SELECT current_setting('orch.step') AS step"));
    const results = await Promise.allSettled([first, second, broken, third, fourth]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseFulfilledResult<unknown>).value).toEqual([{ step: 'first' }]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '42601' });
    expect((results[4] as PromiseFulfilledResult<unknown>).value).toEqual([{ step: 'third' }]);
    expect(finished).toEqual(['first', 'second', 'broken', 'third', 'fourth']);

    // copyOut waits its turn too.
    const q = s.query("SELECT pg_sleep(0.1), set_config('orch.step', 'copied', false)");
    const c = s.copyOut("COPY (SELECT current_setting('orch.step')) TO STDOUT");
    await q;
    expect(await c).toEqual([[['copied']]]);
  });

  it('sends the startup parameters: user, database, application_name and options', async () => {
    const s = await session(db.url, { applicationName: 'orch-session-test', options: '-c search_path=orch_custom,public' });
    expect(await s.query('SELECT current_user AS usr, current_database() AS db, current_setting($1) AS app, current_setting($2) AS path', ['application_name', 'search_path'])).toEqual([
      { usr: 'postgres', db: db.name, app: 'orch-session-test', path: 'orch_custom,public' },
    ]);
    // The URL's own options and application_name.
    const fromUrl = await session(`${db.url}?application_name=from-url&options=${encodeURIComponent('-c statement_timeout=4321')}`, { options: '-c lock_timeout=1234' });
    expect(await fromUrl.query('SHOW application_name; SHOW statement_timeout; SHOW lock_timeout')).toEqual([
      { application_name: 'from-url' },
      { statement_timeout: '4321ms' },
      { lock_timeout: '1234ms' },
    ]);
  });

  it('connects through the Unix socket directory given as ?host=', async () => {
    const s = await session(`postgresql://postgres@localhost/${db.name}?host=/var/run/postgresql`);
    // inet_server_addr() is NULL on a Unix-domain socket.
    expect(await s.query('SELECT current_database() AS db, inet_server_addr() AS addr')).toEqual([{ db: db.name, addr: null }]);
  });

  it('reports start-up errors from the server and refused connections', async () => {
    const missing = new URL(db.url);
    missing.pathname = '/orch_no_such_database';
    await expect(open(missing.toString())).rejects.toMatchObject({ code: '3D000', message: 'database "orch_no_such_database" does not exist' });

    // A port nobody listens on: take a free one and close it again.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await expect(open(`postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('close() makes the session not alive, ends the server backend, and later queries reject', async () => {
    const app = `orch-close-${randomBytes(4).toString('hex')}`;
    const backends = async () => (await query<{ n: number }>(PG_ADMIN_URL, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]))[0]!.n;
    const s = await open(db.url, { applicationName: app });
    expect(s.alive).toBe(true);
    expect(await backends()).toBe(1);
    s.close();
    expect(s.alive).toBe(false);
    s.close(); // a second close is harmless
    await expect(s.query('SELECT 1')).rejects.toThrow('Connection terminated');
    await expect(s.copyOut('COPY (SELECT 1) TO STDOUT')).rejects.toThrow('Connection terminated');
    await waitFor(async () => (await backends()) === 0);
  });

  it('notices a backend terminated by the server: alive turns false and queries reject', async () => {
    const s = await session();
    const [{ pid }] = (await s.query('SELECT pg_backend_pid() AS pid')) as [{ pid: number }];
    await query(PG_ADMIN_URL, 'SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => !s.alive);
    await expect(s.query('SELECT 1')).rejects.toThrow('Connection terminated');
  });
});

// ---------------------------------------------------------------------------------------------
// Against a fake server: the v3 wire protocol, server side, just enough to authenticate
// ---------------------------------------------------------------------------------------------

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const cstring = (s: string) => Buffer.from(`${s}\0`);
/** A backend message: type byte, int32 length (itself included), body. */
const message = (type: string, ...body: Buffer[]) => {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type), int32(payload.length + 4), payload]);
};
const md5hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** Frontend messages from one client socket, read as they arrive. */
class Wire {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  private notify() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next `n` bytes, or null once the client has gone. */
  private async read(n: number): Promise<Buffer | null> {
    while (this.buffer.length < n) {
      if (this.ended) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** The startup message: int32 length, int32 protocol, then NUL-terminated key/value pairs. */
  async startup(): Promise<{ protocol: number; params: Record<string, string> } | null> {
    const length = await this.read(4);
    const body = length && (await this.read(length.readInt32BE(0) - 4));
    if (!body) return null;
    const parts = body.subarray(4).toString('utf8').split('\0');
    const params: Record<string, string> = {};
    for (let i = 0; parts[i]; i += 2) params[parts[i]!] = parts[i + 1]!;
    return { protocol: body.readInt32BE(0), params };
  }

  /** The next typed message (type byte, int32 length, body), or null once the client has gone. */
  async next(): Promise<{ type: string; body: Buffer } | null> {
    const head = await this.read(5);
    const body = head && (await this.read(head.readInt32BE(1) - 4));
    return body ? { type: String.fromCharCode(head![0]!), body } : null;
  }

  /** The next message, which must be of `type`. */
  async expect(type: string): Promise<Buffer> {
    const msg = await this.next();
    if (!msg) throw new Error(`client hung up while the server waited for '${type}'`);
    if (msg.type !== type) throw new Error(`expected message '${type}', got '${msg.type}'`);
    return msg.body;
  }

  send(...messages: Buffer[]) {
    this.socket.write(Buffer.concat(messages));
  }
}

interface FakeOptions {
  /** How the server authenticates; 'silent' accepts the connection and never answers. */
  auth: 'cleartext' | 'md5' | 'scram' | 'silent';
  password?: string;
  /** What happens when the first query arrives: answer it, or close the socket. */
  onQuery?: 'answer' | 'hang-up';
  /** SCRAM: send a server signature that does not match. */
  forgeServerSignature?: boolean;
  /** SCRAM: the mechanisms offered (default SCRAM-SHA-256). */
  mechanisms?: string[];
  /** Answer an SSLRequest: with TLS (this key and certificate), or 'refuse' ('N'). */
  tls?: { key: string; cert: string } | 'refuse';
}

/** What the fake server saw of one client. */
interface Seen {
  protocol: number;
  params: Record<string, string>;
  /** Password messages (cleartext or MD5 hash) as sent. */
  passwords: string[];
  authenticated: boolean;
  problems: string[];
}

interface FakeServer {
  port: number;
  seen: Seen[];
  /** A URL to this server; `userinfo` is `user` or `user:password`. */
  url(userinfo: string): string;
  close(): Promise<void>;
}

/** The server side of one connection. */
async function converse(wire: Wire, options: FakeOptions, seen: Seen[]): Promise<void> {
  const startup = await wire.startup();
  if (!startup) return;
  const record: Seen = { ...startup, passwords: [], authenticated: false, problems: [] };
  seen.push(record);
  if (options.auth === 'silent') return;
  const user = startup.params.user ?? '';
  const password = options.password ?? '';
  let ok: boolean;

  if (options.auth === 'cleartext') {
    wire.send(message('R', int32(3))); // AuthenticationCleartextPassword
    const body = await wire.expect('p');
    const sent = body.toString('utf8', 0, body.length - 1);
    if (body.at(-1) !== 0) record.problems.push('password message not NUL-terminated');
    record.passwords.push(sent);
    ok = sent === password;
  } else if (options.auth === 'md5') {
    const salt = randomBytes(4);
    wire.send(message('R', int32(5), salt)); // AuthenticationMD5Password
    const body = await wire.expect('p');
    const sent = body.toString('utf8', 0, body.length - 1);
    record.passwords.push(sent);
    ok = sent === `md5${md5hex(Buffer.concat([Buffer.from(md5hex(password + user)), salt]))}`;
  } else {
    // SCRAM-SHA-256 (RFC 5802 / RFC 7677), as PostgreSQL runs it: the user name in the SCRAM
    // messages is empty or '*' (the startup message names the user), no channel binding.
    wire.send(message('R', int32(10), ...(options.mechanisms ?? ['SCRAM-SHA-256']).map(cstring), Buffer.from([0]))); // AuthenticationSASL
    const initial = await wire.expect('p'); // SASLInitialResponse: mechanism\0, int32 length, data
    const nul = initial.indexOf(0);
    const mechanism = initial.toString('utf8', 0, nul);
    const clientFirst = initial.toString('utf8', nul + 5, nul + 5 + initial.readInt32BE(nul + 1));
    if (mechanism !== 'SCRAM-SHA-256') record.problems.push(`mechanism ${mechanism}`);
    if (!clientFirst.startsWith('n,,')) record.problems.push(`gs2 header of ${clientFirst}`);
    const clientFirstBare = clientFirst.slice(3);
    const clientNonce = /(?:^|,)r=([^,]+)/.exec(clientFirstBare)?.[1] ?? '';
    const nonce = clientNonce + randomBytes(18).toString('base64');
    const salt = randomBytes(16);
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=4096`;
    wire.send(message('R', int32(11), Buffer.from(serverFirst))); // AuthenticationSASLContinue

    const clientFinal = (await wire.expect('p')).toString('utf8'); // SASLResponse: c=biws,r=...,p=...
    const attrs = Object.fromEntries(clientFinal.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const salted = pbkdf2Sync(password, salt, 4096, 32, 'sha256');
    const storedKey = sha256(hmac(salted, 'Client Key'));
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.from(attrs.p ?? '', 'base64');
    const recoveredClientKey = Buffer.from(proof.map((byte, i) => byte ^ clientSignature[i]!));
    if (attrs.c !== 'biws') record.problems.push(`channel binding ${attrs.c}`);
    if (attrs.r !== nonce) record.problems.push('nonce mismatch');
    ok = clientNonce.length > 0 && attrs.c === 'biws' && attrs.r === nonce && proof.length === 32 && sha256(recoveredClientKey).equals(storedKey);
    if (ok) {
      const serverSignature = options.forgeServerSignature ? randomBytes(32) : hmac(hmac(salted, 'Server Key'), authMessage);
      wire.send(message('R', int32(12), Buffer.from(`v=${serverSignature.toString('base64')}`))); // AuthenticationSASLFinal
    }
  }

  if (!ok) {
    wire.send(
      message('E', Buffer.from('S'), cstring('FATAL'), Buffer.from('V'), cstring('FATAL'), Buffer.from('C'), cstring('28P01'), Buffer.from('M'), cstring(`password authentication failed for user "${user}"`), Buffer.from([0])),
    );
    wire.socket.end();
    return;
  }
  record.authenticated = true;
  wire.send(
    message('R', int32(0)), // AuthenticationOk
    message('S', cstring('server_version'), cstring('15.0 (fake)')),
    message('S', cstring('client_encoding'), cstring('UTF8')),
    message('K', int32(4242), int32(0x5eed)), // BackendKeyData
    message('Z', Buffer.from('I')), // ReadyForQuery, idle
  );

  for (;;) {
    const msg = await wire.next();
    if (!msg || msg.type === 'X') return;
    if (msg.type !== 'Q') {
      record.problems.push(`unexpected message '${msg.type}'`);
      continue;
    }
    if (options.onQuery === 'hang-up') {
      wire.socket.destroy();
      return;
    }
    // Any query: one text column "user" with the authenticated user name.
    wire.send(
      message('T', int16(1), cstring('user'), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)), // RowDescription
      message('D', int16(1), int32(Buffer.byteLength(user)), Buffer.from(user)), // DataRow
      message('C', cstring('SELECT 1')), // CommandComplete
      message('Z', Buffer.from('I')),
    );
  }
}

async function startFakeServer(options: FakeOptions): Promise<FakeServer> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const run = async () => {
      if (options.tls === undefined) return converse(new Wire(socket), options, seen);
      // SSLRequest: int32 8, int32 80877103; the answer is one byte.
      const request = await new Promise<Buffer>((r) => socket.once('data', r));
      if (request.length !== 8 || request.readInt32BE(4) !== 80877103) throw new Error('expected an SSLRequest');
      if (options.tls === 'refuse') {
        socket.end('N');
        return;
      }
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
      return converse(new Wire(secure), options, seen);
    };
    run().catch((error: Error) => {
      seen.at(-1)?.problems.push(error.message);
      socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    url: (userinfo) => `postgresql://${userinfo}@127.0.0.1:${port}/fakedb?sslmode=disable`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('session on a fake server', FAST, () => {
  const servers: FakeServer[] = [];
  const fake = async (options: FakeOptions) => {
    const server = await startFakeServer(options);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe.each([
    { auth: 'cleartext' as const, password: 'open sesame' },
    { auth: 'md5' as const, password: 'md5 secret' },
    { auth: 'scram' as const, password: 'scram-secret!' },
  ])('$auth password', ({ auth, password }) => {
    it('opens the session with the right password', async () => {
      const server = await fake({ auth, password, onQuery: 'answer' });
      const session = await open(server.url(`x:${encodeURIComponent(password)}`));
      try {
        expect(session.alive).toBe(true);
        expect(await session.query('SELECT current_user')).toEqual([{ user: 'x' }]);
      } finally {
        session.close();
      }
      const [seen] = server.seen;
      expect(seen).toMatchObject({ protocol: 196608, authenticated: true, problems: [] });
      // node-postgres' serialiser adds client_encoding, so text always arrives as UTF-8.
      expect(seen!.params).toEqual({ user: 'x', database: 'fakedb', application_name: 'orchestrate', client_encoding: 'UTF8' });
      if (auth === 'cleartext') expect(seen!.passwords).toEqual([password]);
      if (auth === 'md5') expect(seen!.passwords[0]).toMatch(/^md5[0-9a-f]{32}$/);
    });

    it('rejects a wrong password with SQLSTATE 28P01', async () => {
      const server = await fake({ auth, password });
      await expect(open(server.url('x:wrong'))).rejects.toMatchObject({ code: '28P01', severity: 'FATAL', message: 'password authentication failed for user "x"' });
      expect(server.seen[0]).toMatchObject({ authenticated: false, problems: [] });
    });
  });

  it('SCRAM: rejects a server whose final signature does not prove it knows the password', async () => {
    const server = await fake({ auth: 'scram', password: 'pw', forgeServerSignature: true });
    await expect(open(server.url('x:pw'))).rejects.toThrow('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match');
  });

  it('SCRAM: rejects a server that offers no mechanism the client supports, without crashing', async () => {
    const server = await fake({ auth: 'scram', password: 'pw', mechanisms: ['SCRAM-SHA-256-PLUS'] });
    const started = Date.now();
    await expect(open(server.url('x:pw'), { connectTimeoutMs: 5000 })).rejects.toThrow(/SASL: Only mechanism\(s\) SCRAM-SHA-256 are supported/);
    expect(Date.now() - started).toBeLessThan(2000); // the refusal itself, not the connect timeout
  });

  it('negotiates TLS when the URL asks for it, and runs the whole session encrypted', async () => {
    const dir = tempDir('orch-tls-');
    try {
      const key = path.join(dir.dir, 'key.pem');
      const cert = path.join(dir.dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
      const server = await fake({ auth: 'cleartext', password: 'pw', onQuery: 'answer', tls: { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } });
      const url = server.url('x:pw').replace('sslmode=disable', 'sslmode=no-verify');
      const session = await open(url);
      try {
        expect(await session.query('SELECT current_user')).toEqual([{ user: 'x' }]);
      } finally {
        session.close();
      }
      expect(server.seen[0]).toMatchObject({ authenticated: true, passwords: ['pw'], problems: [] });
    } finally {
      dir.cleanup();
    }
  });

  it('reports a server that refuses TLS when the URL requires it', async () => {
    const server = await fake({ auth: 'cleartext', password: 'pw', tls: 'refuse' });
    await expect(open(server.url('x:pw').replace('sslmode=disable', 'sslmode=require'))).rejects.toThrow('The server does not support SSL connections');
    expect(server.seen).toEqual([]); // no startup message was sent in clear text
  });

  it('takes the password from the PGPASSFILE file when the URL has none', async () => {
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    const dir = tempDir('orch-pgpass-');
    try {
      const server = await fake({ auth: 'cleartext', password: 'from pgpass', onQuery: 'answer' });
      const file = path.join(dir.dir, 'pgpass');
      // Lines that do not match (another port, another user) come first.
      writeFileSync(file, [`127.0.0.1:${server.port + 1}:*:x:wrong port`, `127.0.0.1:${server.port}:*:someone:wrong user`, `127.0.0.1:${server.port}:*:x:from pgpass`, ''].join('\n'));
      chmodSync(file, 0o600);
      process.env.PGPASSFILE = file;
      delete process.env.PGPASSWORD; // pgpass ignores the file while PGPASSWORD is set at all

      const session = await open(server.url('x'));
      expect(await session.query('SELECT 1')).toEqual([{ user: 'x' }]);
      session.close();
      expect(server.seen[0]!.passwords).toEqual(['from pgpass']);

      // No line for this user: the server's request cannot be answered.
      await expect(open(server.url('nobody'))).rejects.toThrow('the server asks for a password, but the URL has none');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      dir.cleanup();
    }
  });

  it('gives up after connectTimeoutMs when the server never answers', async () => {
    const server = await fake({ auth: 'silent' });
    const started = Date.now();
    await expect(openSession(sessionSettings(server.url('x:pw'), { applicationName: 'orchestrate', connectTimeoutMs: 300 }))).rejects.toThrow(/timeout/);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1000);
    expect(server.seen).toHaveLength(1); // it did connect and send its startup message
  });

  it('rejects the query in flight and turns not alive when the server hangs up', async () => {
    const server = await fake({ auth: 'cleartext', password: 'pw', onQuery: 'hang-up' });
    const session = await open(server.url('x:pw'));
    expect(session.alive).toBe(true);
    await expect(session.query('SELECT 1')).rejects.toThrow('Connection terminated unexpectedly');
    expect(session.alive).toBe(false);
    await expect(session.query('SELECT 1')).rejects.toThrow('Connection terminated');
  });

  it('rejects when the server closes the connection during start-up', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      await expect(open(`postgresql://x:pw@127.0.0.1:${port}/db?sslmode=disable`)).rejects.toThrow('Connection terminated by the server during start-up');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

describe('copyRows (COPY text format)', () => {
  it('splits rows on newlines and fields on tabs; one trailing newline ends the last row', () => {
    expect(copyRows('')).toEqual([]);
    expect(copyRows('a\tb\n')).toEqual([['a', 'b']]);
    expect(copyRows('a\tb\nc\td\n')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(copyRows('a\tb')).toEqual([['a', 'b']]); // no trailing newline
    // One-column rows holding the empty string are empty lines; only the final newline is dropped.
    expect(copyRows('\n\n')).toEqual([[''], ['']]);
    expect(copyRows('x\n\n')).toEqual([['x'], ['']]);
  });

  it('decodes \\b \\f \\n \\r \\t \\v and \\\\', () => {
    expect(copyRows('\\b\t\\f\t\\n\t\\r\t\\t\t\\v\t\\\\\n')).toEqual([['\b', '\f', '\n', '\r', '\t', '\v', '\\']]);
    expect(copyRows('line\\none\\r\\nline two\tC:\\\\dir\\\\file\n')).toEqual([['line\none\r\nline two', 'C:\\dir\\file']]);
    // An escaped backslash followed by a letter is a backslash and the letter, not an escape.
    expect(copyRows('\\\\n\t\\\\\\t\n')).toEqual([['\\n', '\\\t']]);
  });

  it('reads \\N as NULL, and tells it from the empty string and from an escaped \\N', () => {
    expect(copyRows('\\N\t\t\\\\N\tN\n')).toEqual([[null, '', '\\N', 'N']]);
    expect(copyRows('\t\n')).toEqual([['', '']]);
    expect(copyRows('\\N\n')).toEqual([[null]]);
  });
});

describe('sessionSettings', () => {
  const VARS = ['PGUSER', 'PGHOST', 'PGPORT', 'PGDATABASE', 'PGPASSWORD', 'PGSSLMODE', 'PGOPTIONS', 'PGAPPNAME', 'USER'];
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
    for (const key of VARS) delete process.env[key];
  });
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const settings = (url: string, options?: string) => sessionSettings(url, { options, applicationName: 'orchestrate', connectTimeoutMs: 1234 });

  it('takes user, password, host, port and database from the URL, decoding them', () => {
    expect(settings('postgresql://alice:s%40cr%3At@db.example.com:6543/app%20db?sslmode=disable')).toEqual({
      host: 'db.example.com',
      port: 6543,
      user: 'alice',
      database: 'app db',
      password: 's@cr:t',
      ssl: false,
      startup: { application_name: 'orchestrate' },
      connectTimeoutMs: 1234,
    });
    expect(settings('postgres://bob@[::1]:5433/db')).toMatchObject({ host: '::1', port: 5433, user: 'bob', password: null });
    expect(settings('postgresql://postgres@localhost/x?host=/var/run/postgresql')).toMatchObject({ host: '/var/run/postgresql', port: 5432, database: 'x' });
  });

  it('falls back to PGUSER, PGHOST, PGPORT, PGDATABASE and PGPASSWORD; the database defaults to the user', () => {
    process.env.PGUSER = 'envuser';
    process.env.PGHOST = 'envhost';
    process.env.PGPORT = '7777';
    process.env.PGDATABASE = 'envdb';
    process.env.PGPASSWORD = 'envpw';
    expect(settings('postgresql:///')).toMatchObject({ host: 'envhost', port: 7777, user: 'envuser', database: 'envdb', password: 'envpw' });
    // The URL wins over the environment.
    expect(settings('postgresql://urluser:urlpw@urlhost:1111/urldb')).toMatchObject({ host: 'urlhost', port: 1111, user: 'urluser', database: 'urldb', password: 'urlpw' });

    delete process.env.PGDATABASE;
    expect(settings('postgresql:///').database).toBe('envuser');
    expect(settings('postgresql://bob@somewhere').database).toBe('bob');

    for (const key of ['PGUSER', 'PGHOST', 'PGPORT', 'PGPASSWORD']) delete process.env[key];
    process.env.USER = 'login';
    expect(settings('postgresql:///')).toMatchObject({ host: 'localhost', port: 5432, user: 'login', database: 'login', password: null });
  });

  it('sslmode=disable turns TLS off, also against PGSSLMODE; PGSSLMODE and ssl=true turn it on', () => {
    expect(settings('postgresql://u@h/d?sslmode=disable').ssl).toBe(false);
    expect(settings('postgresql://u@h/d').ssl).toBe(false);
    expect(settings('postgresql://u@h/d?ssl=true').ssl).toBe(true);
    expect(settings('postgresql://u@h/d?sslmode=no-verify').ssl).toEqual({ rejectUnauthorized: false });
    process.env.PGSSLMODE = 'require';
    expect(settings('postgresql://u@h/d').ssl).toBe(true);
    expect(settings('postgresql://u@h/d?sslmode=disable').ssl).toBe(false);
    process.env.PGSSLMODE = 'disable';
    expect(settings('postgresql://u@h/d').ssl).toBe(false);
  });

  it('joins the URL options and the options argument, URL first', () => {
    const fromUrl = `postgresql://u@h/d?options=${encodeURIComponent('-c statement_timeout=5000')}`;
    expect(settings(fromUrl, '-c search_path=app').startup.options).toBe('-c statement_timeout=5000 -c search_path=app');
    expect(settings(fromUrl).startup.options).toBe('-c statement_timeout=5000');
    expect(settings('postgresql://u@h/d', '-c search_path=app').startup.options).toBe('-c search_path=app');
    expect(settings('postgresql://u@h/d').startup).not.toHaveProperty('options');
    process.env.PGOPTIONS = '-c work_mem=64MB';
    expect(settings('postgresql://u@h/d', '-c search_path=app').startup.options).toBe('-c work_mem=64MB -c search_path=app');
  });

  it("application_name is 'orchestrate' unless the URL (or PGAPPNAME) names one", () => {
    expect(settings('postgresql://u@h/d').startup.application_name).toBe('orchestrate');
    expect(postgresSettings('postgresql://u@h/d', 1000).startup.application_name).toBe('orchestrate');
    expect(settings('postgresql://u@h/d?application_name=my%20app').startup.application_name).toBe('my app');
    process.env.PGAPPNAME = 'from-env';
    expect(settings('postgresql://u@h/d').startup.application_name).toBe('from-env');
    expect(settings('postgresql://u@h/d?application_name=mine').startup.application_name).toBe('mine');
  });
});

/**
 * The PostgreSQL client under the server driver: URL reading (libpq's meaning, redaction),
 * socket hosts and ?schema=, ~/.pgpass, deadlines against servers that misbehave, --wait,
 * cancellation, keepalive, and the migration lock's wait reports and --lock-timeout.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCK_KEY } from '../src/config/settings.js';
import { isCurableByWaiting } from '../src/db/connect.js';
import { LockTimeoutError, type LockHolder } from '../src/db/driver.js';
import { pgTarget } from '../src/db/pg-config.js';
import { connectPostgres } from '../src/db/postgres.js';
import { explicitDatabaseUrl, redactUrl } from '../src/db/url.js';
import { UsageError } from '../src/errors.js';
import { createDatabase, runCli, tempDir, writeProject } from './helpers.js';
import { cleanEnv, clusterUp, psqlOutcome, tlsCluster, TLS_SKIP_REASON } from './tls-cluster.js';

const SOCKET_DIR = '/var/run/postgresql';

describe('redactUrl: the one function behind every database location shown', () => {
  it.each([
    ['postgresql://app:s3cret@db:5432/app', 'postgresql://app:****@db:5432/app'],
    ['postgresql://app:p%40ss%3Aw%2Frd%25%23@db/app', 'postgresql://app:****@db/app'],
    ['postgresql://app@db/app?password=s3cret&sslmode=require', 'postgresql://app@db/app?password=****&sslmode=require'],
    ['postgresql://app@db/app?sslmode=require&password=s3cret', 'postgresql://app@db/app?sslmode=require&password=****'],
    ['postgresql://app@db/app?sslkey=/k&sslpassword=keypass', 'postgresql://app@db/app?sslkey=/k&sslpassword=****'],
    ['postgresql://postgres@/postgres?host=/var/run/postgresql', 'postgresql://postgres@/postgres?host=/var/run/postgresql'],
    ['postgresql://postgres:s3cret@/postgres?host=/var/run/postgresql&schema=side', 'postgresql://postgres:****@/postgres?host=/var/run/postgresql&schema=side'],
    ['postgresql://:s3cret@/postgres?password=again', 'postgresql://:****@/postgres?password=****'],
    ['postgresql:///postgres', 'postgresql:///postgres'],
    ['postgres://u:pw@[::1]:5433/d', 'postgres://u:****@[::1]:5433/d'],
    ['mysql://root:pw@localhost:3306/app', 'mysql://root:****@localhost:3306/app'],
  ])('%s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('shows nothing of what it cannot read as a URL', () => {
    expect(redactUrl('host=db password=s3cret')).toBe('<invalid URL>');
    expect(redactUrl('postgresql://u:s3cret@db:notaport/x')).toBe('<invalid URL>');
  });
});

describe('the database URL of a run', () => {
  it('an empty --url or DATABASE_URL is a usage error, never the embedded database', async () => {
    expect(() => explicitDatabaseUrl({ url: '', env: {} })).toThrow(UsageError);
    expect(() => explicitDatabaseUrl({ url: undefined, env: { DATABASE_URL: '  ' } })).toThrow(UsageError);
    expect(explicitDatabaseUrl({ url: undefined, env: {} })).toBeUndefined();
    const t = tempDir();
    try {
      writeProject(t.dir, {});
      const flag = await runCli(t.dir, ['status', '--url', '']);
      expect(flag.exitCode).toBe(2);
      expect(flag.stderr).toBe('error: --url is empty; pass a postgresql://user:password@host:5432/database URL, or leave --url out to use DATABASE_URL.');
      const variable = await runCli(t.dir, ['migrate'], { DATABASE_URL: '' });
      expect(variable.exitCode).toBe(2);
      expect(variable.stderr).toBe(
        'error: DATABASE_URL is set but empty; set it to a postgresql://user:password@host:5432/database URL, or unset it to use the embedded database.',
      );
    } finally {
      t.cleanup();
    }
  });

  it('reads the URL as libpq does: PG* variables for what it leaves out, sslmode prefer by default', () => {
    const target = pgTarget('postgresql:///?application_name=app', { PGHOST: 'db.internal', PGPORT: '6543', PGUSER: 'svc', PGDATABASE: 'sales', PGCONNECT_TIMEOUT: '7' });
    expect(target).toMatchObject({ host: 'db.internal', port: 6543, user: 'svc', database: 'sales', sslmode: 'prefer', connectTimeoutMs: 7000, schema: 'public' });
    expect(target.attempts.map((a) => Boolean(a.ssl))).toEqual([true, false]);
    expect(target.attempts[0]).toMatchObject({ application_name: 'app', keepAlive: true });
    expect(pgTarget('postgresql://u@h/d?sslmode=allow', {}).attempts.map((a) => Boolean(a.ssl))).toEqual([false, true]);
    expect(pgTarget('postgresql://u@h/d', { PGSSLMODE: 'disable' }).attempts.map((a) => Boolean(a.ssl))).toEqual([false]);
    // The URL wins over the environment; a database defaults to the user name.
    expect(pgTarget('postgresql://u@h/?sslmode=require', { PGSSLMODE: 'disable', PGUSER: 'other' })).toMatchObject({ user: 'u', database: 'u', sslmode: 'require' });
    expect(pgTarget('postgresql://u@h/d', {}).attempts[0]).toMatchObject({ application_name: 'orchestrate' });
  });

  it('connect_timeout: libpq rounds 1 up to 2 and reads 0 as "none", which here is the 30 s deadline', () => {
    expect(pgTarget('postgresql://u@h/d?connect_timeout=1', {}).connectTimeoutMs).toBe(2000);
    expect(pgTarget('postgresql://u@h/d?connect_timeout=0', {}).connectTimeoutMs).toBe(30_000);
    expect(pgTarget('postgresql://u@h/d', {}).connectTimeoutMs).toBe(30_000);
    expect(() => pgTarget('postgresql://u@h/d?connect_timeout=soon', {})).toThrow(/connect_timeout "soon" is not a whole number of seconds/);
  });

  it('refuses what libpq refuses, in one sentence', () => {
    expect(() => pgTarget('postgresql://u@h/d?sslmode=no-verify', {})).toThrow(/sslmode "no-verify" is not one of disable, allow, prefer, require, verify-ca, verify-full/);
    expect(() => pgTarget('postgresql://u@h/d?sslmode=verify-full', { HOME: '/nonexistent' })).toThrow(/root certificate file "\/nonexistent\/.postgresql\/root.crt" does not exist/);
    expect(() => pgTarget('postgresql://u@h/d?sslmode=require&sslrootcert=system', {})).toThrow(/sslrootcert=system needs sslmode=verify-full/);
    expect(() => pgTarget('postgresql://u:pw@a:1,b:2/d', {})).toThrow(UsageError);
  });
});

describe('connecting to the test server', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const t = tempDir();
  beforeAll(async () => {
    db = await createDatabase('orch_client');
    writeProject(t.dir, {});
  });
  afterAll(async () => {
    await db.drop();
    t.cleanup();
  });

  it('a socket URL with an empty host and ?schema=: connects through the socket, search_path is the schema, the URL is shown as given', async () => {
    const url = `postgresql://postgres@/${db.name}?host=${SOCKET_DIR}&schema=side`;
    const driver = await connectPostgres(url, { lockKey: 1 });
    try {
      expect(driver.schema).toBe('side');
      expect(driver.location).toBe(url);
      const [row] = await driver.query<{ search_path: string; addr: string | null }>('SELECT current_setting($1) AS search_path, inet_client_addr()::text AS addr', ['search_path']);
      expect(row).toEqual({ search_path: '"side"', addr: null }); // no client address: a Unix socket
    } finally {
      await driver.close();
    }
    const r = await runCli(t.dir, ['status', '--json', '--url', url]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout)).database).toBe(url);
  });

  it('cancel() stops the running statement: it rejects with 57014 within 2 s, and the session goes on', async () => {
    const driver = await connectPostgres(db.url, { lockKey: 1 });
    try {
      const started = Date.now();
      const sleeping = driver.query('SELECT pg_sleep(30)');
      sleeping.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      await driver.cancel();
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await driver.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await driver.close();
    }
  });

  it('the session has TCP keepalive on (the kernel shows its keepalive timer)', async () => {
    const driver = await connectPostgres(db.url, { lockKey: 1 });
    try {
      const [row] = await driver.query<{ port: number }>('SELECT inet_client_port() AS port');
      const ss = await execa('ss', ['-tno', 'state', 'established', `( sport = :${row!.port} )`]);
      expect(ss.stdout).toMatch(/timer:\(keepalive,/);
    } finally {
      await driver.close();
    }
  });

  it('while another session holds the lock: reports its pid and application_name at once and every 10 s, and gives up at the timeout', async () => {
    const holderUrl = new URL(db.url);
    holderUrl.searchParams.set('application_name', 'nightly-import');
    const holder = await connectPostgres(holderUrl.toString(), { lockKey: 4242 });
    const waiter = await connectPostgres(db.url, { lockKey: 4242 });
    try {
      await holder.lock(() => {});
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')) as [{ pid: number }];
      const reports: { at: number; holder: LockHolder | null }[] = [];
      const started = Date.now();
      const error = await waiter.lock((h) => reports.push({ at: Date.now() - started, holder: h }), { timeoutMs: 11_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as Error).message).toMatch(
        new RegExp(`^Gave up waiting for the migration lock after 1[01]\\.\\d s: it is held by pid ${pid} \\(application_name "nightly-import", from 127\\.0\\.0\\.1\\); let that run finish, or end it with SELECT pg_terminate_backend\\(${pid}\\), or allow a longer wait\\.$`),
      );
      expect(reports.map((r) => r.holder?.pid)).toEqual([pid, pid]);
      expect(reports[0]!.at).toBeLessThan(1000);
      expect(reports[1]!.at).toBeGreaterThanOrEqual(9_900);
      // The waits left nothing behind in the session: no open transaction, lock_timeout as before.
      expect(await waiter.query('SELECT current_setting($1) AS t, pg_current_xact_id_if_assigned() AS x', ['lock_timeout'])).toEqual([{ t: '0', x: null }]);
      await holder.unlock();
      await waiter.lock(() => {}, { timeoutMs: 2000 });
    } finally {
      await waiter.close();
      await holder.close();
    }
  }, 30_000);

  it('migrate --lock-timeout: one line naming the holder, then exit 1 with that sentence', async () => {
    const holder = new pg.Client({ connectionString: db.url, application_name: 'psql-by-hand' });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(${DEFAULT_LOCK_KEY})`);
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      const r = await runCli(t.dir, ['migrate', '--lock-timeout', '1', '--url', db.url]);
      expect(r.exitCode).toBe(1);
      const held = `pid ${pid} (application_name "psql-by-hand", from 127.0.0.1)`;
      expect(String(r.stderr).split('\n')).toEqual([
        `Waiting for another orchestrate run to finish: the migration lock is held by ${held}...`,
        expect.stringMatching(new RegExp(`^error: Gave up waiting for the migration lock after 1\\.\\d s: it is held by ${held.replace(/[().]/g, '\\$&')}; .+\\.$`)),
      ]);
      const bad = await runCli(t.dir, ['stamp', 'core', 'x', '--lock-timeout', 'soon', '--url', db.url]);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('expected a number of seconds, e.g. --lock-timeout 60.');
    } finally {
      await holder.end();
    }
  });
});

/**
 * A local TCP server that misbehaves as told; closed by the returned function. `held` lists, per
 * connection, how long the client kept it open (from accept to the client's close).
 */
async function misbehavingServer(behaviour: 'silent' | 'garbage' | 'tls-stall'): Promise<{ port: number; held: number[]; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const held: number[] = [];
  const server = net.createServer((socket) => {
    const accepted = Date.now();
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => held.push(Date.now() - accepted));
    socket.resume(); // read (and drop) what the client sends, so that its close is seen
    if (behaviour === 'garbage') {
      // An authentication message claiming a length of -1 (0xffffffff), then noise.
      socket.write(Buffer.from([0x52, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    }
    if (behaviour === 'tls-stall') socket.once('data', () => socket.write('S')); // agrees to TLS, then never shakes hands
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('deadlines: no server behaviour outlives connect_timeout', () => {
  const t = tempDir();
  beforeAll(() => writeProject(t.dir, {}));
  afterAll(() => t.cleanup());

  it.each([
    ['accepts and says nothing', 'silent', 'sslmode=disable&connect_timeout=2', {}],
    ['sends a message of length -1', 'garbage', 'sslmode=disable', { PGCONNECT_TIMEOUT: '2' }],
    ['agrees to TLS and stalls', 'tls-stall', 'sslmode=require&connect_timeout=2', {}],
  ] as const)('a server that %s: exit 1 after about 2 s, in one sentence', async (_what, behaviour, params, env) => {
    const server = await misbehavingServer(behaviour);
    try {
      const r = await runCli(t.dir, ['status', '--url', `postgresql://u:s3cret@127.0.0.1:${server.port}/d?${params}`], env, { timeout: 40_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: Cannot connect to the database at postgresql:\/\/u:\*\*\*\*@127\.0\.0\.1:\d+\/d\?.+ \(from --url\): no answer within 2 s \(connect_timeout; .+\); .+\.$/);
      // Measured at the server, so that the CLI's start-up time (seconds on a busy machine) does not count.
      for (let i = 0; i < 40 && server.held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.held).toHaveLength(1);
      expect(server.held[0]).toBeGreaterThanOrEqual(1900);
      expect(server.held[0]).toBeLessThan(4000);
    } finally {
      await server.close();
    }
  });

  it('--wait retries what waiting cures (refused, reset, starting up), nothing else', () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND', '57P03', 'ETIMEDOUT']) expect(isCurableByWaiting(error(code)), code).toBe(true);
    for (const code of ['28P01', '28000', '3D000', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      expect(isCurableByWaiting(error(code)), code).toBe(false);
    }
    expect(isCurableByWaiting(new Error('the server asks for a password, but none was given in the URL, PGPASSWORD or ~/.pgpass'))).toBe(false);
  });
});

const cluster = tlsCluster();

describe.skipIf(!cluster)(`TLS cluster: passwords and --wait (skipped when ${TLS_SKIP_REASON})`, () => {
  const c = cluster!;
  const home = tempDir('orch-home-');
  const t = tempDir();
  beforeAll(async () => {
    if (!(await clusterUp(c))) throw new Error(`The TLS test cluster on port ${c.port} does not answer; run scripts/ci-tls-cluster.sh up again.`);
    writeProject(t.dir, {});
  });
  afterAll(() => {
    home.cleanup();
    t.cleanup();
  });

  it('~/.pgpass: a localhost line serves the default socket directory (as in libpq) and TCP to localhost; a readable-by-all file is ignored, and the message says why', async () => {
    const pgpass = path.join(home.dir, '.pgpass');
    writeFileSync(pgpass, `# test\nlocalhost:${c.port}:orch_tls:orch_scram:${c.password.replace(/([:\\])/g, '\\$1')}\n`);
    chmodSync(pgpass, 0o600);
    const env = cleanEnv(home.dir);
    for (const url of [`postgresql://orch_scram@/orch_tls?host=${SOCKET_DIR}&port=${c.port}`, `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require`]) {
      const [psql, r] = await Promise.all([psqlOutcome(url, env), runCli(t.dir, ['status', '--url', url], env)]);
      expect(psql.connected, psql.message).toBe(true);
      expect(r.exitCode, String(r.stderr)).toBe(0);
    }
    chmodSync(pgpass, 0o644);
    const r = await runCli(t.dir, ['status', '--url', `postgresql://orch_scram@localhost:${c.port}/orch_tls`], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the server asks for a password, but none was given in the URL, PGPASSWORD or .+\.pgpass \(password file ".+" has group or world access; permissions should be u=rw \(0600\) or less\)/);
  });

  it('--wait does not retry a wrong password or an untrusted certificate: it fails at once', async () => {
    const env = cleanEnv(home.dir);
    for (const url of [
      `postgresql://orch_scram:${encodeURIComponent('wrong')}@localhost:${c.port}/orch_tls`,
      `postgresql://orch_scram:${encodeURIComponent(c.password)}@localhost:${c.port}/orch_tls?sslmode=verify-full&sslrootcert=${c.wrongCa}`,
    ]) {
      const started = Date.now();
      const r = await runCli(t.dir, ['migrate', '--wait', '20', '--url', url], env, { timeout: 30_000 });
      expect(r.exitCode).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000); // retrying would take the whole 20 s
      expect(r.stderr).not.toMatch(/after \d+ attempts/);
      expect(r.stderr).not.toContain('Waiting');
      expect(String(r.stderr).split('\n')).toHaveLength(1);
    }
  });

  it('cancel() also works on a TLS session', async () => {
    const driver = await connectPostgres(`postgresql://orch_sslonly:${encodeURIComponent(c.password)}@localhost:${c.port}/orch_tls?sslmode=verify-full&sslrootcert=${c.ca}`, {
      lockKey: 1,
      env: cleanEnv(home.dir) as NodeJS.ProcessEnv,
    });
    try {
      const sleeping = driver.query('SELECT pg_sleep(30)');
      sleeping.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      await driver.cancel();
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await driver.close();
    }
  });
});

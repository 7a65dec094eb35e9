/**
 * Connection strings mean what they mean to libpq: the built CLI against the TLS cluster of
 * scripts/ci-tls-cluster.sh and against the plain server at 5432, with every sslmode, compared
 * with psql given the same URL. Wherever psql connects, orchestrate connects (over TLS exactly
 * when psql does); wherever psql refuses, orchestrate refuses with one sentence without the
 * password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../src/db/postgres.js';
import { PG_ADMIN_URL, runCli, tempDir, writeProject } from './helpers.js';
import { cleanEnv, clusterUp, psqlOutcome, tlsCluster, TLS_SKIP_REASON, type TlsCluster } from './tls-cluster.js';

const cluster = tlsCluster();
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

interface Case {
  url: string;
  /** Forms of the password that must never be printed. */
  secrets: string[];
}

let project: { dir: string; cleanup: () => void };
let home: { dir: string; cleanup: () => void };

beforeAll(() => {
  project = tempDir('orch-tls-');
  writeProject(project.dir, {});
  home = tempDir('orch-tls-home-');
});
afterAll(() => {
  project.cleanup();
  home.cleanup();
});

/** Runs `fn` over `items`, `limit` at a time (the CLI runs are processes on a 2-core machine). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/** What orchestrate does with the URL (CLI `status --json`), next to psql, and over TLS or not (in-process driver). */
async function compare(c: Case) {
  const env = cleanEnv(home.dir);
  const [psql, cli] = await Promise.all([psqlOutcome(c.url, env), runCli(project.dir, ['status', '--json', '--url', c.url], env, { timeout: 50_000 })]);
  let ssl: boolean | null = null;
  if (cli.exitCode === 0) {
    const db = await connectPostgres(c.url, { lockKey: 1, env: env as NodeJS.ProcessEnv });
    try {
      const [row] = await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      ssl = row!.ssl;
    } finally {
      await db.close();
    }
  }
  return { ...c, psql, cli, ssl };
}

function expectSameOutcome(r: Awaited<ReturnType<typeof compare>>): void {
  const label = `${r.url}\npsql: ${r.psql.message || (r.psql.ssl ? 'TLS' : 'plaintext')}\norchestrate: ${r.cli.stderr}`;
  expect(r.cli.exitCode === 0, label).toBe(r.psql.connected);
  if (r.psql.connected) {
    expect(r.ssl, label).toBe(r.psql.ssl);
    expect(JSON.parse(String(r.cli.stdout)).database, label).not.toMatch(/p@ss|w\/rd|p%40ss/);
  } else {
    // 1: the server refused; 2: the URL asks for something impossible (verify-ca without a CA).
    expect([1, 2], label).toContain(r.cli.exitCode);
    const lines = String(r.cli.stderr).split('\n');
    expect(lines, label).toHaveLength(1);
    expect(lines[0], label).toMatch(r.cli.exitCode === 1 ? /^error: Cannot connect to the database at .+; .+\.$/ : /^error: [^\n]+; [^\n]+\.$/);
    for (const secret of r.secrets) {
      expect(r.cli.stderr, label).not.toContain(secret);
      expect(r.cli.stdout, label).not.toContain(secret);
    }
  }
}

describe.skipIf(!cluster)(`TLS cluster (skipped when ${TLS_SKIP_REASON})`, () => {
  const c = cluster as TlsCluster;
  const encoded = () => encodeURIComponent(c.password);
  const secrets = () => [c.password, encoded(), 'w/rd'];
  const url = (role: string, host: string, params: string) => `postgresql://${role}:${encoded()}@${host}:${c.port}/orch_tls?${params}`;

  beforeAll(async () => {
    if (!(await clusterUp(c))) throw new Error(`The TLS test cluster on port ${c.port} does not answer; run scripts/ci-tls-cluster.sh up again.`);
  });

  it('every sslmode, for a role allowed with and without TLS, a hostssl-only and a hostnossl-only role', async () => {
    const cases = ['orch_scram', 'orch_sslonly', 'orch_nossl'].flatMap((role) =>
      MODES.map((mode): Case => ({ url: url(role, 'localhost', `sslmode=${mode}&sslrootcert=${c.ca}`), secrets: secrets() })),
    );
    const results = await pool(cases, 4, compare);
    for (const r of results) expectSameOutcome(r);
    // The libpq fallbacks happened: prefer went plaintext for the hostnossl role, allow went TLS for the hostssl one.
    expect(results.find((r) => r.url.includes('orch_nossl') && r.url.includes('sslmode=prefer'))?.ssl).toBe(false);
    expect(results.find((r) => r.url.includes('orch_sslonly') && r.url.includes('sslmode=allow'))?.ssl).toBe(true);
  }, 60_000);

  it('verify-full checks the host as written, an IP address against the certificate\'s IP entries', async () => {
    const cases = ['localhost', '127.0.0.1', '127.0.0.2'].flatMap((host) =>
      MODES.map((mode): Case => ({ url: url('orch_scram', host, `sslmode=${mode}&sslrootcert=${c.ca}`), secrets: secrets() })),
    );
    const results = await pool(cases, 4, compare);
    for (const r of results) expectSameOutcome(r);
    const outcome = (host: string, mode: string) => results.find((r) => r.url === url('orch_scram', host, `sslmode=${mode}&sslrootcert=${c.ca}`))!;
    expect(outcome('127.0.0.1', 'verify-full').cli.exitCode).toBe(0);
    expect(outcome('127.0.0.2', 'verify-ca').cli.exitCode).toBe(0);
    expect(outcome('127.0.0.2', 'verify-full').cli.stderr).toMatch(/127\.0\.0\.2 is not in the cert's list/);
  }, 60_000);

  it('root certificates: a CA that signed nothing, and none (no ~/.postgresql/root.crt)', async () => {
    const cases = [
      ...MODES.map((mode) => url('orch_scram', 'localhost', `sslmode=${mode}&sslrootcert=${c.wrongCa}`)),
      ...MODES.map((mode) => url('orch_scram', 'localhost', `sslmode=${mode}`)),
    ].map((u): Case => ({ url: u, secrets: secrets() }));
    const results = await pool(cases, 4, compare);
    for (const r of results) expectSameOutcome(r);
    // require with a root certificate verifies it (as libpq does); without one it only encrypts.
    expect(results.map((r) => r.cli.exitCode)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 2, 2]);
  }, 60_000);

  it('a wrong password, a missing password, and a password in ?password= are refused without showing it', async () => {
    const cases: Case[] = [
      { url: `postgresql://orch_scram:${encodeURIComponent('wrong@:/%#')}@localhost:${c.port}/orch_tls?sslmode=require`, secrets: ['wrong@:/%#', encodeURIComponent('wrong@:/%#')] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require`, secrets: [] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require&password=${encodeURIComponent('bad#pw:1')}`, secrets: ['bad#pw:1', encodeURIComponent('bad#pw:1')] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require&password=${encoded()}`, secrets: secrets() },
    ];
    const results = await pool(cases, 4, compare);
    for (const r of results) expectSameOutcome(r);
    expect(results.map((r) => r.cli.exitCode)).toEqual([1, 1, 1, 0]);
    expect(results[0]!.cli.stderr).toContain('password authentication failed for user "orch_scram"');
  }, 60_000);

  it('a client certificate from sslcert/sslkey authenticates the cert-only role', async () => {
    const cases = [
      ...['require', 'verify-full'].map((mode) => `postgresql://orch_cert@localhost:${c.port}/orch_tls?sslmode=${mode}&sslrootcert=${c.ca}&sslcert=${c.clientCert}&sslkey=${c.clientKey}`),
      `postgresql://orch_cert@localhost:${c.port}/orch_tls?sslmode=require`,
    ].map((u): Case => ({ url: u, secrets: [] }));
    const results = await pool(cases, 3, compare);
    for (const r of results) expectSameOutcome(r);
    expect(results.map((r) => r.cli.exitCode)).toEqual([0, 0, 1]);
  }, 60_000);

  it('PGSSLMODE, PGSSLROOTCERT and PGPASSWORD stand in for the URL', async () => {
    const env = cleanEnv(home.dir, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: c.ca, PGPASSWORD: c.password });
    const u = `postgresql://orch_sslonly@localhost:${c.port}/orch_tls`;
    const [psql, cli] = await Promise.all([psqlOutcome(u, env), runCli(project.dir, ['status', '--url', u], env)]);
    expect(psql.connected).toBe(true);
    expect(cli.exitCode, String(cli.stderr)).toBe(0);
    const wrong = cleanEnv(home.dir, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: c.wrongCa, PGPASSWORD: c.password });
    const refused = await runCli(project.dir, ['status', '--url', u], wrong);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).not.toContain(c.password);
  });
});

describe('plain server at 5432 (no TLS)', () => {
  it('every sslmode: prefer and allow fall back to plaintext as psql does; require and stronger are refused', async () => {
    const admin = new URL(PG_ADMIN_URL);
    const cases = MODES.flatMap((mode) => {
      const u = new URL(admin);
      u.searchParams.set('sslmode', mode);
      return [{ url: u.toString(), secrets: [] }];
    });
    const results = await pool(cases, 3, compare);
    for (const r of results) expectSameOutcome(r);
    expect(results.map((r) => r.cli.exitCode)).toEqual([0, 0, 0, 1, 2, 2]);
    // No library warning (node-postgres' SECURITY WARNING about sslmode aliases) reaches the terminal.
    for (const r of results) expect(r.cli.stderr).not.toMatch(/WARNING|DeprecationWarning/);
  }, 60_000);
});

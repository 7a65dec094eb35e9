/**
 * Connection strings mean what they mean to libpq: orchestrate against the TLS cluster of
 * scripts/ci-tls-cluster.sh and against the plain server at 5432, with every sslmode, compared
 * with psql given the same URL. Wherever psql connects, orchestrate connects (over TLS exactly
 * when psql does); wherever psql refuses, orchestrate refuses with one sentence without the
 * password.
 *
 * Every URL goes through the library (`status`, what the CLI's `status` runs, with the same
 * environment); the built CLI runs on a sample of them (a success per sslmode family, a refusal
 * per kind of error, the ones carrying passwords) to show its exit code and that it prints the
 * library's sentence as its one line, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../src/db/postgres.js';
import { createOrchestrator, OrchestrateError } from '../src/index.js';
import { PG_ADMIN_URL, runCli, tempDir, writeProject, type CliResult } from './helpers.js';
import { cleanEnv, clusterUp, psqlOutcome, tlsCluster, TLS_SKIP_REASON, type TlsCluster } from './tls-cluster.js';

const cluster = tlsCluster();
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

interface Case {
  url: string;
  /** Forms of the password that must never be printed. */
  secrets: string[];
  /** Also run the CLI on it. */
  viaCli?: boolean;
  /** The environment; a clean one with a private HOME by default. */
  env?: Record<string, string | undefined>;
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

/** Runs `fn` over `items`, `limit` at a time. */
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

/** What the library's `status` does with the URL: the database it names, or the error it throws. */
async function libraryOutcome(url: string, env: Record<string, string | undefined>): Promise<{ database: string | null; error: unknown }> {
  // The environment a CLI process started with `env` would have (execa's extendEnv).
  const orchestrator = createOrchestrator({ root: project.dir, database: url, extensions: [], env: { ...process.env, ...env } });
  try {
    return { database: (await orchestrator.status()).database, error: null };
  } catch (error) {
    return { database: null, error };
  } finally {
    await orchestrator.close();
  }
}

/** Over TLS or not: a session of the driver the library uses, asked from the server side. */
async function sslOf(url: string, env: Record<string, string | undefined>): Promise<boolean> {
  const db = await connectPostgres(url, { lockKey: 1, env: { ...process.env, ...env } });
  try {
    const [row] = await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return row!.ssl;
  } finally {
    await db.close();
  }
}

interface Outcome extends Case {
  psql: Awaited<ReturnType<typeof psqlOutcome>>;
  database: string | null;
  error: unknown;
  ssl: boolean | null;
  cli: CliResult | null;
}

/** What orchestrate does with the URL (library, and the CLI `status --json` when asked), next to psql. */
async function compare(c: Case): Promise<Outcome> {
  const env = c.env ?? cleanEnv(home.dir);
  const [psql, lib, cli] = await Promise.all([
    psqlOutcome(c.url, env),
    libraryOutcome(c.url, env),
    c.viaCli ? runCli(project.dir, ['status', '--json', '--url', c.url], env, { timeout: 50_000 }) : Promise.resolve(null),
  ]);
  const ssl = lib.error === null ? await sslOf(c.url, env) : null;
  return { ...c, psql, ...lib, ssl, cli };
}

/**
 * Every case, 4 at a time (the CLI runs are processes on a 2-core machine); the CLI's cases
 * start first, so that none of them is left to run alone at the end.
 */
async function compareAll(cases: Case[]): Promise<Outcome[]> {
  const order = cases.map((_, i) => i).sort((a, b) => Number(Boolean(cases[b]!.viaCli)) - Number(Boolean(cases[a]!.viaCli)) || a - b);
  const results: Outcome[] = new Array(cases.length);
  await pool(order, 4, async (i) => {
    results[i] = await compare(cases[i]!);
  });
  return results;
}

function expectSameOutcome(r: Outcome): void {
  const said = r.error instanceof Error ? r.error.message : String(r.error);
  const label = `${r.url}\npsql: ${r.psql.message || (r.psql.ssl ? 'TLS' : 'plaintext')}\norchestrate: ${r.error === null ? 'connected' : said}`;
  expect(r.error === null, label).toBe(r.psql.connected);
  let exitCode = 0;
  if (r.psql.connected) {
    expect(r.ssl, label).toBe(r.psql.ssl);
    expect(r.database, label).not.toMatch(/p@ss|w\/rd|p%40ss/);
  } else {
    // An OrchestrateError is what the CLI prints as one `error:` line with its exit code.
    expect(r.error, label).toBeInstanceOf(OrchestrateError);
    exitCode = (r.error as OrchestrateError).exitCode;
    // 1: the server refused; 2: the URL asks for something impossible (verify-ca without a CA).
    expect([1, 2], label).toContain(exitCode);
    expect(said.split('\n'), label).toHaveLength(1);
    expect(said, label).toMatch(exitCode === 1 ? /^Cannot connect to the database at .+; .+\.$/ : /^[^\n]+; [^\n]+\.$/);
    for (const secret of r.secrets) expect(said, label).not.toContain(secret);
  }
  if (r.cli) {
    const cliLabel = `${label}\nCLI: ${r.cli.stderr}`;
    expect(r.cli.exitCode, cliLabel).toBe(exitCode);
    if (exitCode === 0) {
      expect((JSON.parse(r.cli.stdout) as { database: string }).database, cliLabel).toBe(r.database);
    } else {
      expect(r.cli.stderr, cliLabel).toBe(`error: ${said}`);
      expect((JSON.parse(r.cli.stdout) as { error: { message: string; exitCode: number } }).error, cliLabel).toEqual({ message: said, exitCode });
    }
    for (const secret of r.secrets) {
      expect(r.cli.stderr, cliLabel).not.toContain(secret);
      expect(r.cli.stdout, cliLabel).not.toContain(secret);
    }
  }
}

/** The exit code the CLI has (or would have) for this outcome. */
const exitOf = (r: Outcome): number => (r.error === null ? 0 : r.error instanceof OrchestrateError ? r.error.exitCode : -1);

describe.skipIf(!cluster)(`TLS cluster (skipped when ${TLS_SKIP_REASON})`, () => {
  const c = cluster as TlsCluster;
  const encoded = () => encodeURIComponent(c.password);
  const secrets = () => [c.password, encoded(), 'w/rd'];
  const url = (role: string, host: string, params: string) => `postgresql://${role}:${encoded()}@${host}:${c.port}/orch_tls?${params}`;

  beforeAll(async () => {
    if (!(await clusterUp(c))) throw new Error(`The TLS test cluster on port ${c.port} does not answer; run scripts/ci-tls-cluster.sh up again.`);
  });

  it('every sslmode, for a role allowed with and without TLS, a hostssl-only and a hostnossl-only role', async () => {
    // The CLI: plaintext, both fallbacks, and a refusal by pg_hba.conf (verify-full: below).
    const cliCases = new Set(['orch_scram disable', 'orch_nossl prefer', 'orch_sslonly allow', 'orch_sslonly disable']);
    const cases = ['orch_scram', 'orch_sslonly', 'orch_nossl'].flatMap((role) =>
      MODES.map((mode): Case => ({ url: url(role, 'localhost', `sslmode=${mode}&sslrootcert=${c.ca}`), secrets: secrets(), viaCli: cliCases.has(`${role} ${mode}`) })),
    );
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    // The libpq fallbacks happened: prefer went plaintext for the hostnossl role, allow went TLS for the hostssl one.
    expect(results.find((r) => r.url.includes('orch_nossl') && r.url.includes('sslmode=prefer'))?.ssl).toBe(false);
    expect(results.find((r) => r.url.includes('orch_sslonly') && r.url.includes('sslmode=allow'))?.ssl).toBe(true);
    expect(results.filter((r) => r.viaCli).map((r) => r.cli!.exitCode)).toEqual([0, 1, 0, 0]);
  }, 60_000);

  it('verify-full checks the host as written, an IP address against the certificate\'s IP entries', async () => {
    const cases = ['localhost', '127.0.0.1', '127.0.0.2'].flatMap((host) =>
      MODES.map((mode): Case => ({ url: url('orch_scram', host, `sslmode=${mode}&sslrootcert=${c.ca}`), secrets: secrets(), viaCli: host === '127.0.0.2' && mode.startsWith('verify-') })),
    );
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    const outcome = (host: string, mode: string) => results.find((r) => r.url === url('orch_scram', host, `sslmode=${mode}&sslrootcert=${c.ca}`))!;
    expect(exitOf(outcome('127.0.0.1', 'verify-full'))).toBe(0);
    expect(outcome('127.0.0.2', 'verify-ca').cli!.exitCode).toBe(0);
    expect(outcome('127.0.0.2', 'verify-full').cli!.stderr).toMatch(/127\.0\.0\.2 is not in the cert's list/);
  }, 60_000);

  it('root certificates: a CA that signed nothing, and none (no ~/.postgresql/root.crt)', async () => {
    const cases = [
      ...MODES.map((mode) => url('orch_scram', 'localhost', `sslmode=${mode}&sslrootcert=${c.wrongCa}`)),
      ...MODES.map((mode) => url('orch_scram', 'localhost', `sslmode=${mode}`)),
    ].map((u, i): Case => ({ url: u, secrets: secrets(), viaCli: i === 4 || i === 9 || i === 10 }));
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    // require with a root certificate verifies it (as libpq does); without one it only encrypts.
    expect(results.map(exitOf)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 2, 2]);
  }, 60_000);

  it('a wrong password, a missing password, and a password in ?password= are refused without showing it', async () => {
    const cases: Case[] = [
      { url: `postgresql://orch_scram:${encodeURIComponent('wrong@:/%#')}@localhost:${c.port}/orch_tls?sslmode=require`, secrets: ['wrong@:/%#', encodeURIComponent('wrong@:/%#')] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require`, secrets: [] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require&password=${encodeURIComponent('bad#pw:1')}`, secrets: ['bad#pw:1', encodeURIComponent('bad#pw:1')] },
      { url: `postgresql://orch_scram@localhost:${c.port}/orch_tls?sslmode=require&password=${encoded()}`, secrets: secrets() },
    ].map((x, i) => ({ ...x, viaCli: i !== 2 }));
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    expect(results.map(exitOf)).toEqual([1, 1, 1, 0]);
    expect(results.map((r) => r.cli?.exitCode)).toEqual([1, 1, undefined, 0]);
    expect(results[0]!.cli!.stderr).toContain('password authentication failed for user "orch_scram"');
  }, 60_000);

  it('a client certificate from sslcert/sslkey authenticates the cert-only role', async () => {
    const cases = [
      ...['require', 'verify-full'].map((mode) => `postgresql://orch_cert@localhost:${c.port}/orch_tls?sslmode=${mode}&sslrootcert=${c.ca}&sslcert=${c.clientCert}&sslkey=${c.clientKey}`),
      `postgresql://orch_cert@localhost:${c.port}/orch_tls?sslmode=require`,
    ].map((u, i): Case => ({ url: u, secrets: [], viaCli: i === 1 }));
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    expect(results.map(exitOf)).toEqual([0, 0, 1]);
  }, 60_000);

  it('PGSSLMODE, PGSSLROOTCERT and PGPASSWORD stand in for the URL', async () => {
    const u = `postgresql://orch_sslonly@localhost:${c.port}/orch_tls`;
    const [right, wrong] = await compareAll([
      { url: u, secrets: secrets(), viaCli: true, env: cleanEnv(home.dir, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: c.ca, PGPASSWORD: c.password }) },
      { url: u, secrets: secrets(), env: cleanEnv(home.dir, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: c.wrongCa, PGPASSWORD: c.password }) },
    ]);
    for (const r of [right!, wrong!]) expectSameOutcome(r);
    expect(right!.psql.connected).toBe(true);
    expect(right!.ssl).toBe(true);
    expect(right!.cli!.exitCode, right!.cli!.stderr).toBe(0);
    expect(exitOf(wrong!)).toBe(1);
  });
});

describe('plain server at 5432 (no TLS)', () => {
  it('every sslmode: prefer and allow fall back to plaintext as psql does; require and stronger are refused', async () => {
    const admin = new URL(PG_ADMIN_URL);
    // The CLI where node-postgres would warn about sslmode aliases: a success and a refusal.
    const cliCases = new Set(['prefer', 'require']);
    const cases = MODES.map((mode): Case => {
      const u = new URL(admin);
      u.searchParams.set('sslmode', mode);
      return { url: u.toString(), secrets: [], viaCli: cliCases.has(mode) };
    });
    const results = await compareAll(cases);
    for (const r of results) expectSameOutcome(r);
    expect(results.map(exitOf)).toEqual([0, 0, 0, 1, 2, 2]);
    // No library warning (node-postgres' SECURITY WARNING about sslmode aliases) reaches the terminal.
    for (const r of results.filter((x) => x.cli)) expect(r.cli!.stderr).not.toMatch(/WARNING|DeprecationWarning/);
  }, 60_000);
});

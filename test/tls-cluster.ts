/**
 * The TLS-enabled PostgreSQL cluster of scripts/ci-tls-cluster.sh (.ci/run creates it): its
 * port, certificates and roles, from the ORCH_TLS_* variables or the state file the script
 * writes. Null when it is absent; tests then skip with `TLS_SKIP_REASON`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface TlsCluster {
  port: number;
  certs: string;
  password: string;
  ca: string;
  wrongCa: string;
  clientCert: string;
  clientKey: string;
}

const STATE = process.env.ORCH_TLS_STATE ?? '/tmp/orchestrate-tls-cluster';

function readEnvFile(): Record<string, string> {
  const file = path.join(STATE, 'env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1).replace(/^'(.*)'$/, '$1')];
      }),
  );
}

export function tlsCluster(): TlsCluster | null {
  const vars = { ...readEnvFile(), ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ORCH_TLS_'))) } as Record<string, string>;
  if (!vars.ORCH_TLS_PORT || !vars.ORCH_TLS_CERTS || !existsSync(path.join(vars.ORCH_TLS_CERTS, 'ca.crt'))) return null;
  const certs = vars.ORCH_TLS_CERTS;
  return {
    port: Number(vars.ORCH_TLS_PORT),
    certs,
    password: vars.ORCH_TLS_PASSWORD ?? 'p@ss:w/rd%#1',
    ca: path.join(certs, 'ca.crt'),
    wrongCa: path.join(certs, 'wrong-ca.crt'),
    clientCert: path.join(certs, 'client.crt'),
    clientKey: path.join(certs, 'client.key'),
  };
}

export const TLS_SKIP_REASON = `the TLS test cluster is absent (no ${STATE}/env): run \`eval "$(scripts/ci-tls-cluster.sh up)"\` as root (.ci/run does)`;

/** Whether the cluster answers (it may have been removed after the state file was written). */
export async function clusterUp(cluster: TlsCluster): Promise<boolean> {
  const r = await execa('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(cluster.port)], { reject: false });
  return r.exitCode === 0;
}

/** An environment without the caller's PG* settings, ~/.pgpass or ~/.postgresql: HOME is `home`. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('PG')) env[key] = undefined;
  return { ...env, HOME: home, DATABASE_URL: undefined, ...extra };
}

/** What psql does with a URL: connects (and whether over TLS) or refuses. */
export async function psqlOutcome(url: string, env: Record<string, string | undefined>): Promise<{ connected: boolean; ssl: boolean | null; message: string }> {
  const r = await execa('psql', ['-X', '-w', '-At', '-d', url, '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
    reject: false,
    env,
    extendEnv: true,
    timeout: 30_000,
  });
  return { connected: r.exitCode === 0, ssl: r.exitCode === 0 ? r.stdout.trim() === 't' : null, message: r.stderr.trim() };
}

/** Fixtures for fleet tests: many tenant databases, the sample app, tenant lists. */
import { cpSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { PG_ADMIN_URL, REPO, tempDir } from './helpers.js';

export const SAMPLE_EXTENSIONS = 'analytics,billing,crm';
/** Migrations of the sample app with every extension enabled. */
export const SAMPLE_MIGRATIONS = 6;

/** A copy of the repository's sample app (prisma/ and extensions/) in a temp folder. */
export function copySampleApp(): { dir: string; cleanup: () => void } {
  const t = tempDir('orch-fleet-');
  cpSync(path.join(REPO, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
  cpSync(path.join(REPO, 'extensions'), path.join(t.dir, 'extensions'), { recursive: true });
  return t;
}

/** Runs `fn` over `items`, at most `n` at a time. */
export async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export interface Tenants {
  names: string[];
  /** URL per name; the password in it is fake (trust auth) and must never be printed. */
  urls: string[];
  drop: () => Promise<void>;
}

export const FAKE_PASSWORD = 'n0t-to-be-printed';

/** `n` empty, uniquely named databases on the test server, created a few at a time. */
export async function createTenants(n: number, prefix = 'orch_fleet'): Promise<Tenants> {
  const run = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const names = Array.from({ length: n }, (_, i) => `${run}_${String(i + 1).padStart(3, '0')}`);
  const created: string[] = [];
  const admin = (fn: (c: pg.Client) => Promise<void>) => async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    try {
      await fn(c);
    } finally {
      await c.end();
    }
  };
  const drop = async () => {
    // Each DROP DATABASE waits for a checkpoint (slow on a busy server), and concurrent ones share
    // it: drop up to 24 at once, leaving most of the server's free connections to others.
    let spare = 16;
    await admin(async (c) => {
      const { rows } = await c.query<{ n: number }>(`SELECT current_setting('max_connections')::int - count(*)::int AS n FROM pg_stat_activity`);
      spare = Math.floor(rows[0]!.n / 2);
    })();
    await inParallel([...created], Math.max(4, Math.min(created.length, spare, 24)), (name) => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => {}))());
  };
  try {
    await inParallel(names, 4, async (name) => {
      await admin((c) => c.query(`CREATE DATABASE "${name}"`).then(() => {}))();
      created.push(name);
    });
  } catch (error) {
    await drop();
    throw error;
  }
  const base = new URL(PG_ADMIN_URL);
  const urls = names.map((name) => {
    const u = new URL(base);
    u.password = FAKE_PASSWORD;
    u.pathname = `/${name}`;
    return u.toString();
  });
  return { names, urls, drop };
}

/** Writes a tenant list file (one URL per line) and returns its path. */
export function writeTenantFile(dir: string, urls: string[], file = 'tenants.txt'): string {
  const p = path.join(dir, file);
  writeFileSync(p, `# tenants\n${urls.join('\n')}\n`);
  return p;
}

/** How many times each migration is recorded in a tenant's history tables (all owners). */
export async function historyCounts(url: string): Promise<Map<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = (await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '\\_prisma\\_migrations%'`)).rows.map((r) => r.t);
    const counts = new Map<string, number>();
    for (const t of tables) {
      const rows = (await c.query<{ m: string; n: number }>(`SELECT migration_name AS m, count(*)::int AS n FROM "${t}" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY 1`)).rows;
      for (const r of rows) counts.set(`${t}/${r.m}`, r.n);
    }
    return counts;
  } finally {
    await c.end();
  }
}

/** Runs one statement on a tenant database. */
export async function exec(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

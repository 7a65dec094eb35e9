/**
 * Fixtures for the apply half (migrate, downgrade, status...): projects whose migrations are
 * written directly as files, the way `revision` would write them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createDatabase, query, tempDir, writeProject } from './helpers.js';

export const CORE_INIT = '20240101000000_init';
export const CORE_NAME = '20240201000000_user_name';
export const BILLING_INIT = '20240110000000_init';
export const BILLING_PLAN = '20240210000000_user_plan';
export const CRM_INIT = '20240115000000_init';

export interface MigrationSpec {
  sql: string;
  down?: string;
}

const ownerDir = (owner: string) => (owner === 'core' ? 'prisma/migrations' : `extensions/${owner}/migrations`);

/** Writes one migration folder (migration.sql, and down.sql when given). */
export function writeMigration(root: string, owner: string, name: string, spec: MigrationSpec): string {
  const dir = path.join(root, ownerDir(owner), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration.sql'), spec.sql);
  if (spec.down !== undefined) writeFileSync(path.join(dir, 'down.sql'), spec.down);
  return dir;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export const SAMPLE: Record<string, Record<string, MigrationSpec>> = {
  core: {
    [CORE_INIT]: {
      sql: 'CREATE TABLE "User" (\n  "id" SERIAL PRIMARY KEY,\n  "email" TEXT NOT NULL\n);\nCREATE UNIQUE INDEX "User_email_key" ON "User"("email");\n',
      down: 'DROP TABLE "User";\n',
    },
    [CORE_NAME]: { sql: 'ALTER TABLE "User" ADD COLUMN "name" TEXT;\n', down: 'ALTER TABLE "User" DROP COLUMN "name";\n' },
  },
  billing: {
    [BILLING_INIT]: {
      sql: `-- orchestrate:requires core ${CORE_INIT}\nCREATE TABLE "billing_invoice" (\n  "id" SERIAL PRIMARY KEY,\n  "user_id" INTEGER NOT NULL REFERENCES "User"("id"),\n  "amount" INTEGER NOT NULL\n);\n`,
      down: 'DROP TABLE "billing_invoice";\n',
    },
    [BILLING_PLAN]: {
      sql: `-- orchestrate:requires core ${CORE_NAME}\nALTER TABLE "User" ADD COLUMN "billing_plan" TEXT;\n`,
      down: 'ALTER TABLE "User" DROP COLUMN "billing_plan";\n',
    },
  },
  crm: {
    [CRM_INIT]: {
      sql: `-- orchestrate:requires billing ${BILLING_INIT}\nCREATE TABLE "crm_contact" (\n  "id" SERIAL PRIMARY KEY,\n  "invoice_id" INTEGER REFERENCES "billing_invoice"("id")\n);\n`,
      down: 'DROP TABLE "crm_contact";\n',
    },
  },
};

/**
 * core (User), billing (extends User, has its own table), crm (depends on billing), each with
 * migrations and down.sql.
 */
export function writeSample(root: string, migrations: Record<string, Record<string, MigrationSpec>> = SAMPLE): void {
  writeProject(root, {
    core: 'model User {\n  id Int @id @default(autoincrement())\n}\n',
    extensions: {
      billing: { schema: '// billing fragment\n' },
      crm: { schema: '// crm fragment\n', manifest: { dependsOn: ['billing'] } },
    },
  });
  for (const [owner, list] of Object.entries(migrations)) {
    for (const [name, spec] of Object.entries(list)) writeMigration(root, owner, name, spec);
  }
}

export const SAMPLE_ENV = { APP_EXTENSIONS: 'billing,crm' };

export async function tables(url: string): Promise<string[]> {
  const rows = await query<{ t: string }>(url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return rows.map((r) => r.t);
}

export async function columns(url: string, table: string): Promise<string[]> {
  const rows = await query<{ c: string }>(url, `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, [table]);
  return rows.map((r) => r.c);
}

/** History rows of one table: name, checksum, finished, rolled back, steps, oldest first. */
export async function historyRows(url: string, table: string): Promise<{ migration_name: string; checksum: string; finished: boolean; rolled_back: boolean; applied_steps_count: number; logs: string | null }[]> {
  return query(
    url,
    `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back, applied_steps_count, logs FROM "${table}" ORDER BY started_at, migration_name`,
  );
}

/** A TCP port on 127.0.0.1 with nothing listening. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** stderr lines that look like a stack trace. */
export const stackLines = (text: string) => text.split('\n').filter((l) => /^\s+at /.test(l));

/**
 * A fresh sample project and a fresh PostgreSQL database for every test of the calling file
 * (created in beforeEach, removed in afterEach). Read its fields inside tests.
 */
export function useSampleOnPostgres(prefix: string, setup?: (sample: { dir: string; url: string; env: Record<string, string> }) => Promise<void>) {
  const sample = { dir: '', url: '', env: {} as Record<string, string> };
  let cleanup: (() => Promise<void>) | null = null;
  beforeEach(async () => {
    const t = tempDir(prefix);
    writeSample(t.dir);
    const db = await createDatabase();
    cleanup = async () => {
      await db.drop();
      t.cleanup();
    };
    Object.assign(sample, { dir: t.dir, url: db.url, env: { ...SAMPLE_ENV, DATABASE_URL: db.url } });
    await setup?.(sample);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });
  return sample;
}

/**
 * A diff needs no database: without a URL the schema engine's start-up query is answered
 * offline. These tests run the real engine against the offline adapters and fail as soon as an
 * engine asks anything they cannot answer (the adapter refuses, and the diff fails).
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startWasmEngine, type SchemaFile } from '../src/engine/engine.js';
import { PG_ADMIN_URL, REPO, runCli, tempDir } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Enums, relations (1-n, n-m, self), indexes, unique, defaults, Json, @@map / @map, several tables; arrays where the provider has them. */
function schema(provider: 'postgresql' | 'sqlite', version: 1 | 2): string {
  const pg = provider === 'postgresql';
  return `datasource db {
  provider = "${provider}"
}

${pg ? `enum Role {\n  ADMIN\n  MEMBER\n${version === 2 ? '  GUEST\n' : ''}}\n` : ''}
model User {
  id        Int      @id @default(autoincrement())
  email     String   @unique
  name      String?  ${version === 2 && pg ? '@db.VarChar(200)' : ''}
  ${pg ? 'role      Role     @default(MEMBER)' : 'role      String   @default("MEMBER")'}
  createdAt DateTime @default(now()) @map("created_at")
  profile   Json?
  ${pg ? 'tags      String[]' : ''}
  managerId Int?
  manager   User?    @relation("Reports", fields: [managerId], references: [id])
  reports   User[]   @relation("Reports")
  posts     Post[]
  ${version === 2 ? 'score     Int      @default(0)' : ''}

  @@index([createdAt])
  @@map("users")
}

model Post {
  id       String  @id @default(uuid())
  title    String
  body     String  @default("")
  authorId Int
  author   User    @relation(fields: [authorId], references: [id], onDelete: Cascade)
  tags     Tag[]
  ${version === 1 ? 'views    Int     @default(0)' : ''}

  @@unique([authorId, title])
  @@map("blog_posts")
}

model Tag {
  id    Int    @id @default(autoincrement())
  label String @unique
  posts Post[]
}
${version === 2 ? '\nmodel Audit {\n  id   BigInt @id @default(autoincrement())\n  what String\n  at   DateTime @default(now())\n\n  @@index([at, what])\n}\n' : ''}`;
}

describe.each(['postgresql', 'sqlite'] as const)('the schema engine offline (%s)', (provider) => {
  it('diffs a schema with many features both ways, and changes between versions, asking nothing the adapter cannot answer', async () => {
    const engine = await startWasmEngine({ provider });
    try {
      const v1: SchemaFile[] = [{ path: 'schema.prisma', content: schema(provider, 1) }];
      const v2: SchemaFile[] = [{ path: 'schema.prisma', content: schema(provider, 2) }];
      const create = await engine.diff('empty', v1);
      expect(create).toMatch(/CREATE TABLE "users"/);
      expect(create).toMatch(/CREATE TABLE "_PostToTag"/);
      expect(create).toMatch(/CREATE UNIQUE INDEX "blog_posts_authorId_title_key"/);
      if (provider === 'postgresql') expect(create).toMatch(/CREATE TYPE "Role" AS ENUM/);
      const change = await engine.diff(v1, v2);
      expect(change).toMatch(/CREATE TABLE "Audit"/);
      expect(change).toMatch(provider === 'postgresql' ? /DROP COLUMN "views"/ : /CREATE TABLE "new_blog_posts"/);
      if (provider === 'postgresql') expect(change).toMatch(/ALTER TYPE "Role" ADD VALUE 'GUEST'/);
      expect(await engine.diff(v2, v1)).toMatch(/DROP TABLE "Audit"/);
      expect(await engine.diff(v1, 'empty')).toMatch(/DROP TABLE ("public"\.)?"users"/);
      expect(await engine.diff(v2, v2)).toBe('');
    } finally {
      await engine.close();
    }
  });
});

describe('revision without a database', () => {
  const OWNERS: Record<string, string> = { core: 'prisma/migrations', billing: 'extensions/billing/migrations', analytics: 'extensions/analytics/migrations', crm: 'extensions/crm/migrations' };
  const ENV = { APP_EXTENSIONS: 'billing,analytics,crm' };

  function copySample(): string {
    const t = tempDir('orch-offline-');
    cleanups.push(t.cleanup);
    cpSync(path.join(REPO, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
    cpSync(path.join(REPO, 'extensions'), path.join(t.dir, 'extensions'), { recursive: true });
    return t.dir;
  }

  /** Every file of every new migration, with the timestamps taken out. */
  function written(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [owner, folder] of Object.entries(OWNERS)) {
      for (const m of readdirSync(path.join(dir, folder)).filter((n) => /^\d{14}_/.test(n))) {
        for (const f of ['migration.sql', 'down.sql', 'snapshot.prisma']) {
          out[`${owner}/${m.replace(/^\d{14}/, '<ts>')}/${f}`] = readFileSync(path.join(dir, folder, m, f), 'utf8').replace(/\d{14}_/g, '<ts>_');
        }
      }
    }
    return out;
  }

  it('writes the same SQL for the sample app as with a PostgreSQL server answering the engine', async () => {
    const [offline, online] = [copySample(), copySample()];
    const args = ['revision', '--all', '--regenerate', '--force', '-m', 'init'];
    const [a, b] = await Promise.all([runCli(offline, args, ENV), runCli(online, args, { ...ENV, DATABASE_URL: PG_ADMIN_URL })]);
    expect([a.exitCode, b.exitCode], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    const files = written(offline);
    expect(Object.keys(files)).toHaveLength(12);
    expect(files['billing/<ts>_init/migration.sql']).toMatch(/CREATE TABLE "billing_invoices"/);
    expect(files).toEqual(written(online));
  });
});

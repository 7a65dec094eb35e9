/**
 * Prisma's multi-file schemas: a core or extension schema that is a folder of `.prisma` files,
 * named by orchestrate.config.json or by prisma.config.ts (`schema`, `migrations.path`).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCleanups } from './fixtures.js';
import { createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';
import { checkData, migrateInProcess, reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

const BASE = 'datasource db {\n  provider = "postgresql"\n}\n\ngenerator client {\n  provider = "prisma-client"\n  output   = "../../generated/client"\n}\n';
const USER = 'model User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n  posts Post[]\n}\n';
const POST = '// Posts belong to users.\nmodel Post {\n  id     Int    @id @default(autoincrement())\n  title  String\n  userId Int\n  user   User   @relation(fields: [userId], references: [id])\n}\n';
const BLOG_TAG = 'model Tag {\n  id   Int    @id @default(autoincrement())\n  name String\n\n  @@map("blog_tags")\n}\n';
const BLOG_EXTEND = 'extend model User {\n  nickname String? @map("blog_nickname")\n}\n';

function multiFileProject(files: Record<string, string>): string {
  const t = tempDir('orch-multifile-');
  onCleanup(t.cleanup);
  writeProject(t.dir, { files });
  // writeProject always writes prisma/schema.prisma: these projects have a folder instead.
  rmSync(path.join(t.dir, 'prisma/schema.prisma'));
  return t.dir;
}

const tables = async (url: string) =>
  (await query<{ t: string }>(url, `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).map((r) => r.t);

describe('a core schema that is a folder of .prisma files', () => {
  it('goes through revision, migrate, check and generate; errors name the original file and line', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = multiFileProject({
      'orchestrate.config.json': JSON.stringify({ coreSchema: 'prisma/schema' }),
      'prisma/schema/base.prisma': BASE,
      'prisma/schema/user.prisma': USER,
      'prisma/schema/content/post.prisma': POST,
      'extensions/blog/schema/tag.prisma': BLOG_TAG,
      'extensions/blog/schema/user.prisma': BLOG_EXTEND,
    });
    const env = { DATABASE_URL: db.url, APP_EXTENSIONS: 'blog' };

    // The migrations written through the library; the CLI runs below read the same config.
    const revision = await reviseInProcess(dir, ['blog'], { name: 'init' });
    expect(revision.owners.map((o) => [o.owner, o.status])).toEqual([
      ['core', 'created'],
      ['blog', 'created'],
    ]);
    const [core] = readdirSync(path.join(dir, 'prisma/migrations')).filter((n) => n.endsWith('_init'));
    const sql = readFileSync(path.join(dir, 'prisma/migrations', core!, 'migration.sql'), 'utf8');
    expect(sql).toContain('CREATE TABLE "User"');
    expect(sql).toContain('CREATE TABLE "Post"');
    expect(sql).not.toContain('blog');
    const [blog] = readdirSync(path.join(dir, 'extensions/blog/migrations')).filter((n) => n.endsWith('_init'));
    const blogSql = readFileSync(path.join(dir, 'extensions/blog/migrations', blog!, 'migration.sql'), 'utf8');
    expect(blogSql).toContain('CREATE TABLE "blog_tags"');
    expect(blogSql).toContain('ALTER TABLE "User" ADD COLUMN     "blog_nickname" TEXT');

    // Nothing left to generate: the snapshot is the folder's files as one text.
    const again = await runCli(dir, ['revision', '--all', '--check'], env);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);

    await migrateInProcess(dir, ['blog'], db.url);
    expect(await tables(db.url)).toEqual(['Post', 'User', '_prisma_migrations', '_prisma_migrations_blog', 'blog_tags']);

    const check = await checkData(dir, ['blog'], { database: db.url });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);

    const generate = await runCli(dir, ['generate'], env);
    expect(generate.exitCode, generate.stderr).toBe(0);
    const merged = readFileSync(path.join(dir, '.orchestrate/generated/schema.prisma'), 'utf8');
    expect(merged).toMatch(/model Post \{/);
    expect(merged).toMatch(/blog_nickname/);

    // Composition and validation errors point at the file of the folder and its line.
    writeFileSync(path.join(dir, 'prisma/schema/content/more.prisma'), '\nmodel Comment {\n  id   Int @id\n  post Pst\n}\n');
    writeFileSync(path.join(dir, 'extensions/blog/schema/dup.prisma'), '// again\n\nmodel Post {\n  id Int @id\n}\n');
    const bad = await checkData(dir, ['blog'], { database: db.url });
    expect(bad.ok).toBe(false);
    expect(bad.problems.map((p) => p.message).join('\n')).toContain('extensions/blog/schema/dup.prisma:3: model "Post" is already declared in prisma/schema/content/post.prisma:2 (core)');
    writeFileSync(path.join(dir, 'extensions/blog/schema/dup.prisma'), '// nothing\n');
    const invalid = await runCli(dir, ['check'], env);
    expect(invalid.exitCode).toBe(3);
    expect(invalid.stdout).toMatch(/prisma\/schema\/content\/more\.prisma:4: Type "Pst" is neither a built-in type/);
  }, 60_000);
});

describe('prisma.config.ts names the schema folder and the migrations folder', () => {
  it('revision writes into migrations.path and migrate applies from there', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = multiFileProject({
      'prisma.config.ts': `export default {\n  schema: 'db/schema',\n  migrations: { path: 'db/history' },\n  datasource: { url: process.env.APP_DB_URL },\n};\n`,
      'db/schema/base.prisma': BASE,
      'db/schema/user.prisma': USER,
      'db/schema/post.prisma': POST,
    });
    const env = { APP_DB_URL: db.url };
    const revision = await reviseInProcess(dir, [], { owners: ['core'], name: 'init' });
    expect(revision.owners.map((o) => [o.owner, o.status])).toEqual([['core', 'created']]);
    expect(readdirSync(path.join(dir, 'db/history')).some((n) => n.endsWith('_init'))).toBe(true);
    expect(existsSync(path.join(dir, 'prisma/migrations'))).toBe(false);
    const migrate = await runCli(dir, ['migrate'], env);
    expect(migrate.exitCode, migrate.stderr).toBe(0);
    expect(await tables(db.url)).toEqual(['Post', 'User', '_prisma_migrations']);

    // orchestrate.config.json wins over prisma.config.ts.
    writeFileSync(path.join(dir, 'orchestrate.config.json'), JSON.stringify({ coreMigrations: 'elsewhere' }));
    const debug = JSON.parse((await runCli(dir, ['debug', '--json'], env)).stdout);
    expect(debug.paths).toMatchObject({ coreSchema: path.join(dir, 'db/schema'), coreMigrations: path.join(dir, 'elsewhere') });
  }, 60_000);
});

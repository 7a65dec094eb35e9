import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWasmEngine, type DiffEngine, type DiffSide, type SchemaFile } from '../src/engine/engine.js';
import { startPrismaCliEngine } from '../src/engine/prisma-cli.js';
import { UsageError } from '../src/errors.js';
import { DATASOURCE, REPO, runCli, tempDir, writeProject } from './helpers.js';
import { reviseInProcess } from './in-process.js';

const core = (body: string): SchemaFile => ({ path: 'prisma/schema.prisma', content: `${DATASOURCE}\n${body}` });

const USER = `model User {
  id    Int    @id @default(autoincrement())
  email String @unique
}
`;
const USER_NAME = `model User {
  id    Int     @id @default(autoincrement())
  email String  @unique
  name  String?
  role  Role    @default(MEMBER)
}

enum Role {
  MEMBER
  ADMIN
}
`;
const USER_POSTS = `${USER_NAME}
model Post {
  id       BigInt @id @default(autoincrement())
  title    String @db.VarChar(200)
  authorId Int
  author   User   @relation(fields: [authorId], references: [id], onDelete: Cascade)

  @@index([authorId])
  @@map("blog_posts")
}
`.replace('  role  Role    @default(MEMBER)\n', '  role  Role    @default(MEMBER)\n  posts Post[]\n');

const BILLING: SchemaFile = {
  path: 'extensions/billing/schema.prisma',
  content: `model billing_Invoice {
  id     Int @id @default(autoincrement())
  amount Int
  userId Int

  @@map("billing_invoices")
}
`,
};
const CRM: SchemaFile = { path: 'extensions/crm/schema.prisma', content: 'model crm_Contact {\n  id Int @id\n}\n' };

/** The same models under other names, so that several changes can share one diff. */
const renamed = (body: string, suffix: string): string =>
  body.replace(/\b(User|Role|Post)\b/g, `$1${suffix}`).replace('"blog_posts"', `"blog_posts_${suffix}"`);
const USER_ROLES_CHANGED = USER_NAME.replace('  ADMIN\n', '  OWNER\n');

// Every Prisma CLI run is a process of its own (Node start, engine start): each pair covers
// categories of change that do not depend on each other. Changes inside one schema share a diff
// (models renamed apart); empty sides, several files and no change each take a different path
// through the CLI's arguments or its output, so they keep a diff of their own.
const PAIRS: [string, DiffSide, DiffSide][] = [
  ['create tables from several files, in the given order (not by name)', 'empty', [CRM, core(USER), BILLING]],
  ['add column and enum', [core(USER)], [core(USER_NAME)]],
  [
    'relation with foreign key and index, drop table, foreign key and column, change enum values',
    [core(renamed(USER_NAME, 'Rel') + renamed(USER_POSTS, 'Drop') + renamed(USER_NAME, 'Enum'))],
    [core(renamed(USER_POSTS, 'Rel') + renamed(USER, 'Drop') + renamed(USER_ROLES_CHANGED, 'Enum'))],
  ],
  ['drop everything', [core(USER_POSTS)], 'empty'],
  ['no change', [core(USER_POSTS)], [core(USER_POSTS)]],
];

let cli: DiffEngine;
let wasm: DiffEngine;
let scratch: string;
const tmpdirBefore = process.env.TMPDIR;
/** The Prisma CLI's script of every pair, by name, for the assertions about its content. */
const scripts = new Map<string, string>();

beforeAll(async () => {
  // A private TMPDIR: the engine's temporary folders can be counted without other test files.
  scratch = mkdtempSync(path.join(os.tmpdir(), 'orch-cli-engine-'));
  process.env.TMPDIR = scratch;
  [cli, wasm] = await Promise.all([startPrismaCliEngine({ cwd: REPO }), startWasmEngine({})]);
});

afterAll(async () => {
  if (tmpdirBefore === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = tmpdirBefore;
  await Promise.all([cli?.close(), wasm?.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('prisma-cli engine', () => {
  it.each(PAIRS)('%s: the script is byte-identical to the in-process engine', async (name, from, to) => {
    const [viaCli, inProcess] = await Promise.all([cli.diff(from, to), wasm.diff(from, to)]);
    expect(viaCli).toBe(inProcess);
    scripts.set(name, viaCli);
  });

  it('produces the statements one expects, and nothing for equal schemas', () => {
    expect(scripts.get('add column and enum')).toBe(`-- CreateEnum
CREATE TYPE "Role" AS ENUM ('MEMBER', 'ADMIN');

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "name" TEXT,
ADD COLUMN     "role" "Role" NOT NULL DEFAULT 'MEMBER';
`);
    expect(scripts.get('no change')).toBe('');
    // The shared diff holds each of its changes, so that none of them goes untested.
    const shared = scripts.get('relation with foreign key and index, drop table, foreign key and column, change enum values')!;
    expect(shared).toContain('CREATE TABLE "blog_posts_Rel"');
    expect(shared).toContain('CREATE INDEX "blog_posts_Rel_authorId_idx"');
    expect(shared).toContain('FOREIGN KEY ("authorId") REFERENCES "UserRel"("id") ON DELETE CASCADE');
    expect(shared).toContain('DROP TABLE "blog_posts_Drop"');
    expect(shared).toContain('ALTER TABLE "blog_posts_Drop" DROP CONSTRAINT');
    expect(shared).toContain('ALTER TABLE "UserDrop" DROP COLUMN "name"');
    expect(shared).toContain('"RoleEnum_new" AS ENUM (\'MEMBER\', \'OWNER\')');
  });

  it('keeps the order of several files, as the in-process engine does', () => {
    const script = scripts.get('create tables from several files, in the given order (not by name)')!;
    const tables = [...script.matchAll(/CREATE TABLE "([^"]+)"/g)].map((m) => m[1]);
    expect(tables).toEqual(['crm_Contact', 'User', 'billing_invoices']);
  });

  it('reports an invalid schema like the in-process engine, at the original file name', async () => {
    const broken = [core(USER), { path: 'extensions/billing/schema.prisma', content: 'model billing_Invoice {\n  id Int @id\n  amount\n}\n' }];
    const [viaCli, inProcess] = await Promise.all([cli.diff('empty', broken).catch((e: unknown) => e), wasm.diff('empty', broken).catch((e: unknown) => e)]);
    expect(viaCli).toBeInstanceOf(UsageError);
    expect((viaCli as Error).message).toBe((inProcess as Error).message);
    expect((viaCli as Error).message).toContain('-->  extensions/billing/schema.prisma:3');
    expect((viaCli as Error).message).not.toContain('orchestrate-diff-');
  });

  it('leaves no temporary folder behind, after success or failure', () => {
    // The diffs above, which succeeded and failed, all ran with this private TMPDIR.
    expect(scripts.size).toBe(PAIRS.length);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('fails at start with a clear sentence when the project directory does not exist', async () => {
    await expect(startPrismaCliEngine({ cwd: path.join(scratch, 'nope') })).rejects.toThrow(
      `The project directory ${path.join(scratch, 'nope')} does not exist; pass an existing --cwd.`,
    );
  });
});

describe('orchestrate revision --engine prisma-cli', () => {
  it('writes the same migrations as the default engine', async () => {
    const spec = {
      core: `${USER_NAME}`,
      extensions: {
        billing: {
          schema: `model Invoice {\n  id     Int  @id @default(autoincrement())\n  userId Int\n  user   User @relation(fields: [userId], references: [id])\n\n  @@map("billing_invoices")\n}\n\nextend model User {\n  invoices Invoice[]\n  billingCustomerId String? @map("billing_customer_id")\n}\n`,
        },
      },
    };
    // Core's migration exists already (written in-process, copied to both projects): the Prisma
    // CLI then runs for the extension's diffs only, and core's SQL through it is compared with
    // the in-process engine above and in sample-app.test.ts.
    const base = tempDir('orch-cli-revision-');
    try {
      writeProject(base.dir, spec);
      await reviseInProcess(base.dir, ['billing'], { owners: ['core'], name: 'init' });
      // Both engines at once: the Prisma CLI's processes are most of the time. The default engine
      // runs in-process (it is the reference); the CLI process is for the `--engine` flag.
      const runs = await Promise.all(
        [null, ['--engine', 'prisma-cli']].map(async (engine) => {
          const t = tempDir('orch-cli-revision-');
          try {
            cpSync(base.dir, t.dir, { recursive: true });
            if (engine) {
              const result = await runCli(t.dir, ['revision', '--all', '-m', 'init', ...engine], { APP_EXTENSIONS: 'billing' });
              expect(result.exitCode, result.stderr).toBe(0);
            } else {
              await reviseInProcess(t.dir, ['billing'], { name: 'init' });
            }
            const files: Record<string, string> = {};
            for (const owner of ['prisma/migrations', 'extensions/billing/migrations']) {
              const migrations = readdirSync(path.join(t.dir, owner)).filter((d) => /^\d{14}_/.test(d));
              files[`${owner}/`] = migrations.map((m) => m.replace(/^\d{14}_/, '<timestamp>_')).join(',');
              for (const f of ['migration.sql', 'down.sql']) {
                files[`${owner}/${f}`] = readFileSync(path.join(t.dir, owner, migrations.at(-1)!, f), 'utf8').replace(/\b\d{14}_/g, '<timestamp>_');
              }
            }
            return files;
          } finally {
            t.cleanup();
          }
        }),
      );
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[0]!['prisma/migrations/']).toBe('<timestamp>_init');
      expect(runs[0]!['extensions/billing/migrations/migration.sql']).toContain('ALTER TABLE "User" ADD COLUMN     "billing_customer_id" TEXT;');
    } finally {
      base.cleanup();
    }
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rewriteGeneratorOutputs } from '../src/commands/generate.js';
import { createDatabase, query, REPO, runCli, tempDir, writeProject } from './helpers.js';
import { reviseInProcess } from './in-process.js';
import { createOrchestrator } from '../src/index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const GENERATOR = `generator client {
  provider            = "prisma-client"
  output              = "../generated/client"
  importFileExtension = "js"
}
`;

const CORE = `${GENERATOR}
model User {
  id    Int    @id @default(autoincrement())
  email String @unique
}
`;

const BILLING = `// { braces in comments } and "output" in strings do not matter
model Invoice {
  id     Int    @id @default(autoincrement())
  number String @default("INV-{0}")
  amount Int
  userId Int
  user   User   @relation(fields: [userId], references: [id])

  @@map("billing_invoices")
}

extend model User {
  invoices          Invoice[]
  billingCustomerId String?   @map("billing_customer_id")
}
`;

/** Uses the extension's model and the field the extension adds to core's User. */
const PROGRAM = `import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client/client.js';

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL! }) });
const user = await prisma.user.create({
  data: { email: 'ada@example.com', billingCustomerId: 'cus_1', invoices: { create: [{ amount: 42 }, { amount: 8 }] } },
  include: { invoices: { orderBy: { id: 'asc' } } },
});
const customer: string | null = user.billingCustomerId;
const invoices = await prisma.invoice.findMany({ include: { user: true }, orderBy: { id: 'asc' } });
console.log(JSON.stringify({ customer, amounts: user.invoices.map((i) => i.amount), numbers: invoices.map((i) => i.number), owners: invoices.map((i) => i.user.email) }));
await prisma.$disconnect();
`;

function project(spec: Parameters<typeof writeProject>[1]) {
  const t = tempDir('orch-generate-');
  cleanups.push(t.cleanup);
  writeProject(t.dir, spec);
  return t.dir;
}

const tsc = (cwd: string) => execa(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd, reject: false });

describe('rewriteGeneratorOutputs', () => {
  it('re-points relative outputs from the new folder to where the core schema meant them', () => {
    const text = `// output = "not/this" in a comment
generator client {
  provider = "prisma-client"
  output   = "../src/generated/prisma" // where the app imports it from
}

generator second {
  provider = "prisma-client-js"
  output="./second"
}

generator absolute {
  provider = "prisma-client"
  output   = "/opt/client"
}

generator none {
  provider = "prisma-client-js"
}

model Note {
  id   Int    @id
  text String @default("output = \\"x\\"")
}
`;
    const { text: out, generators } = rewriteGeneratorOutputs(text, '/app/prisma', '/app/.orchestrate/generated');
    expect(generators).toEqual([
      { name: 'client', provider: 'prisma-client', output: '../src/generated/prisma', rewrittenOutput: '../../src/generated/prisma' },
      { name: 'second', provider: 'prisma-client-js', output: './second', rewrittenOutput: '../../prisma/second' },
      { name: 'absolute', provider: 'prisma-client', output: '/opt/client', rewrittenOutput: '/opt/client' },
      { name: 'none', provider: 'prisma-client-js', output: null, rewrittenOutput: null },
    ]);
    expect(out).toBe(
      text.replace('output   = "../src/generated/prisma"', 'output   = "../../src/generated/prisma"').replace('output="./second"', 'output="../../prisma/second"'),
    );
  });
});

describe('orchestrate generate', () => {
  // Two steps on one project (tsc runs are long): the second needs the first to have passed.
  const story = { dir: '', env: {} as Record<string, string> };
  const afterStory: (() => unknown)[] = [];
  afterAll(async () => {
    while (afterStory.length) await afterStory.pop()!();
  });

  it('generates a client with extension models and extension fields on core models, which type-checks and runs against the migrated database', async () => {
    const t = tempDir('orch-generate-');
    afterStory.push(t.cleanup);
    const dir = t.dir;
    writeProject(dir, { core: CORE, extensions: { billing: { schema: BILLING } } });
    const db = await createDatabase('orch_generate');
    afterStory.push(db.drop);
    const env = { APP_EXTENSIONS: 'billing', TMPDIR: path.join(dir, '..', path.basename(dir) + '-tmp') };
    mkdirSync(env.TMPDIR);
    afterStory.push(() => execa('rm', ['-rf', env.TMPDIR]));

    const generated = await runCli(dir, ['generate', '--json'], env);
    expect(generated.stderr).toBe('');
    expect(generated.exitCode).toBe(0);
    const data = JSON.parse(String(generated.stdout));
    expect(data).toMatchObject({
      schema: '.orchestrate/generated/schema.prisma',
      owners: ['core', 'billing'],
      generators: [{ name: 'client', provider: 'prisma-client', output: '../generated/client', rewrittenOutput: '../../generated/client' }],
    });
    expect(data.prismaOutput).toMatch(/Generated Prisma Client \(7\.10\.0\) to \.\/generated\/client/);

    // The merged schema: extension fields folded into User, the extension's model after core.
    const merged = readFileSync(path.join(dir, '.orchestrate/generated/schema.prisma'), 'utf8');
    expect(merged).toContain('output              = "../../generated/client"');
    expect(merged).toMatch(/model User \{[^}]*billingCustomerId String\?\s+@map\("billing_customer_id"\)[^}]*\}/);
    expect(merged).not.toContain('extend model');
    expect(readFileSync(path.join(dir, '.orchestrate/generated/.gitignore'), 'utf8')).toBe('*\n');
    // The client lands where the core schema's generator said, not under .orchestrate.
    expect(existsSync(path.join(dir, 'generated/client/client.ts'))).toBe(true);
    expect(readdirSync(path.join(dir, 'generated/client/models')).sort()).toEqual(['Invoice.ts', 'User.ts']);
    expect(readdirSync(env.TMPDIR)).toEqual([]);

    // Tables through the tool itself (in-process: the tables are what matters here): one
    // migration per owner, applied.
    const written = await reviseInProcess(dir, ['billing'], { name: 'init' });
    expect(written.owners.map((o) => [o.owner, o.status])).toEqual([['core', 'created'], ['billing', 'created']]);
    const o = createOrchestrator({ root: dir, database: db.url, extensions: ['billing'], env: {} });
    try {
      const migrated = await o.apply(await o.planUpgrade());
      expect(migrated.ok).toBe(true);
      expect(migrated.results.map((r) => [r.owner, r.status])).toEqual([['core', 'Success'], ['billing', 'Success']]);
    } finally {
      await o.close();
    }

    symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}\n');
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'build', types: ['node'] },
        include: ['main.ts', 'generated'],
      }),
    );
    writeFileSync(path.join(dir, 'main.ts'), PROGRAM);
    const compiled = await tsc(dir);
    expect(compiled.stdout).toBe('');
    expect(compiled.exitCode).toBe(0);

    const run = await execa(process.execPath, ['build/main.js'], { cwd: dir, env: { DATABASE_URL: db.url }, reject: false });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ customer: 'cus_1', amounts: [42, 8], numbers: ['INV-{0}', 'INV-{0}'], owners: ['ada@example.com', 'ada@example.com'] });
    expect(await query(db.url, 'SELECT billing_customer_id FROM "User"')).toEqual([{ billing_customer_id: 'cus_1' }]);
    expect(await query(db.url, 'SELECT amount FROM billing_invoices ORDER BY id')).toEqual([{ amount: 42 }, { amount: 8 }]);

    story.dir = dir;
    story.env = env;
  });

  it('generates without the extension a client the same program no longer type-checks against', async () => {
    // The project of the previous test, whose program compiled against the extension's types.
    const { dir, env } = story;
    expect(dir).not.toBe('');
    expect((await runCli(dir, ['generate'], { ...env, APP_EXTENSIONS: '' })).exitCode).toBe(0);
    const without = await tsc(dir);
    expect(without.exitCode).not.toBe(0);
    expect(without.stdout).toContain("'billingCustomerId' does not exist");
    expect(without.stdout).toContain("Property 'invoice' does not exist");
  });

  it('refuses a core schema without a generator block, before running prisma', async () => {
    const dir = project({ core: 'model User {\n  id Int @id\n}\n' });
    const result = await runCli(dir, ['generate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      'error: prisma/schema.prisma has no generator block, so `prisma generate` would produce nothing; add one, e.g. generator client { provider = "prisma-client" output = "../src/generated/prisma" }.',
    );
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });

  it('reports composition errors at the original file and line, before writing anything', async () => {
    const dir = project({ core: CORE, extensions: { billing: { schema: 'model Invoice {\n  id Int @id\n  user Userr\n}\n' } } });
    const result = await runCli(dir, ['generate'], { APP_EXTENSIONS: 'billing' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: extensions\/billing\/schema\.prisma:3: /);
    expect(existsSync(path.join(dir, '.orchestrate'))).toBe(false);
  });
});

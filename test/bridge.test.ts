import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBridgeExecutable } from '../src/engine/bridge-location.js';
import { schemaEngineVersion } from '../src/engine/wasm.js';
import { DATASOURCE, PG_ADMIN_URL, REPO, catalogSnapshot, createDatabase, query, tempDir } from './helpers.js';

/**
 * The real Prisma CLI (node_modules/.bin/prisma) with the bridge as its schema engine. Any
 * download attempt would go to an unreachable mirror and fail the test at once.
 */
const PRISMA_BIN = path.join(REPO, 'node_modules/.bin/prisma');
let BRIDGE: string;
let work: { dir: string; cleanup: () => void };
let gitHash: string;

beforeAll(async () => {
  work = tempDir('orch-bridge-');
  BRIDGE = await ensureBridgeExecutable(work.dir);
  gitHash = (await schemaEngineVersion()).split('.').pop()!;
});
afterAll(() => work.cleanup());

const offline = () => ({
  PRISMA_SCHEMA_ENGINE_BINARY: BRIDGE,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  PRISMA_ENGINES_MIRROR: 'http://127.0.0.1:9',
  NO_COLOR: '1',
});

function prisma(args: string[], options: { cwd: string; input?: string }) {
  return execa(PRISMA_BIN, args, {
    cwd: options.cwd,
    reject: false,
    env: offline(),
    extendEnv: true,
    stripFinalNewline: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    timeout: 60_000,
  });
}

function dir(name: string, files: Record<string, string>): string {
  const d = path.join(work.dir, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, file)), { recursive: true });
    writeFileSync(path.join(d, file), content);
  }
  return d;
}

const USER = `${DATASOURCE}\nmodel User {\n  id   Int    @id\n  name String\n}\n`;
const USER_EMAIL = `${DATASOURCE}\nmodel User {\n  id    Int     @id\n  name  String\n  email String?\n}\n`;

const CREATE_SCHEMA = `-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

`;
const CREATE_USER_TABLE = `-- CreateTable
CREATE TABLE "User" (
    "id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
`;
const CREATE_USER = CREATE_SCHEMA + CREATE_USER_TABLE;

describe('the bridge executable', () => {
  it('prints the version line of the native engine, with the commit of the bundled wasm engine', async () => {
    const result = await execa(BRIDGE, ['--version'], { reject: false });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`schema-engine-cli ${gitHash}`);
    expect(gitHash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('rejects an unknown argument with one JSON error line on stderr and exit code 1', async () => {
    const result = await execa(BRIDGE, ['--frobnicate'], { reject: false });
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'ERROR', target: 'schema_engine::logger', fields: { message: 'Unknown argument "--frobnicate"; see --help.' } });
  });

  it('sends the script as an engine→CLI `print` request and answers the diff only after the CLI replied', async () => {
    const child = spawn(BRIDGE, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Record<string, unknown>[] = [];
    const stderr: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(JSON.parse(l)));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const line = async (n: number) => {
      while (stdout.length < n) await new Promise((r) => setTimeout(r, 10));
      return stdout[n - 1]!;
    };
    const send = (message: object) => child.stdin!.write(`${JSON.stringify(message)}\n`);

    send({
      jsonrpc: '2.0',
      id: 7,
      method: 'diff',
      params: {
        from: { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: USER }] },
        script: true,
        exitCode: true,
        filters: { externalTables: [], externalEnums: [] },
      },
    });
    // Like the native engine: the script without its last newline, in a request with its own id.
    expect(await line(1)).toEqual({ jsonrpc: '2.0', method: 'print', params: { content: CREATE_USER.slice(0, -1) }, id: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(stdout).toHaveLength(1);
    send({ jsonrpc: '2.0', id: 0, result: {} });
    expect(await line(2)).toEqual({ jsonrpc: '2.0', result: { exitCode: 2, stdout: null }, id: 7 });

    send({ jsonrpc: '2.0', id: 8, method: 'createMigration', params: {} });
    expect(await line(3)).toMatchObject({ id: 8, error: { code: 4466, data: { is_panic: false, message: expect.stringMatching(/^`prisma migrate dev` \(schema engine method `createMigration`\) needs a shadow database/) } } });
    send({ jsonrpc: '2.0', id: 9, method: 'noSuchMethod', params: {} });
    expect(await line(4)).toMatchObject({ id: 9, error: { code: -32601, data: { message: expect.stringContaining('does not implement the JSON-RPC method `noSuchMethod`') } } });

    child.stdin!.end();
    expect(await exited).toBe(0);
    for (const l of stderr) expect(() => JSON.parse(l)).not.toThrow();
    expect(stderr.map((l) => JSON.parse(l).fields.message)).toContain('Starting schema engine RPC server');
  });

  it('cli can-connect-to-database reports a missing database with P1003, as the CLI expects', async () => {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = '/orch_no_such_database';
    const missing = await execa(BRIDGE, ['--datasource', JSON.stringify({ url: url.toString() }), 'cli', 'can-connect-to-database'], { reject: false });
    expect(missing.exitCode).toBe(1);
    const lines = missing.stderr.split('\n').map((l) => JSON.parse(l));
    expect(lines[0].fields.message).toBe('Starting schema engine CLI');
    expect(lines.at(-1)).toMatchObject({
      level: 'ERROR',
      target: 'schema_engine::logger',
      fields: { error_code: 'P1003', message: 'Database `orch_no_such_database` does not exist' },
    });
    const ok = await execa(BRIDGE, ['--datasource', JSON.stringify({ url: PG_ADMIN_URL }), 'cli', 'can-connect-to-database'], { reject: false });
    expect(ok.exitCode).toBe(0);
  });
});

describe('the Prisma CLI through the bridge', () => {
  it('prisma --version reports the bridge as schema engine and downloads nothing', async () => {
    const result = await prisma(['--version'], { cwd: work.dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Schema Engine\\s+: schema-engine-cli ${gitHash} \\(at .*, resolved by PRISMA_SCHEMA_ENGINE_BINARY\\)`));
  });

  it('migrate diff --from-empty --to-schema reads a folder of schema files (multi-file schema) and prints the script', async () => {
    const d = dir('diff1', {
      'schema/prisma/schema.prisma': USER,
      'schema/extensions/billing/schema.prisma': 'model billing_Invoice {\n  id     Int @id\n  userId Int\n}\n',
    });
    const result = await prisma(['migrate', 'diff', '--from-empty', '--to-schema', 'schema', '--script'], { cwd: d });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // The files in name order (extensions/ before prisma/), then the CLI's own console.log of
    // its (empty) return value.
    expect(result.stdout).toBe(`${CREATE_SCHEMA}-- CreateTable
CREATE TABLE "billing_Invoice" (
    "id" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,

    CONSTRAINT "billing_Invoice_pkey" PRIMARY KEY ("id")
);

${CREATE_USER_TABLE}
`);
  });

  it('migrate diff --exit-code exits 2 when the schemas differ and 0 when they do not', async () => {
    const d = dir('diff2', { 'a.prisma': USER, 'b.prisma': USER_EMAIL });
    const changed = await prisma(['migrate', 'diff', '--from-schema', 'a.prisma', '--to-schema', 'b.prisma', '--script', '--exit-code'], { cwd: d });
    expect(changed.exitCode).toBe(2);
    expect(changed.stdout).toBe('-- AlterTable\nALTER TABLE "User" ADD COLUMN     "email" TEXT;\n');
    const same = await prisma(['migrate', 'diff', '--from-schema', 'a.prisma', '--to-schema', 'a.prisma', '--script', '--exit-code'], { cwd: d });
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toBe('-- This is an empty migration.\n\n');
  });

  it('migrate diff from a migrations folder (shadow database) fails with one sentence', async () => {
    const d = dir('diff4', { 'schema.prisma': USER, 'migrations/migration_lock.toml': 'provider = "postgresql"\n' });
    const result = await prisma(['migrate', 'diff', '--from-migrations', 'migrations', '--to-schema', 'schema.prisma', '--script'], { cwd: d });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      "Error: A diff from or to a migrations folder needs a shadow database, which orchestrate-schema-engine does not provide (it would have to replay migrations on your server); use `prisma migrate diff --from-schema ... --to-schema ... --script` or `orchestrate revision` instead, or run this command with Prisma's native schema engine.",
    );
  });

  describe('against a real PostgreSQL database', () => {
    let db: Awaited<ReturnType<typeof createDatabase>>;
    let d: string;
    beforeAll(async () => {
      db = await createDatabase('orch_bridge');
      // Prisma 7 takes the datasource URL of `db execute` from the config file only.
      d = dir('db', {
        'prisma.config.ts': `export default { schema: 'prisma/schema.prisma', datasource: { url: ${JSON.stringify(db.url)} } };\n`,
        'prisma/schema.prisma': USER,
        'create.sql': 'CREATE TABLE bridge_file (id int PRIMARY KEY);\n',
      });
    });
    afterAll(() => db.drop());

    it('db execute --file and --stdin run the script on the configured database', async () => {
      const fromFile = await prisma(['db', 'execute', '--file', 'create.sql'], { cwd: d });
      expect(fromFile.exitCode).toBe(0);
      expect(fromFile.stdout).toBe('Script executed successfully.\n');
      const fromStdin = await prisma(['db', 'execute', '--stdin'], { cwd: d, input: 'CREATE TABLE bridge_stdin (id int); INSERT INTO bridge_stdin VALUES (1), (2);' });
      expect(fromStdin.exitCode).toBe(0);
      const tables = await query<{ table_name: string }>(db.url, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
      expect(tables.map((t) => t.table_name)).toEqual(['bridge_file', 'bridge_stdin']);
      expect(await query(db.url, 'SELECT count(*)::int AS n FROM bridge_stdin')).toEqual([{ n: 2 }]);
    });

    it('db execute reports a failing statement as an error', async () => {
      const result = await prisma(['db', 'execute', '--stdin'], { cwd: d, input: 'SELECT * FROM no_such_table;' });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('`no_such_table` does not exist');
    });

    it('migrate dev (shadow database) and db pull (introspection) fail with one clear sentence', async () => {
      const dev = await prisma(['migrate', 'dev', '--name', 'x'], { cwd: d });
      expect(dev.exitCode).toBe(1);
      expect(dev.stderr).toContain('Error: `prisma migrate dev` (schema engine method `devDiagnostic`) needs a shadow database');
      const pull = await prisma(['db', 'pull', '--print'], { cwd: d });
      expect(pull.exitCode).toBe(1);
      expect(pull.stderr).toContain(
        "Error: Prisma's wasm schema engine could not read the database's schema (Column type 'char' could not be deserialized from the database); introspection (`db pull`, `db push`, `--from-config-datasource`) needs Prisma's native schema engine.",
      );
    });
  });

  describe('migrate deploy of a history PostgreSQL must split itself', () => {
    // Statements a `;` split breaks: dollar-quoted bodies, DO blocks, semicolons in strings and comments.
    const INIT = `-- A history as people write it by hand; comments may hold a ; too.
CREATE TABLE "Account" ("id" SERIAL PRIMARY KEY, "note" TEXT NOT NULL);
INSERT INTO "Account" ("note") VALUES ('a;b'), ('it''s; fine');

CREATE FUNCTION account_label(n text) RETURNS text AS $$
BEGIN
  RETURN 'label: ' || n || ';';
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION tagged() RETURNS text AS $body$ SELECT 'x;y' $body$ LANGUAGE sql;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'Mood') THEN
    CREATE TYPE "Mood" AS ENUM ('happy', 'sad');
  END IF;
END
$$;

/* a block comment; with a semicolon */
COMMENT ON TABLE "Account" IS 'accounts; one per customer';
`;
    // Fails at its last statement: what ran before it must not stay behind.
    const FAILS = `CREATE TABLE "Leftover" ("id" INTEGER);
INSERT INTO "Account" ("note") VALUES ('leftover;');
DO $$ BEGIN RAISE EXCEPTION 'stop here; on purpose'; END $$;
`;
    const state = async (url: string) => ({
      catalog: await catalogSnapshot(url),
      rows: await query(url, 'SELECT "id", "note", account_label("note") AS label, tagged() AS tagged FROM "Account" ORDER BY "id"'),
      comment: await query(url, `SELECT obj_description('"Account"'::regclass) AS comment`),
      leftover: await query(url, `SELECT to_regclass('"Leftover"') IS NOT NULL AS present`),
    });

    // Prisma's database does not exist yet: the first deploy creates it (P1003 → cli create-database).
    const name = `orch_bridge_deploy_${Date.now().toString(36)}`;
    const viaPrisma = { name, url: Object.assign(new URL(PG_ADMIN_URL), { pathname: `/${name}` }).toString() };
    let viaPsql: Awaited<ReturnType<typeof createDatabase>>;
    beforeAll(async () => {
      viaPsql = await createDatabase('orch_bridge_psql');
    });
    afterAll(() => Promise.all([query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`), viaPsql?.drop()]));

    const psql = (url: string, file: string, ...flags: string[]) => execa('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...flags, '-d', url, '-f', file], { reject: false });

    // Both tests work on one history; the second adds a failing migration to it.
    let d: string;
    let expected: Awaited<ReturnType<typeof state>>;

    it('creates the missing database, and applies DO blocks, dollar-quoted functions and semicolons in strings as psql -f does', async () => {
      d = dir('deploy-whole', {
        'prisma.config.ts': `export default { schema: 'prisma/schema.prisma', datasource: { url: ${JSON.stringify(viaPrisma.url)} } };\n`,
        'prisma/schema.prisma': USER,
        'prisma/migrations/migration_lock.toml': 'provider = "postgresql"\n',
        'prisma/migrations/20240101000000_init/migration.sql': INIT,
      });
      const applied = await prisma(['migrate', 'deploy'], { cwd: d });
      expect(applied.stderr).not.toContain('Error');
      expect(applied.exitCode).toBe(0);
      expect(applied.stdout).toContain(`PostgreSQL database ${name} created`);
      expect(applied.stdout).toContain('All migrations have been successfully applied.');
      expect(await query(viaPrisma.url, 'SELECT migration_name FROM _prisma_migrations')).toEqual([{ migration_name: '20240101000000_init' }]);

      const first = await psql(viaPsql.url, path.join(d, 'prisma/migrations/20240101000000_init/migration.sql'));
      expect(first.stderr).toBe('');
      expected = await state(viaPsql.url);
      expect(expected.rows).toEqual([
        { id: 1, note: 'a;b', label: 'label: a;b;', tagged: 'x;y' },
        { id: 2, note: "it's; fine", label: "label: it's; fine;", tagged: 'x;y' },
      ]);
      expect(await state(viaPrisma.url)).toEqual(expected);
    });

    it('leaves nothing of a failing migration behind, as psql --single-transaction -f does', async () => {
      expect(expected).toBeDefined();
      dir('deploy-whole', { 'prisma/migrations/20240102000000_fails/migration.sql': FAILS });
      const failed = await prisma(['migrate', 'deploy'], { cwd: d });
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toContain('stop here; on purpose');
      const second = await psql(viaPsql.url, path.join(d, 'prisma/migrations/20240102000000_fails/migration.sql'), '--single-transaction');
      expect(second.exitCode).toBe(3);
      const after = await state(viaPsql.url);
      expect(after).toEqual(expected);
      expect(after.leftover).toEqual([{ present: false }]);
      expect(await state(viaPrisma.url)).toEqual(after);
      expect(await query(viaPrisma.url, 'SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at')).toEqual([
        { migration_name: '20240101000000_init', finished: true },
        { migration_name: '20240102000000_fails', finished: false },
      ]);
    });
  });

  it('prisma generate writes a client', async () => {
    const d = dir('generate', {
      'schema.prisma': `generator client {\n  provider = "prisma-client"\n  output   = "./client"\n}\n\n${USER}`,
    });
    const result = await prisma(['generate', '--schema', 'schema.prisma'], { cwd: d });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Generated Prisma Client \(7\.10\.0\) to \.\/client/);
    expect(existsSync(path.join(d, 'client/client.ts'))).toBe(true);
    expect(readdirSync(path.join(d, 'client/models'))).toEqual(['User.ts']);
  });
});

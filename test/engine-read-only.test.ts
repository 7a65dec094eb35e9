/**
 * The schema engine's connection to a user's PostgreSQL database is read-only on the server:
 * whatever SQL reaches it, a write fails there (SQLSTATE 25006), and revision still diffs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyFactory, readOnlyPgFactory } from '../src/engine/adapters.js';
import { clientConfigFor } from '../src/db/postgres.js';
import { startWasmEngine } from '../src/engine/engine.js';
import { CORE, makeProject, useCleanups } from './fixtures.js';
import { createDatabase, DATASOURCE, query, runCli } from './helpers.js';

let db: Awaited<ReturnType<typeof createDatabase>>;
beforeAll(async () => {
  db = await createDatabase('orch_ro');
});
afterAll(async () => {
  await db?.drop();
});

const tables = async () => (await query<{ tablename: string }>(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map((r) => r.tablename);

/** The SQLSTATE a driver adapter error carries from the server. */
const sqlState = (error: unknown) => (error as { cause?: { originalCode?: string } }).cause?.originalCode;

describe("the schema engine's database connection", () => {
  const onCleanup = useCleanups();

  it('is refused any write by the server (25006), even one dressed as a read', async () => {
    const factory = readOnlyFactory(await readOnlyPgFactory({ connectionString: db.url, max: 1 }));
    onCleanup(() => factory.disposeAll());
    const adapter = await factory.connect();
    const read = await adapter.queryRaw({ sql: 'SELECT 1 AS one', args: [], argTypes: [] });
    expect(read.rows).toEqual([[1]]);
    for (const sql of ['CREATE TABLE "Sneaky" (id int)', 'WITH x AS (SELECT 1) SELECT 1 INTO "Sneaky" FROM x', 'SELECT 1; CREATE TABLE "Sneaky" (id int)']) {
      const error = await adapter.queryRaw({ sql, args: [], argTypes: [] }).then(() => null, (e: unknown) => e);
      expect(sqlState(error), sql).toBe('25006');
    }
    expect(await tables()).toEqual([]);
  });

  it('stays read-only when the URL asks for the opposite in its options', async () => {
    const url = new URL(db.url);
    url.searchParams.set('options', '-c default_transaction_read_only=off');
    // Connection settings as the engine gets them: libpq's reading of the URL.
    const { config } = await clientConfigFor(url.toString());
    const factory = await readOnlyPgFactory({ ...config, max: 1 });
    const adapter = await factory.connect();
    onCleanup(() => adapter.dispose());
    const error = await adapter.queryRaw({ sql: 'CREATE TABLE "Sneaky" (id int)', args: [], argTypes: [] }).then(() => null, (e: unknown) => e);
    expect(sqlState(error)).toBe('25006');
  });

  it('refuses a session that did not become read-only', async () => {
    // node-postgres lets a connection string's options replace the ones given beside it.
    const url = new URL(db.url);
    url.searchParams.set('options', '-c default_transaction_read_only=off');
    const factory = await readOnlyPgFactory({ connectionString: url.toString(), max: 1 });
    await expect(factory.connect()).rejects.toThrow(
      'the database session did not become read-only (default_transaction_read_only is off); a connection pooler may drop startup options: point --url at the server itself',
    );
  });

  it('diffs schemas through a read-only session', async () => {
    const engine = await startWasmEngine({ url: db.url });
    onCleanup(() => engine.close());
    const sql = await engine.diff('empty', [{ path: 'schema.prisma', content: `${DATASOURCE}\nmodel User {\n  id Int @id\n}\n` }]);
    expect(sql).toContain('CREATE TABLE "User"');
    expect(await tables()).toEqual([]);
  });

  it('lets `revision --url` write the migration and leaves the database untouched', async () => {
    const root = makeProject(onCleanup, { core: CORE });
    const r = await runCli(root, ['revision', '--core', '--name', 'init', '--url', db.url]);
    // Only progress lines: no error, no warning.
    expect(r.stderr).not.toMatch(/error|warning|refused/i);
    expect(r.exitCode).toBe(0);
    const dir = path.join(root, 'prisma/migrations');
    const folder = readdirSync(dir).find((f) => f.endsWith('_init'))!;
    expect(existsSync(path.join(dir, folder, 'migration.sql'))).toBe(true);
    expect(readFileSync(path.join(dir, folder, 'migration.sql'), 'utf8')).toContain('CREATE TABLE "User"');
    expect(await tables()).toEqual([]);
  });
});

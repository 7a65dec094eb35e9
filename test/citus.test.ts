/**
 * A run pointed at a Citus worker node is refused before anything runs: there the history
 * tables are missing and every migration would be applied again. The test stands in for Citus
 * with a plain SQL function of the same name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, query, runCli } from './helpers.js';
import { SAMPLE_EXTENSIONS, copySampleApp, exec } from './fleet-helpers.js';

let app: { dir: string; cleanup: () => void };
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  app = copySampleApp();
  db = await createDatabase('orch_citus');
}, 60_000);
afterAll(async () => {
  await db?.drop();
  app?.cleanup();
}, 60_000);

/** Makes the database look like a Citus coordinator (true) or worker node (false). */
async function setup(coordinator: boolean) {
  await exec(db.url, `CREATE OR REPLACE FUNCTION citus_is_coordinator() RETURNS boolean LANGUAGE sql AS 'SELECT ${coordinator}'`);
  return { dir: app.dir, url: db.url };
}

const tables = (url: string) => query<{ t: string }>(url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`);

describe('Citus', () => {
  it('refuses a worker node (citus_is_coordinator() false) before anything runs, for migrate, --sql and fleet', async () => {
    const { dir, url } = await setup(false);
    const run = await runCli(dir, ['migrate', '--url', url], { APP_EXTENSIONS: SAMPLE_EXTENSIONS });
    expect(run.exitCode).toBe(1);
    const sentence = `is a Citus worker node (citus_is_coordinator() returned false), where migrations would be applied again outside the coordinator's history; point the URL at the Citus coordinator.`;
    expect(run.stderr.trim()).toBe(`error: ${url} ${sentence}`);
    expect(await tables(url)).toEqual([]);

    const sql = await runCli(dir, ['migrate', '--url', url, '--sql'], { APP_EXTENSIONS: SAMPLE_EXTENSIONS });
    expect(sql.exitCode).toBe(1);
    expect(sql.stderr).toContain(sentence);

    const fleet = await runCli(dir, ['fleet', '--command', `echo '${url}'`, '--json'], { APP_EXTENSIONS: SAMPLE_EXTENSIONS });
    expect(fleet.exitCode).toBe(1);
    const report = JSON.parse(fleet.stdout);
    expect(report.databases[0]).toMatchObject({ status: 'failed', error: { message: `${url} ${sentence}` } });
    expect(await tables(url)).toEqual([]);
  });

  it('migrates a coordinator (citus_is_coordinator() true) as any database', async () => {
    const { dir, url } = await setup(true);
    const run = await runCli(dir, ['migrate', '--url', url], { APP_EXTENSIONS: SAMPLE_EXTENSIONS });
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await tables(url)).map((r) => r.t)).toContain('_prisma_migrations');
  });
});

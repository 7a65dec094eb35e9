/** Tenant lists: files, JSON, command output and control-database queries, validated at the edge. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputErrors, UsageError } from '../src/errors.js';
import { canaryGroup, parseTenantList, safeUrl, scrub, tenantsFromRows } from '../src/fleet/tenants.js';
import { createDatabase, runCli } from './helpers.js';
import { SAMPLE_EXTENSIONS, copySampleApp, exec } from './fleet-helpers.js';

let fixture: { app: { dir: string; cleanup: () => void }; control: { url: string; drop: () => Promise<void> } };
beforeAll(async () => {
  fixture = { app: copySampleApp(), control: await createDatabase('orch_fleet_query') };
}, 60_000);
afterAll(async () => {
  await fixture?.control.drop();
  fixture?.app.cleanup();
}, 60_000);

describe('tenant lists', () => {
  it('reads one URL per line, named after the database; comments and blank lines are skipped', () => {
    const tenants = parseTenantList('# prod\npostgresql://app:pw@db1:5432/acme\n\n  postgres://app@db1/globex  \n', 'tenants.txt');
    expect(tenants).toEqual([
      { name: 'acme', url: 'postgresql://app:pw@db1:5432/acme', labels: [] },
      { name: 'globex', url: 'postgres://app@db1/globex', labels: [] },
    ]);
  });

  it('names same-named databases on different hosts by host, and rejects the same database twice', () => {
    const two = parseTenantList('postgresql://db1/app\npostgresql://db2:6432/app\n', 'l');
    expect(two.map((t) => t.name)).toEqual(['db1/app', 'db2:6432/app']);
    expect(() => parseTenantList('postgresql://db1/app\npostgresql://db1/app\n', 'l')).toThrow('line 2 of l: tenant "app" is listed twice (first at line 1 of l)');
  });

  it('reads JSON lists with names and labels (a list, or {"tenants": [...]}, or plain strings)', () => {
    const list = parseTenantList(JSON.stringify({ tenants: [{ name: 'a', url: 'postgresql://h/a', labels: ['canary', 'eu'] }, 'postgresql://h/b'] }), 't.json');
    expect(list).toEqual([
      { name: 'a', url: 'postgresql://h/a', labels: ['canary', 'eu'] },
      { name: 'b', url: 'postgresql://h/b', labels: [] },
    ]);
    expect(canaryGroup(list, 'eu')).toEqual(['a']);
    expect(canaryGroup(list, '2')).toEqual(['a', 'b']);
    expect(() => canaryGroup(list, 'us')).toThrow('--canary us: no tenant has the label "us" (labels in the list: canary, eu); give a number or an existing label.');
  });

  it('collects every problem, never showing a password', () => {
    let error: unknown;
    try {
      parseTenantList(JSON.stringify([{ url: 'mysql://u:hunter2@h/a' }, { name: '' , url: 'postgresql://h/b' }, { url: 'postgresql://h/c', labels: [1] }, {}]), 't.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputErrors);
    expect((error as InputErrors).message.split('\n')).toEqual([
      't.json entry 1: mysql://u:****@h/a is a "mysql:" URL, but fleets run on PostgreSQL; use a postgresql:// URL.',
      't.json entry 2: "name" must be a non-empty string.',
      't.json entry 3: "labels" must be a list of strings (or a comma-separated string).',
      't.json entry 4: no "url"; give each tenant a postgresql:// connection URL.',
    ]);
    expect(() => parseTenantList('{"tenants": 3}', 't.json')).toThrow(UsageError);
    expect(() => parseTenantList('[1,', 't.json')).toThrow(/^t\.json is not valid JSON/);
    expect(() => parseTenantList('# nothing\n', 'empty.txt')).toThrow('empty.txt lists no tenant databases');
    expect(safeUrl('postgresql://u:hunter2@h/a')).toBe('postgresql://u:****@h/a');
    expect(scrub('password hunter2 rejected', 'postgresql://u:hunter2@h/a')).toBe('password **** rejected');
  });

  it('reads query rows with url, name and labels columns', () => {
    expect(tenantsFromRows([{ url: 'postgresql://h/a', name: null, labels: 'x, y' }], '--query')).toEqual([{ name: 'a', url: 'postgresql://h/a', labels: ['x', 'y'] }]);
    expect(() => tenantsFromRows([{ dsn: 'postgresql://h/a' }], '--query')).toThrow('--query returned no "url" column (columns: dsn)');
  });

  it('fleet --query lists tenants from the control database', async () => {
    const { app, control } = fixture;
    await exec(control.url, `CREATE TABLE tenants (name text, url text, labels text[]); INSERT INTO tenants VALUES ('self', '${control.url}', '{eu}')`);
    const run = await runCli(app.dir, ['fleet', '--query', 'SELECT name, url, labels FROM tenants', '--control-url', control.url, '--plan', '--canary', 'eu', '--json'], {
      APP_EXTENSIONS: SAMPLE_EXTENSIONS,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.databases).toMatchObject([{ name: 'self', canary: true, status: 'pending', labels: ['eu'] }]);
    expect(report.databases[0].remaining).toHaveLength(6);
    const noControl = await runCli(app.dir, ['fleet', '--query', 'SELECT 1'], {});
    expect(noControl.exitCode).toBe(2);
    expect(noControl.stderr).toContain('--query needs the control database: pass --control-url <postgresql://...> or set ORCHESTRATE_CONTROL_URL.');
    const bad = await runCli(app.dir, ['fleet', '--query', 'SELECT nope FROM tenants', '--control-url', control.url], {});
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--query failed on the control database at');
  });
});

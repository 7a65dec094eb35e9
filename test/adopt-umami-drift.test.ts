/**
 * Drift on a real adopted history: umami's migrations never create the index its schema
 * declares. `check` reports it with the SQL that reconciles them; `diff` prints that SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyUmami } from './adopt-umami-fixture.js';
import { checkData } from './in-process.js';
import { runCli } from './helpers.js';

const RECONCILE = '-- CreateIndex\nCREATE INDEX "session_replay_visit_id_idx" ON "session_replay"("visit_id");\n';

describe('umami adopted as core: drift', () => {
  let project: { dir: string; cleanup: () => void };
  beforeAll(() => {
    project = copyUmami();
  });
  afterAll(() => project.cleanup());

  it('check reports the missing index as drift of core, with the SQL, and not also as pending changes', async () => {
    const report = await checkData(project.dir, []);
    expect(report.ok).toBe(false);
    const drift = report.problems.filter((p) => p.code === 'drift');
    expect(drift).toEqual([
      {
        code: 'drift',
        owner: 'core',
        file: 'prisma/schema.prisma',
        sql: RECONCILE,
        message:
          "core's 19 migration(s), replayed in a shadow database, do not produce what prisma/schema.prisma describes; reconciling them takes: " +
          'CREATE INDEX "session_replay_visit_id_idx" ON "session_replay"("visit_id"); — `orchestrate revision --core -m <name>` writes that migration ' +
          '(review it first with `orchestrate diff --owner core --from migrations --to schema`).',
      },
    ]);
    expect(report.problems.filter((p) => p.code === 'pending-changes')).toEqual([]);
  });

  it('diff prints only the reconciling SQL on stdout', async () => {
    const text = await runCli(project.dir, ['diff', '--owner', 'core', '--from', 'migrations', '--to', 'schema']);
    expect(text.stderr).toBe('');
    expect(text.exitCode).toBe(0);
    expect(`${text.stdout}\n`).toBe(RECONCILE);
  });

  it('diff --json says the same, in the other direction', async () => {
    const json = await runCli(project.dir, ['diff', '--owner', 'core', '--from', 'schema', '--to', 'migrations', '--json']);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ owner: 'core', from: 'schema', to: 'migrations', sql: '-- DropIndex\nDROP INDEX "session_replay_visit_id_idx";\n' });
  });

  it('diff refuses a snapshot an adopted history does not have, before starting anything', async () => {
    const r = await runCli(project.dir, ['diff', '--owner', 'core', '--from', 'snapshot', '--to', 'schema']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('error: prisma/migrations/19_add_session_replay has no snapshot.prisma (a history adopted from Prisma Migrate); compare with --from migrations instead, which replays the history.');
  });
});

/**
 * An adopted Prisma Migrate history (umami's 19 migrations, no down.sql, no snapshot) is the
 * core's baseline: `check` reports it once, `downgrade` stops there, orchestrate.config.json may
 * name it, and `lint.ignoreTables` leaves adopted table names alone.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkData } from './in-process.js';
import { oneErrorLine, useCleanups } from './fixtures.js';
import { REPO, createDatabase, query, runCli, tempDir } from './helpers.js';

const onCleanup = useCleanups();
const UMAMI = path.join(REPO, 'test/real-projects/umami');
const LAST = '19_add_session_replay';

/** umami as the core of a new project, plus an extension whose tables were adopted too. */
function umamiProject(config: object): string {
  const t = tempDir('orch-baseline-');
  onCleanup(t.cleanup);
  cpSync(path.join(UMAMI, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
  mkdirSync(path.join(t.dir, 'extensions/stats'), { recursive: true });
  writeFileSync(
    path.join(t.dir, 'extensions/stats/schema.prisma'),
    'model Counter {\n  id Int @id\n\n  @@map("counter")\n}\n\nmodel CounterDay {\n  id Int @id\n\n  @@map("counter_day")\n}\n\nmodel Gauge {\n  id Int @id\n\n  @@map("gauge")\n}\n',
  );
  writeFileSync(path.join(t.dir, 'orchestrate.config.json'), JSON.stringify(config));
  return t.dir;
}

describe('a baseline of migrations that predate orchestrate', () => {
  // One check per test: a check of umami replays its whole history (19 migrations) in a shadow database.
  it('check says once that the first migrations are a baseline, with no missing down.sql per migration; lint.ignoreTables silences the prefix lint', async () => {
    const dir = umamiProject({ lint: { ignoreTables: ['counter*'] } });
    const r = await runCli(dir, ['check'], { APP_EXTENSIONS: 'stats' });
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.includes('baseline'))).toEqual(['core: 19 migrations up to 19_add_session_replay are a baseline: downgrade stops there.']);
    // One line per problem, `<code> (<owner>): <message>`.
    const codes = lines.map((l) => /^([a-z-]+) \([a-z]+\): /.exec(l)?.[1]).filter(Boolean);
    expect(codes).not.toContain('missing-down');
    expect(codes).not.toContain('migration-name');
    expect(lines.filter((l) => l.startsWith('table-prefix'))).toEqual([
      'table-prefix (stats): Table "gauge" of extension "stats" does not start with "stats_"; map it with @@map("stats_gauge") in extensions/stats/schema.prisma so it cannot clash with core or another extension.',
    ]);
    expect(codes).toContain('drift');
  }, 60_000);

  it('orchestrate.config.json can name it: later migrations without down.sql are problems again', async () => {
    const dir = umamiProject({ baseline: { core: '10_add_distinct_id' } });
    const data = await checkData(dir, []);
    expect(data.baselines).toEqual([{ owner: 'core', last: '10_add_distinct_id', count: 10, explicit: true }]);
    expect(data.problems.filter((p) => p.code === 'missing-down').map((p) => p.migration)).toEqual([
      '11_add_segment',
      '12_update_report_parameter',
      '13_add_revenue',
      '14_add_link_and_pixel',
      '15_add_share',
      '16_boards',
      '17_remove_duplicate_key',
      '18_add_performance',
      LAST,
    ]);
  }, 60_000);

  it('a baseline naming a missing migration or an unknown owner is a problem', async () => {
    const dir = umamiProject({ baseline: { core: '10_nope', stat: '01_init' } });
    const wrong = await checkData(dir, []);
    expect(wrong.problems.map((p) => p.message)).toContain(
      `orchestrate.config.json: "baseline" names 10_nope for core, but ${path.join(dir, 'prisma/migrations')} has no such migration; give the full name of the last migration that predates orchestrate, or remove the entry to let orchestrate find it.`,
    );
    expect(wrong.problems.map((p) => p.message)).toContain(
      'orchestrate.config.json: "baseline" names the owner "stat", which is neither core nor an extension folder under extensions; fix the name or remove the entry.',
    );
  }, 60_000);

  it('downgrade rolls back what came after it and refuses to go below it, in one sentence', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = umamiProject({});
    const env = { DATABASE_URL: db.url };
    // A migration made after adoption, with its down.sql and snapshot.
    const added = path.join(dir, 'prisma/migrations/20260101000000_add_note');
    mkdirSync(added);
    writeFileSync(path.join(added, 'migration.sql'), 'ALTER TABLE "website" ADD COLUMN "note" TEXT;\n');
    writeFileSync(path.join(added, 'down.sql'), 'ALTER TABLE "website" DROP COLUMN "note";\n');
    writeFileSync(path.join(added, 'snapshot.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8'));

    const migrate = await runCli(dir, ['migrate', '--core'], env);
    expect(migrate.exitCode, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/^Applied 20 migrations/);

    const refused = await runCli(dir, ['downgrade', '--core', '--target', 'base', '--yes'], env);
    expect(refused.exitCode).toBe(2);
    expect(oneErrorLine(refused.stderr)).toBe(
      `Cannot roll core back past ${LAST}: its first 19 migrations (up to ${LAST}) are a baseline that predates orchestrate, with no down.sql, and this downgrade would roll back 19 of them (down to 01_init); downgrade no lower than --target ${LAST}.`,
    );
    const below = await runCli(dir, ['downgrade', '--core', '--target', '17_remove_duplicate_key', '--yes'], env);
    expect(below.exitCode).toBe(2);
    expect(oneErrorLine(below.stderr)).toMatch(/would roll back 2 of them \(down to 18_add_performance\); downgrade no lower than --target 19_add_session_replay\.$/);

    const down = await runCli(dir, ['downgrade', '--core', '--target', LAST, '--yes'], env);
    expect(down.exitCode, down.stderr).toBe(0);
    const columns = await query<{ c: string }>(db.url, `SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'website' AND column_name = 'note'`);
    expect(columns).toEqual([]);
    const rows = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM "_prisma_migrations"');
    expect(rows).toEqual([{ n: 19 }]);
  }, 60_000);
});

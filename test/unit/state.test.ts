import { describe, expect, it } from 'vitest';
import { buildState, isApplied, stateProblems } from '../../src/apply/state.js';
import { createClient } from '@libsql/client';
import { sqliteDialect } from '../../src/db/sqlite-dialect.js';
import { folder, history, owner, row } from './fixtures.js';

const core = owner('core');
const A = folder(core, '20250101000000_a');
const B = folder(core, '20250101000001_b');

describe('buildState', () => {
  const cases: { name: string; rows: ReturnType<typeof row>[]; expected: { applied: string[]; pending: string[]; failed: string[]; modified: string[]; missing: string[] } }[] = [
    { name: 'nothing recorded: everything pending', rows: [], expected: { applied: [], pending: [A.name, B.name], failed: [], modified: [], missing: [] } },
    { name: 'a finished row: applied', rows: [row(core, A.name, A.checksum)], expected: { applied: [A.name], pending: [B.name], failed: [], modified: [], missing: [] } },
    { name: 'a row neither finished nor rolled back: failed, not pending', rows: [row(core, A.name, A.checksum, 'failed')], expected: { applied: [], pending: [B.name], failed: [A.name], modified: [], missing: [] } },
    { name: 'a rolled-back row: pending again', rows: [row(core, A.name, A.checksum, 'rolled-back')], expected: { applied: [], pending: [A.name, B.name], failed: [], modified: [], missing: [] } },
    {
      name: 'rolled back, then applied: applied',
      rows: [row(core, A.name, A.checksum, 'rolled-back'), row(core, A.name, A.checksum)],
      expected: { applied: [A.name], pending: [B.name], failed: [], modified: [], missing: [] },
    },
    { name: 'another checksum: modified', rows: [row(core, A.name, 'f'.repeat(64))], expected: { applied: [A.name], pending: [B.name], failed: [], modified: [A.name], missing: [] } },
    { name: 'no folder: missing', rows: [row(core, '20240101000000_gone', 'x')], expected: { applied: ['20240101000000_gone'], pending: [A.name, B.name], failed: [], modified: [], missing: ['20240101000000_gone'] } },
  ];
  it.each(cases)('$name', ({ rows, expected }) => {
    const s = buildState([core], new Map([['core', [A, B]]]), history(rows, ['_prisma_migrations'])).byName.get('core')!;
    expect({
      applied: s.applied.map((a) => a.name),
      pending: s.pending.map((f) => f.name),
      failed: s.failed.map((r) => r.migrationName),
      modified: s.modified.map((a) => a.name),
      missing: s.missing.map((a) => a.name),
    }).toEqual(expected);
  });

  it('takes a file checked out with CRLF line endings as unchanged', () => {
    const crlf = folder(core, A.name, A.sql.replace(/\n/g, '\r\n'));
    const s = buildState([core], new Map([['core', [crlf]]]), history([row(core, A.name, A.checksum)])).byName.get('core')!;
    expect(s.modified).toEqual([]);
  });

  it('knows which history tables exist, per owner', () => {
    const billing = owner('billing');
    const state = buildState([core, billing], new Map(), history([], ['_prisma_migrations']));
    expect(state.owners.map((s) => [s.owner.name, s.tableExists])).toEqual([
      ['core', true],
      ['billing', false],
    ]);
  });
});

describe('isApplied', () => {
  it.each([
    ['applied', true],
    ['failed', false],
    ['rolled-back', false],
  ] as const)('%s → %s', (kind, expected) => {
    expect(isApplied(row(core, A.name, A.checksum, kind))).toBe(expected);
  });
});

describe('stateProblems', () => {
  it('words failed, edited and missing migrations once, with codes and places', () => {
    const rows = [row(core, A.name, 'f'.repeat(64)), row(core, B.name, B.checksum, 'failed'), row(core, '20240101000000_gone', 'x')];
    const s = buildState([core], new Map([['core', [A, B]]]), history(rows)).byName.get('core')!;
    const problems = stateProblems(s, 'public');
    expect(problems.map((p) => [p.code, p.owner, p.migration, p.file])).toEqual([
      ['failed-migration', 'core', B.name, undefined],
      ['checksum-mismatch', 'core', A.name, `${A.dir}/migration.sql`],
      ['missing-migration', 'core', '20240101000000_gone', '/app/prisma/migrations/20240101000000_gone'],
    ]);
    expect(problems[0]!.message).toMatch(/^core\/20250101000001_b failed in an earlier run .* `orchestrate stamp core 20250101000001_b` .*`UPDATE "public"\."_prisma_migrations" SET "rolled_back_at" = now\(\) WHERE "id" IN \('[^']+'\);`/);
  });

  it('gives the fix for a failed migration in the SQL of the database it was read from', async () => {
    const s = buildState([core], new Map([['core', [A, B]]]), history([row(core, B.name, B.checksum, 'failed')]), sqliteDialect).byName.get('core')!;
    const [problem] = stateProblems(s, 'main', sqliteDialect);
    const statement = /`(UPDATE [^`]+)`/.exec(problem!.message)![1]!;
    // The statement runs on a real SQLite database holding a failed row.
    const db = createClient({ url: ':memory:' });
    await db.execute(sqliteDialect.createHistoryTable({ schema: 'main', name: '_prisma_migrations' }));
    await db.execute(`INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count") VALUES ('${s.failed[0]!.id}', 'x', '${B.name}', 0, 0)`);
    await db.execute(statement);
    const rows = (await db.execute('SELECT "rolled_back_at" FROM "_prisma_migrations"')).rows;
    expect(rows[0]!.rolled_back_at).not.toBeNull();
    db.close();
  });
});

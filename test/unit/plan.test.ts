import { describe, expect, it } from 'vitest';
import { planDowngrade, planUpgrade, resolveTarget, type Plan } from '../../src/apply/plan.js';
import { buildState, type State } from '../../src/apply/state.js';
import { OrchestrateError, UsageError } from '../../src/errors.js';
import type { MigrationFiles } from '../../src/migrations/folder.js';
import { folder, history, ids, owner, row } from './fixtures.js';

const core = owner('core');
const billing = owner('billing');
const crm = owner('crm', ['billing']);
const C1 = folder(core, '20250101000000_init');
const C2 = folder(core, '20250102000000_name');
const B1 = folder(billing, '20250101000100_init', `-- orchestrate:requires core ${C1.name}\nCREATE TABLE billing_i (id int);\n`);
const B2 = folder(billing, '20250103000000_plan', `-- orchestrate:requires core ${C2.name}\nALTER TABLE t ADD COLUMN plan text;\n`);
const R1 = folder(crm, '20250104000000_init', `-- orchestrate:requires billing ${B1.name}\nCREATE TABLE crm_c (id int);\n`);
const FILES = new Map<string, MigrationFiles[]>([
  ['core', [C1, C2]],
  ['billing', [B1, B2]],
  ['crm', [R1]],
]);

/** State with `applied` recorded (and their history tables present). */
function state(applied: MigrationFiles[] = [], files = FILES): State {
  const ownerOf = (f: MigrationFiles) => [core, billing, crm].find((o) => f.dir.startsWith(o.migrationsDir))!;
  return buildState([core, billing, crm], files, history(applied.map((f) => row(ownerOf(f), f.name, f.checksum))));
}

const applies = (plan: Plan) => plan.steps.map((s) => (s.kind === 'apply' ? `${s.owner}/${s.migration}${s.createHistory ? ' +history' : ''}` : `${s.kind} ${s.owner}`));
const reverts = (plan: Plan) => plan.steps.map((s) => (s.kind === 'revert' ? `${s.owner}/${s.migration}${s.transactional ? '' : ' (no transaction)'}` : `${s.kind} ${s.owner}`));

/** The codes (and owners) of the problems a planner throws. */
function problemsOf(fn: () => unknown): { type: string; problems: [string, string | undefined, string | undefined][] } {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof OrchestrateError)) throw error;
    return { type: error.constructor.name, problems: error.problems.map((p) => [p.code, p.owner, p.migration]) };
  }
  throw new Error('expected the planner to throw');
}

describe('planUpgrade', () => {
  const cases: { name: string; applied: MigrationFiles[]; selected: string[]; target?: { owner: string; migration: string }; steps: string[]; remaining?: [string, string[]][] }[] = [
    {
      name: 'a fresh database: everything in project order, each history table with its owner’s first migration',
      applied: [],
      selected: ['core', 'billing', 'crm'],
      steps: ['core/20250101000000_init +history', 'core/20250102000000_name', 'billing/20250101000100_init +history', 'billing/20250103000000_plan', 'crm/20250104000000_init +history'],
    },
    { name: 'up to date: nothing', applied: [C1, C2, B1, B2, R1], selected: ['core', 'billing', 'crm'], steps: [] },
    { name: 'only what is pending, history tables exist', applied: [C1, B1], selected: ['core', 'billing'], steps: ['core/20250102000000_name', 'billing/20250103000000_plan'] },
    { name: 'a requirement applied by an unselected owner counts', applied: [C1, C2], selected: ['billing'], steps: ['billing/20250101000100_init +history', 'billing/20250103000000_plan'] },
    {
      name: 'a target stops there; later owners keep their pending migrations',
      applied: [],
      selected: ['core', 'billing'],
      target: { owner: 'core', migration: C1.name },
      steps: ['core/20250101000000_init +history'],
      remaining: [
        ['core', [C2.name]],
        ['billing', [B1.name, B2.name]],
      ],
    },
  ];
  it.each(cases)('$name', ({ applied, selected, target, steps, remaining }) => {
    const plan = planUpgrade(state(applied), selected, { target, newId: ids() });
    expect(applies(plan)).toEqual(steps);
    if (remaining) expect(plan.owners.map((o) => [o.owner, o.remaining])).toEqual(remaining);
  });

  it('fixes history row ids in the plan, in order', () => {
    const plan = planUpgrade(state(), ['core'], { newId: ids() });
    expect(plan.steps.map((s) => (s.kind === 'apply' ? s.id : null))).toEqual(['id-1', 'id-2']);
  });

  it('creates the history table on its own before a first migration that runs without a transaction', () => {
    const concurrently = folder(core, C1.name, '-- orchestrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (id);\n');
    const plan = planUpgrade(state([], new Map([['core', [concurrently]]])), ['core'], { newId: ids() });
    expect(plan.steps.map((s) => s.kind)).toEqual(['create-history', 'apply']);
    expect(plan.steps[1]).toMatchObject({ transactional: false, createHistory: false });
  });

  const refusals: { name: string; build: () => State; selected: string[]; type: string; problems: [string, string | undefined, string | undefined][] }[] = [
    {
      name: 'an edited applied migration',
      build: () => buildState([core], FILES, history([row(core, C1.name, '0'.repeat(64))])),
      selected: ['core'],
      type: 'CheckError',
      problems: [['checksum-mismatch', 'core', C1.name]],
    },
    {
      name: 'a migration that failed earlier',
      build: () => buildState([core], FILES, history([row(core, C1.name, C1.checksum, 'failed')])),
      selected: ['core'],
      type: 'CheckError',
      problems: [['failed-migration', 'core', C1.name]],
    },
    {
      name: 'an applied migration whose folder is gone, in an owner that is selected',
      build: () => buildState([core, billing], FILES, history([row(billing, '20240101000000_old', 'x')])),
      selected: ['billing'],
      type: 'CheckError',
      problems: [['missing-migration', 'billing', '20240101000000_old']],
    },
    {
      name: 'a requirement of an owner that is neither applied nor in the run',
      build: () => state(),
      selected: ['billing'],
      type: 'CheckError',
      problems: [
        ['unmet-requirement', 'billing', B1.name],
        ['unmet-requirement', 'billing', B2.name],
      ],
    },
  ];
  it.each(refusals)('refuses $name', ({ build, selected, type, problems }) => {
    expect(problemsOf(() => planUpgrade(build(), selected, { newId: ids() }))).toEqual({ type, problems });
  });

  it('ignores problems of owners it does not touch', () => {
    const s = buildState([core, billing], FILES, history([row(billing, B1.name, '0'.repeat(64)), row(core, C1.name, C1.checksum)]));
    expect(applies(planUpgrade(s, ['core'], { newId: ids() }))).toEqual(['core/20250102000000_name']);
  });
});

describe('planDowngrade', () => {
  const all = [C1, C2, B1, B2, R1];
  const cases: { name: string; applied: MigrationFiles[]; targets: { owner: string; keep: string | null }[]; cascade?: boolean; steps: string[] }[] = [
    { name: 'to a migration: later ones, newest first', applied: [C1, C2], targets: [{ owner: 'core', keep: C1.name }], steps: ['core/20250102000000_name'] },
    { name: 'already there: nothing', applied: [C1], targets: [{ owner: 'core', keep: C1.name }], steps: [] },
    {
      name: 'an extension to base: its migrations, then its empty history table',
      applied: [C1, B1],
      targets: [{ owner: 'billing', keep: null }],
      steps: ['billing/20250101000100_init', 'drop-history billing'],
    },
    { name: 'core to base keeps its history table', applied: [C1, C2], targets: [{ owner: 'core', keep: null }], steps: ['core/20250102000000_name', 'core/20250101000000_init'] },
    {
      name: 'cascade: dependents first, in reverse project order',
      applied: all,
      targets: [{ owner: 'billing', keep: null }],
      cascade: true,
      steps: ['crm/20250104000000_init', 'drop-history crm', 'billing/20250103000000_plan', 'billing/20250101000100_init', 'drop-history billing'],
    },
  ];
  it.each(cases)('$name', ({ applied, targets, cascade, steps }) => {
    expect(reverts(planDowngrade(state(applied), targets, { cascade: Boolean(cascade) }))).toEqual(steps);
  });

  it('refuses what an applied migration of another owner requires, naming it', () => {
    expect(problemsOf(() => planDowngrade(state(all), [{ owner: 'billing', keep: null }], { cascade: false }))).toEqual({
      type: 'CheckError',
      problems: [['required-by', 'billing', B1.name]],
    });
  });

  it('refuses a migration without down.sql before rolling back anything', () => {
    const noDown = folder(core, C2.name, C2.sql, null);
    const files = new Map([['core', [C1, noDown]]]);
    const s = buildState([core], files, history([row(core, C1.name, C1.checksum), row(core, C2.name, C2.checksum)]));
    expect(problemsOf(() => planDowngrade(s, [{ owner: 'core', keep: null }], { cascade: false }))).toEqual({ type: 'UsageError', problems: [['missing-down', 'core', C2.name]] });
  });

  it.each([
    ['on the first line', '-- orchestrate:no-transaction\nDROP INDEX CONCURRENTLY i;\n'],
    ['below the requires lines', `-- orchestrate:requires core ${C1.name}\n-- orchestrate:no-transaction\nDROP INDEX CONCURRENTLY i;\n`],
  ])('reads the no-transaction marker of down.sql as migration.sql’s (%s)', (_where, down) => {
    const f = folder(core, C2.name, C2.sql, down);
    const s = buildState([core], new Map([['core', [C1, f]]]), history([row(core, C1.name, C1.checksum), row(core, C2.name, C2.checksum)]));
    expect(reverts(planDowngrade(s, [{ owner: 'core', keep: C1.name }], { cascade: false }))).toEqual(['core/20250102000000_name (no transaction)']);
  });
});

describe('resolveTarget', () => {
  const shared = folder(billing, C1.name);
  const files = new Map<string, MigrationFiles[]>([
    ['core', [C1, C2]],
    ['billing', [shared, B2]],
    ['crm', [R1]],
  ]);
  const s = buildState([core, billing, crm], files, history([]));
  const cases: { name: string; candidates: string[]; migration: string; owner?: string; error?: [typeof UsageError, string, RegExp] }[] = [
    { name: 'the one owner that has it', candidates: ['core', 'billing', 'crm'], migration: R1.name, owner: 'crm' },
    { name: 'among the candidates only', candidates: ['core'], migration: C1.name, owner: 'core' },
    { name: 'two owners have it', candidates: ['core', 'billing'], migration: C1.name, error: [UsageError, 'ambiguous-target', /is ambiguous: it matches core\/\d+_\w+, billing\/\d+_\w+; add --core or --extension <name> to say which owner\.$/] },
    { name: 'one candidate without it lists its names', candidates: ['crm'], migration: C1.name, error: [UsageError, 'unknown-target', /crm has no migration of that name .*valid names: 20250104000000_init\.$/] },
    { name: 'several candidates without it', candidates: ['core', 'crm'], migration: 'nope', error: [UsageError, 'unknown-target', /no migration of that name or prefix in core, crm/] },
  ];
  it.each(cases)('$name', ({ candidates, migration, owner: expected, error }) => {
    if (expected) {
      expect(resolveTarget(s, candidates, migration)).toEqual({ owner: expected, migration });
      return;
    }
    const [type, code, message] = error!;
    let thrown: unknown;
    try {
      resolveTarget(s, candidates, migration);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(type);
    expect((thrown as UsageError).problems.map((p) => p.code)).toEqual([code]);
    expect((thrown as Error).message).toMatch(message);
  });

  it('also finds a migration that is applied but whose folder is gone', () => {
    const gone = buildState([core], new Map([['core', []]]), history([row(core, '20240101000000_gone', 'x')]));
    expect(resolveTarget(gone, ['core'], '20240101000000_gone')).toEqual({ owner: 'core', migration: '20240101000000_gone' });
  });
});

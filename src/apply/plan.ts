/**
 * Plans are data: which steps a run takes, in order, decided from `State` without touching the
 * database. `--sql` prints a plan, `--json` reports it, the runner executes it.
 */
import path from 'node:path';
import { CheckError, UsageError, throwProblems, type Problem } from '../errors.js';
import { DOWN_SQL, parseDirectives, type MigrationFiles } from '../migrations/folder.js';
import { baselineOf } from '../project/baseline.js';
import type { Owner } from '../project/project.js';
import { qualified, stateProblems, type State } from './state.js';

export type Step =
  | { kind: 'create-history'; owner: string; table: string }
  | {
      kind: 'apply';
      owner: string;
      table: string;
      migration: string;
      /** migration.sql's path, for messages. */
      file: string;
      sql: string;
      checksum: string;
      /** The history row's id, fixed by the plan so that `--sql` shows the exact INSERT. */
      id: string;
      transactional: boolean;
      /** Create the owner's history table in this migration's transaction (its first use). */
      createHistory: boolean;
    }
  | { kind: 'revert'; owner: string; table: string; migration: string; file: string; sql: string; rowId: string; transactional: boolean }
  | { kind: 'drop-history'; owner: string; table: string }
  | { kind: 'stamp'; owner: string; table: string; migration: string; checksum: string; id: string; rollBack: string[] };

export interface OwnerPlan {
  owner: string;
  historyTable: string;
  /** Migrations this run applies (migrate, stamp) or rolls back (downgrade), in run order. */
  migrations: string[];
  /** Applied before the run and left alone (migrate, stamp). */
  alreadyApplied: string[];
  /** Pending migrations the run does not reach because of `--target`. */
  remaining: string[];
}

export interface Plan {
  command: 'migrate' | 'downgrade' | 'stamp';
  /** The schema of every history table the steps name. */
  schema: string;
  owners: OwnerPlan[];
  steps: Step[];
}

export interface Target {
  owner: string;
  migration: string;
}

export type IdFactory = () => string;

/** The part of a migration name after its timestamp. */
const slugOf = (name: string) => name.slice(name.indexOf('_') + 1);

/**
 * Finds the migration `--target` names among `candidates`' migrations (on disk, or recorded as
 * applied): its full name, or a prefix of its timestamp or of its slug that only one has.
 *
 * @example
 *   resolveTarget(state, ['core', 'billing'], 'add_due'); // { owner: 'billing', migration: '20261123184736_add_due_date' }
 */
export function resolveTarget(state: State, candidates: string[], migration: string, flag = '--target'): Target {
  const all = candidates.flatMap((owner) => {
    const s = state.byName.get(owner)!;
    const names = new Set([...s.files.map((f) => f.name), ...s.applied.map((a) => a.name)]);
    return [...names].sort().map((name) => ({ owner, migration: name }));
  });
  const exact = all.filter((t) => t.migration === migration);
  const found = exact.length > 0 ? exact : all.filter((t) => t.migration.startsWith(migration) || slugOf(t.migration).startsWith(migration));
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    const owners = [...new Set(found.map((t) => t.owner))];
    const fix = owners.length > 1 && exact.length > 0 ? 'add --core or --extension <name> to say which owner' : 'give more of the name';
    throw new UsageError(`${flag} ${migration} is ambiguous: it matches ${found.slice(0, 6).map((t) => qualified(t.owner, t.migration)).join(', ')}${found.length > 6 ? ', ...' : ''}; ${fix}.`, {
      code: 'ambiguous-target',
    });
  }
  if (candidates.length === 1) {
    const s = state.byName.get(candidates[0]!)!;
    const names = s.files.map((f) => f.name);
    throw new UsageError(
      `${flag} ${migration}: ${candidates[0]} has no migration of that name or prefix in ${s.owner.migrationsDir}; valid names: ${names.length > 0 ? names.join(', ') : 'none (no migrations yet)'}.`,
      { code: 'unknown-target' },
    );
  }
  throw new UsageError(`${flag} ${migration}: no migration of that name or prefix in ${candidates.join(', ')}; run \`orchestrate status\` to list them.`, { code: 'unknown-target' });
}

/**
 * Plans `migrate`: every pending migration of the selected owners in project order, or up to
 * `target` (then the run stops there). Refuses, before anything runs, on failed, edited or
 * missing applied migrations of the selected owners and on unmet `-- orchestrate:requires`.
 *
 * @example
 *   const plan = planUpgrade(state, ['core', 'billing'], { newId: randomUUID });
 *   plan.steps.filter((s) => s.kind === 'apply').length; // migrations to run
 */
export function planUpgrade(state: State, selected: string[], options: { target?: Target; newId: IdFactory }): Plan {
  throwProblems(selected.flatMap((name) => stateProblems(state.byName.get(name)!, state.schema, state.dialect)), CheckError);

  // What is applied (or will be, earlier in this run): every enabled owner counts, selected or not.
  const done = new Set<string>();
  for (const s of state.owners) for (const a of s.applied) done.add(qualified(s.owner.name, a.name));

  const steps: Step[] = [];
  const owners: OwnerPlan[] = [];
  const unmet: Problem[] = [];
  let stopped = false;
  for (const name of selected) {
    const s = state.byName.get(name)!;
    const plan: OwnerPlan = { owner: name, historyTable: s.owner.historyTable, migrations: [], alreadyApplied: s.applied.map((a) => a.name), remaining: [] };
    owners.push(plan);
    if (stopped) {
      plan.remaining = s.pending.map((f) => f.name);
      continue;
    }
    let pending = s.pending;
    if (options.target?.owner === name) {
      const limit = options.target.migration;
      pending = s.pending.filter((f) => f.name <= limit);
      plan.remaining = s.pending.filter((f) => f.name > limit).map((f) => f.name);
      stopped = true;
    }
    for (const f of pending) {
      const missing = f.requires.filter((r) => !done.has(qualified(r.owner, r.migration))).map((r) => qualified(r.owner, r.migration));
      if (missing.length > 0) {
        unmet.push({ code: 'unmet-requirement', owner: name, migration: f.name, message: `${qualified(name, f.name)} requires ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not applied` });
      }
      // The history table comes with the owner's first migration, in its transaction: one commit
      // fewer per owner, and a failing first migration leaves no empty table behind.
      const firstUse = plan.migrations.length === 0 && !s.tableExists;
      if (firstUse && f.noTransaction) steps.push({ kind: 'create-history', owner: name, table: s.owner.historyTable });
      steps.push({
        kind: 'apply',
        owner: name,
        table: s.owner.historyTable,
        migration: f.name,
        file: path.join(f.dir, 'migration.sql'),
        sql: f.sql,
        checksum: f.checksum,
        id: options.newId(),
        transactional: !f.noTransaction,
        createHistory: firstUse && !f.noTransaction,
      });
      plan.migrations.push(f.name);
      done.add(qualified(name, f.name));
    }
  }
  if (unmet.length > 0) {
    throw new CheckError(
      `Cannot apply migrations whose dependencies are missing, so nothing was applied: ${unmet.map((u) => u.message).join('; ')}; apply those first (e.g. \`orchestrate migrate --all\`, enabling the owners they belong to) or fix the \`-- orchestrate:requires\` lines.`,
      { problems: unmet },
    );
  }
  return { command: 'migrate', schema: state.schema, owners, steps };
}

/**
 * Plans `downgrade`: the down.sql of every applied migration after the target, newest first.
 * An applied migration of another owner that `-- orchestrate:requires` one of them blocks the
 * plan, unless `cascade`, which rolls that owner back first to just before it (recursively).
 * Owners are rolled back in reverse project order, so dependents always go before what they need.
 */
export function planDowngrade(state: State, targets: { owner: string; keep: string | null }[], options: { cascade: boolean }): Plan {
  const revert = new Map<string, Set<string>>();
  const add = (owner: string, names: string[]) => {
    const set = revert.get(owner) ?? new Set<string>();
    for (const n of names) set.add(n);
    revert.set(owner, set);
  };
  for (const { owner, keep } of targets) {
    const s = state.byName.get(owner)!;
    add(owner, s.applied.filter((a) => keep === null || a.name > keep).map((a) => a.name));
  }

  // Who requires what, among applied migrations of every enabled owner.
  const requiredBy = new Map<string, { owner: string; migration: string }[]>();
  for (const s of state.owners) {
    for (const a of s.applied) {
      for (const r of a.files?.requires ?? []) {
        const key = qualified(r.owner, r.migration);
        requiredBy.set(key, [...(requiredBy.get(key) ?? []), { owner: s.owner.name, migration: a.name }]);
      }
    }
  }
  const blocked = new Map<string, string[]>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [owner, names] of [...revert.entries()]) {
      for (const name of [...names]) {
        for (const dep of requiredBy.get(qualified(owner, name)) ?? []) {
          if (revert.get(dep.owner)?.has(dep.migration)) continue;
          if (options.cascade) {
            const s = state.byName.get(dep.owner)!;
            add(dep.owner, s.applied.filter((a) => a.name >= dep.migration).map((a) => a.name));
            changed = true;
          } else {
            const key = qualified(owner, name);
            const list = blocked.get(key) ?? [];
            if (!list.includes(qualified(dep.owner, dep.migration))) list.push(qualified(dep.owner, dep.migration));
            blocked.set(key, list);
          }
        }
      }
    }
  }
  throwProblems(
    [...blocked.entries()].map(([what, by]): Problem => {
      const [owner, migration] = what.split('/') as [string, string];
      return {
        code: 'required-by',
        owner,
        migration,
        message: `Cannot roll back ${what}: applied migration${by.length === 1 ? '' : 's'} ${by.join(', ')} require${by.length === 1 ? 's' : ''} it; roll ${by.length === 1 ? 'that' : 'those'} back first or pass --cascade to do it in the same run.`,
      };
    }),
    CheckError,
  );

  // Migrations that predate orchestrate have no down.sql: downgrade stops at the baseline.
  for (const s of state.owners) {
    const names = revert.get(s.owner.name);
    if (!names || names.size === 0) continue;
    const baseline = baselineOf(s.owner, s.files);
    if (!baseline) continue;
    const inside = s.files.slice(0, baseline.count).filter((m) => names.has(m.name));
    if (inside.length === 0) continue;
    throw new UsageError(
      `Cannot roll ${s.owner.name} back past ${baseline.last}: ${baseline.count === 1 ? 'its first migration is' : `its first ${baseline.count} migrations (up to ${baseline.last}) are`} a baseline that predates orchestrate${baseline.explicit ? ' (orchestrate.config.json)' : ''}, with no down.sql, and this downgrade would roll back ${inside.length === 1 ? 'one of them' : `${inside.length} of them`} (down to ${inside[0]!.name}); downgrade no lower than --target ${baseline.last}.`,
      { code: 'missing-down', owner: s.owner.name, migration: inside[0]!.name },
    );
  }

  const problems: Problem[] = [];
  const checks: Problem[] = [];
  const ordered = [...state.owners].reverse().filter((s) => (revert.get(s.owner.name)?.size ?? 0) > 0);
  const steps: Step[] = [];
  const owners: OwnerPlan[] = [];
  for (const s of ordered) {
    const names = revert.get(s.owner.name)!;
    checks.push(...stateProblems(s, state.schema, state.dialect).filter((p) => p.code === 'failed-migration'));
    const migrations = s.applied.filter((a) => names.has(a.name)).reverse();
    for (const a of migrations) {
      if (!a.files) {
        const dir = path.join(s.owner.migrationsDir, a.name);
        problems.push({ code: 'missing-migration', owner: s.owner.name, migration: a.name, file: dir, message: `Cannot roll back ${qualified(s.owner.name, a.name)}: its folder ${dir} does not exist; restore it from version control.` });
      } else if (a.files.down === null) {
        const file = path.join(a.files.dir, DOWN_SQL);
        problems.push({ code: 'missing-down', owner: s.owner.name, migration: a.name, file, message: `Cannot roll back ${qualified(s.owner.name, a.name)}: ${file} does not exist; write the SQL that reverses migration.sql there and run downgrade again.` });
      } else {
        steps.push({
          kind: 'revert',
          owner: s.owner.name,
          table: s.owner.historyTable,
          migration: a.name,
          file: path.join(a.files.dir, DOWN_SQL),
          sql: a.files.down,
          rowId: a.row.id,
          transactional: !parseDirectives(a.files.down).noTransaction,
        });
      }
    }
    // An uninstalled extension leaves nothing behind, its empty history table included. Core's
    // table stays: Prisma Migrate expects it.
    const deletedIds = new Set(migrations.map((a) => a.row.id));
    if (s.owner.kind === 'extension' && s.tableExists && s.rows.every((r) => deletedIds.has(r.id))) {
      steps.push({ kind: 'drop-history', owner: s.owner.name, table: s.owner.historyTable });
    }
    owners.push({ owner: s.owner.name, historyTable: s.owner.historyTable, migrations: migrations.map((a) => a.name), alreadyApplied: [], remaining: [] });
  }
  throwProblems(checks, CheckError);
  throwProblems(problems, UsageError);
  return { command: 'downgrade', schema: state.schema, owners, steps };
}

/** Rejects a migration name the owner does not have, listing the ones it has. */
export function assertMigrationExists(owner: Owner, files: MigrationFiles[], migration: string, command: string): void {
  if (files.some((f) => f.name === migration)) return;
  const names = files.map((f) => f.name);
  throw new UsageError(
    `${command}: ${owner.name} has no migration ${migration} in ${owner.migrationsDir}; valid names: ${names.length > 0 ? names.join(', ') : 'none (no migrations yet)'}.`,
    { code: 'unknown-target' },
  );
}

/**
 * Plans `stamp`: records `migration` and every earlier unapplied migration of the owner as
 * applied without running them; failed rows of those migrations are marked rolled back, as
 * `prisma migrate resolve --applied` does.
 */
export function planStamp(state: State, owner: string, migration: string, newId: IdFactory): Plan {
  const s = state.byName.get(owner)!;
  assertMigrationExists(s.owner, s.files, migration, 'stamp');
  const index = s.files.findIndex((f) => f.name === migration);
  const applied = new Set(s.applied.map((a) => a.name));
  const steps: Step[] = [];
  const stamped: string[] = [];
  for (const f of s.files.slice(0, index + 1)) {
    if (applied.has(f.name)) continue;
    if (stamped.length === 0 && !s.tableExists) steps.push({ kind: 'create-history', owner: s.owner.name, table: s.owner.historyTable });
    steps.push({
      kind: 'stamp',
      owner: s.owner.name,
      table: s.owner.historyTable,
      migration: f.name,
      checksum: f.checksum,
      id: newId(),
      rollBack: s.failed.filter((r) => r.migrationName === f.name).map((r) => r.id),
    });
    stamped.push(f.name);
  }
  return {
    command: 'stamp',
    schema: state.schema,
    owners: [{ owner: s.owner.name, historyTable: s.owner.historyTable, migrations: stamped, alreadyApplied: s.applied.map((a) => a.name), remaining: [] }],
    steps,
  };
}

/**
 * An adopted Prisma Migrate history has no down.sql and no snapshot: those migrations predate
 * orchestrate. The run of them an owner starts with is its baseline: `check` reports it once
 * instead of one missing down.sql per migration, and `downgrade` stops at its last migration.
 * orchestrate.config.json may name the last one explicitly (`"baseline": {"core": "..."}`).
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { MigrationFiles } from '../migrations/folder.js';
import type { Owner } from './project.js';

export interface Baseline {
  owner: string;
  /** The last migration of the baseline. */
  last: string;
  /** How many migrations it holds (the owner's first ones). */
  count: number;
  /** Named in orchestrate.config.json rather than found. */
  explicit: boolean;
}

/**
 * The owner's baseline among its migrations (in order), or null when it has none.
 *
 * @example
 *   baselineOf(project.core, readMigrations(project.core.migrationsDir));
 *   // { owner: 'core', last: '19_add_segment', count: 19, explicit: false }
 */
export function baselineOf(owner: Owner, migrations: MigrationFiles[]): Baseline | null {
  if (owner.baseline !== undefined) {
    const index = migrations.findIndex((m) => m.name === owner.baseline);
    if (index < 0) {
      throw new UsageError(
        `orchestrate.config.json: "baseline" names ${owner.baseline} for ${owner.name}, but ${owner.migrationsDir} has no such migration; give the full name of the last migration that predates orchestrate, or remove the entry to let orchestrate find it.`,
        { code: 'input', owner: owner.name },
      );
    }
    return { owner: owner.name, last: owner.baseline, count: index + 1, explicit: true };
  }
  let count = 0;
  while (count < migrations.length && isAdopted(migrations[count]!)) count++;
  return count === 0 ? null : { owner: owner.name, last: migrations[count - 1]!.name, count, explicit: false };
}

/** A migration orchestrate did not write: no down.sql and no snapshot. */
function isAdopted(m: MigrationFiles): boolean {
  return m.down === null && !existsSync(m.snapshotPath);
}

/** "core: 19 migrations up to 19_add_segment are a baseline: downgrade stops there". */
export function describeBaseline(b: Baseline): string {
  const what = b.count === 1 ? `1 migration, ${b.last}, is` : `${b.count} migrations up to ${b.last} are`;
  return `${b.owner}: ${what} a baseline${b.explicit ? ' (orchestrate.config.json)' : ''}: downgrade stops there`;
}

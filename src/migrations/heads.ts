/**
 * Heads of an owner's history: migrations no other migration follows. One owner has one head;
 * two migrations made on two branches from the same parent give two (Alembic's "multiple
 * heads"), and the next diff, starting from the latest folder's snapshot, would repeat the other
 * branch's change.
 */
import type { MigrationFiles } from './folder.js';

/** Each migration's parents: its `-- orchestrate:parent` lines, else the previous folder. */
export function parentsOf(migrations: Pick<MigrationFiles, 'name' | 'parents'>[]): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  migrations.forEach((m, i) => parents.set(m.name, m.parents?.length ? m.parents : i > 0 ? [migrations[i - 1]!.name] : []));
  return parents;
}

export interface Fork {
  /** The heads, in folder order. */
  heads: string[];
  /** The latest migration every head follows (null: none, the branches share no migration). */
  base: string | null;
}

/** Every migration `name` follows, itself included. */
function ancestry(name: string, parents: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const walk = [name];
  while (walk.length > 0) {
    const n = walk.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    walk.push(...(parents.get(n) ?? []));
  }
  return seen;
}

/**
 * The heads of a history when there is more than one, and the migration they branched from;
 * null for a single line of history (or none).
 *
 * @example
 *   findFork([{ name: '1_init', parents: [] }, { name: '2_a', parents: ['1_init'] }, { name: '3_b', parents: ['1_init'] }]);
 *   // { heads: ['2_a', '3_b'], base: '1_init' }
 */
export function findFork(migrations: Pick<MigrationFiles, 'name' | 'parents'>[]): Fork | null {
  const parents = parentsOf(migrations);
  const followed = new Set([...parents.values()].flat());
  const heads = migrations.map((m) => m.name).filter((n) => !followed.has(n));
  if (heads.length < 2) return null;
  const shared = heads.map((h) => ancestry(h, parents)).reduce((a, b) => new Set([...a].filter((n) => b.has(n))));
  const base = migrations.map((m) => m.name).filter((n) => shared.has(n)).at(-1) ?? null;
  return { heads, base };
}

/** The one sentence saying which heads an owner has and how to join them. */
export function forkMessage(owner: string, ownerFlag: string, fork: Fork): string {
  const list = fork.heads.length === 2 ? `${fork.heads[0]} and ${fork.heads[1]}` : `${fork.heads.slice(0, -1).join(', ')} and ${fork.heads.at(-1)}`;
  const from = fork.base ? `each made from ${fork.base} on its own branch` : 'with no migration in common';
  return `${owner} has ${fork.heads.length} heads, ${list} (${from}); join them with \`orchestrate revision ${ownerFlag} --merge -m merge\` before generating or applying anything else.`;
}

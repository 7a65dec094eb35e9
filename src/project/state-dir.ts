import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates a folder under the project's `.orchestrate/` (embedded database, generated schema)
 * and makes sure `.orchestrate/` ignores itself, so that `git status` of a project stays clean
 * whether or not the project's own .gitignore lists it.
 */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  let root = dir;
  while (path.basename(root) !== '.orchestrate' && path.dirname(root) !== root) root = path.dirname(root);
  if (path.basename(root) !== '.orchestrate') return;
  const ignore = path.join(root, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# Written by orchestrate: local state (embedded database, generated schema).\n*\n');
}

/**
 * What killed processes leave behind: files and folders named after the pid that was writing
 * them (a revision's half-written migration folder, a cached PGlite copy cut short, an SQLite
 * shadow). The next run removes those whose process is gone.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Whether process `pid` runs on this machine (EPERM: it runs, as another user). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` named `<prefix><pid><after>…` whose process no longer runs, and
 * returns their names. What cannot be read or removed (another user's) is left as it is.
 *
 * @example
 *   removeAbandoned(os.tmpdir(), 'orchestrate-shadow-', '-'); // ['orchestrate-shadow-4242-x1Yz']
 */
export function removeAbandoned(dir: string, prefix: string, after: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const digits = /^\d+/.exec(name.slice(prefix.length))?.[0];
    if (!digits || !name.startsWith(after, prefix.length + digits.length)) continue;
    const pid = Number(digits);
    if (pid <= 0 || processRunning(pid)) continue;
    try {
      rmSync(path.join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to remove.
    }
  }
  return removed;
}

import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';

/**
 * A lock file that serialises processes on one machine (PGlite opens its data folder in a
 * single process only). The file holds the owner's pid, host and process start time; a waiting
 * process takes over a file whose owner is gone (crash, SIGKILL, container restart), so no stale
 * lock ever needs deleting by hand on the same host.
 */

export interface LockHolder {
  pid: number;
  host: string;
  /** Process start time from /proc (Linux), to tell a reused pid from the original process. */
  start: string | null;
  token: string;
}

export interface FileLock {
  readonly file: string;
  release(): void;
}

const heldHere = new Set<string>();

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function readHolder(file: string): { holder: LockHolder | null; raw: string } | null {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(raw) as LockHolder;
    return { holder: typeof parsed.pid === 'number' ? parsed : null, raw };
  } catch {
    return { holder: null, raw };
  }
}

/** 'alive', 'dead', or 'unknown' (another host: we cannot look at its processes). */
export function holderState(holder: LockHolder): 'alive' | 'dead' | 'unknown' {
  if (holder.host !== os.hostname()) return 'unknown';
  if (holder.pid === process.pid) return 'dead'; // an earlier process that had our pid (e.g. pid 1 in a restarted container)
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  const start = processStart(holder.pid);
  if (holder.start && start && start !== holder.start) return 'dead';
  return 'alive';
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lock file was still held by another process after `timeoutMs`. */
export class FileLockTimeout extends Error {
  constructor(
    readonly waitedMs: number,
    readonly holder: LockHolder | null,
  ) {
    super(`the lock file was still held after ${waitedMs} ms`);
  }
}

/**
 * Waits until `file` can be created, taking over files left by dead processes.
 * `onWait` is called once, with a description of the holder (and the holder as read from the
 * file, when it could be read), if the lock is busy. With `timeoutMs`, gives up with
 * `FileLockTimeout` after that long.
 *
 * @example
 *   const lock = await acquireFileLock('/srv/app/.orchestrate/pglite.lock', (who) => log(`waiting for ${who}`));
 *   try { ... } finally { lock.release(); }
 */
export async function acquireFileLock(file: string, onWait: (holder: string, raw: LockHolder | null) => void, options: { timeoutMs?: number } = {}): Promise<FileLock> {
  const started = Date.now();
  let last: LockHolder | null = null;
  const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const me: LockHolder = { pid: process.pid, host: os.hostname(), start: processStart(process.pid), token };
  const content = JSON.stringify(me);
  let announced = false;
  let delay = 50;
  for (;;) {
    if (!heldHere.has(file) && tryCreate(file, content)) break;
    const current = heldHere.has(file) ? null : readHolder(file);
    if (current && current.holder && holderState(current.holder) === 'dead') {
      takeOver(file, current.raw);
      continue;
    }
    // A file still being written (empty or partial) belongs to a live process unless it is old.
    if (current && !current.holder && ageMs(file) > 10_000) {
      takeOver(file, current.raw);
      continue;
    }
    last = current?.holder ?? last;
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw new FileLockTimeout(Date.now() - started, last);
    if (!announced) {
      announced = true;
      const h = current?.holder;
      onWait(
        h
          ? `process ${h.pid} on ${h.host}${holderState(h) === 'unknown' ? ` (another host; delete ${file} if no process there uses the database)` : ''}`
          : 'another process',
        h ?? null,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  heldHere.add(file);
  const cleanup = () => releaseFile(file, token);
  process.once('exit', cleanup);
  return {
    file,
    release() {
      process.removeListener('exit', cleanup);
      heldHere.delete(file);
      releaseFile(file, token);
    },
  };
}

/**
 * Removes a dead holder's file. Two waiters may judge the same file dead at once; a short-lived
 * `.takeover` file lets only one of them remove it, and only while it still holds what was judged.
 */
function takeOver(file: string, judged: string): void {
  const breaker = `${file}.takeover`;
  if (!tryCreate(breaker, String(process.pid))) {
    if (ageMs(breaker) > 10_000) safeUnlink(breaker);
    return;
  }
  try {
    const again = readHolder(file);
    if (again && again.raw === judged) safeUnlink(file);
  } finally {
    safeUnlink(breaker);
  }
}

function releaseFile(file: string, token: string): void {
  const current = readHolder(file);
  if (current?.holder?.token === token) safeUnlink(file);
}

function safeUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

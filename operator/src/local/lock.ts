// One run per state dir: the lock file holds the owner's pid. A lock whose process is gone (a crash,
// SIGKILL) is stale and taken over; a live one makes the second run stop before it touches anything.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LockInfo {
  pid: number;
  startedAt: string;
  argv: string[];
}

export class LockedError extends Error {
  constructor(readonly holder: LockInfo, path: string) {
    super(`another autorun run (pid ${holder.pid}, started ${holder.startedAt}) is using ${dirname(path)}: wait for it, stop it, or pass another --state-dir`);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The live holder of the lock, if any. */
export function lockHolder(path: string): LockInfo | undefined {
  const info = readLock(path);
  return info && pidAlive(info.pid) ? info : undefined;
}

/** Takes the lock or throws LockedError; returns the release function. */
export function acquireLock(path: string, argv: string[] = process.argv.slice(2)): () => void {
  mkdirSync(dirname(path), { recursive: true });
  const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), argv };
  for (let tries = 0; tries < 3; tries++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && pidAlive(holder.pid)) throw new LockedError(holder, path);
      // Stale (its process is gone) or unreadable (a crash between create and write): take it over.
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(info) + '\n');
    } finally {
      closeSync(fd);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
    };
  }
  throw new Error(`cannot take the lock ${path}`);
}

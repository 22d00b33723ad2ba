// Every process group the agent starts, so that stopping the agent stops them too. Children run
// detached, in a group of their own, so a deadline can kill a test runner with its workers and
// grandchildren; the price is that a signal to the agent's own group (Ctrl-C in a terminal, the local
// tier stopping a stage, the kubelet stopping a container) no longer reaches them. main.ts calls
// stopChildren() from its SIGTERM/SIGINT handler for that.
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

const live = new Set<number>();
let stopping = false;
let escalated = false;

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * spawn() in a new process group that stopChildren() reaches. The group is tracked until its stdio
 * closes: with pipes, that is when the last process holding them (grandchildren too) is gone. Once a
 * stop has begun, a new child is killed at once, so a stage cannot start work (a flaky re-run, a
 * git push) while it is being stopped.
 */
export function spawnGroup(file: string, args: readonly string[], opts: Omit<SpawnOptions, 'detached'>): ChildProcess {
  const child = spawn(file, args, { ...opts, detached: true });
  const pgid = child.pid;
  if (pgid === undefined) return child; // spawn failed; 'error' follows
  live.add(pgid);
  child.once('close', () => live.delete(pgid));
  if (stopping) killGroup(pgid, 'SIGKILL');
  return child;
}

/** Process groups started and not yet closed. */
export function liveGroups(): number[] {
  return [...live];
}

export function isStopping(): boolean {
  return stopping;
}

/**
 * SIGTERM to every live group, SIGKILL to those still there after `graceMs`. Resolves when all are
 * gone or killed. A second call while the first waits (a second Ctrl-C) kills at once.
 */
export async function stopChildren(graceMs = 2000): Promise<number> {
  if (stopping) {
    escalated = true;
    for (const g of live) killGroup(g, 'SIGKILL');
    return live.size;
  }
  stopping = true;
  const groups = [...live];
  for (const g of groups) killGroup(g, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  // Orphaned members linger as zombies until their reaper collects them; polling the group until
  // the grace ends is then only a wasted SIGKILL, never a missed one.
  while (!escalated && Date.now() < deadline && groups.some(groupExists)) await new Promise((r) => setTimeout(r, 50));
  for (const g of groups) if (groupExists(g)) killGroup(g, 'SIGKILL');
  return groups.length;
}

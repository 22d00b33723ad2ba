// Every process group the agent starts, so that stopping the agent stops them too. Children run
// detached, in a group of their own, so a deadline can kill a test runner with its workers and
// grandchildren; the price is that a signal to the agent's own group (Ctrl-C in a terminal, the local
// tier stopping a stage, the kubelet stopping a container) no longer reaches them. main.ts calls
// stopChildren() from its SIGTERM/SIGINT handler for that.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  // A SIGKILLed process takes a moment to die: the stage reports only once its groups are gone.
  const end = Date.now() + GONE_WAIT_MS;
  while (hasProc && Date.now() < end && groups.some(groupAlive)) await new Promise((r) => setTimeout(r, 20));
  return groups.length;
}

const GONE_WAIT_MS = 5000;

/** Whether a process group still has a member that is not a zombie. */
function groupAlive(pgid: number): boolean {
  for (const { pgrp, state } of processTable().values()) if (pgrp === pgid && state !== 'Z') return true;
  return false;
}

/** pid → (parent pid, state) of every process, from /proc (empty where there is none). */
function processTable(): Map<number, { ppid: number; pgrp: number; state: string }> {
  const table = new Map<number, { ppid: number; pgrp: number; state: string }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(e), { ppid: Number(ppid), pgrp: Number(pgrp), state: state ?? '' });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** This process's live children (orphans it inherited as PID 1 of a container among them). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const [p, { ppid, state }] of processTable()) if (ppid === pid && state !== 'Z') out.push(p);
  return out;
}

/**
 * Every live descendant of `pid`, whatever process group or session it moved to (a test that
 * starts a server with start_new_session escapes a group kill, not its parent). Zombies are dead.
 */
export function descendants(pid: number): number[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [p, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), p]);
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    if (table.get(p)?.state !== 'Z') out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

const hasProc = ((): boolean => {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
})();

/** Alive and not a zombie (a killed orphan stays one until its reaper collects it). */
export function isAlive(pid: number): boolean {
  if (!hasProc) {
    // Not Linux: kill(pid, 0) is all there is.
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

export function killPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves once none of `pids` is alive, or after `timeoutMs`; says whether they all went. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

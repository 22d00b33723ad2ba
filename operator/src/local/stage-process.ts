// One stage as a local process: the agent program in its own process group (so stopping it stops
// the test runner it started too), stdout and stderr appended to the stage's transcript file (a file
// descriptor, not a pipe, so the agent keeps running and logging if this run dies), and its result
// read from the termination file it writes, exactly as the kubelet reads /dev/termination-log.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { STAGE_RESULT_MAX_BYTES, type Role, type StageResult } from '../api/types.js';
import { InvalidStageResult, parseStageResultOf } from '../contract/stage-result.js';

/** Marks a process as the agent of a stage, so a resumed run can recognise it by its environment. */
export const STAGE_MARKER_ENV = 'AUTORUN_LOCAL_STAGE';

export interface StageExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the stage was adopted from an earlier run: its exit status is not known. */
  adopted?: boolean;
  /** Why it could not start at all (spawn error). */
  spawnError?: string;
}

export interface StageHandle {
  pid: number | undefined;
  done: Promise<StageExit>;
  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals): void;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function spawnStage(command: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; transcript: string }): StageHandle {
  const fd = openSync(opts.transcript, 'a', 0o600);
  let child;
  try {
    child = spawn(command[0]!, command.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  const done = new Promise<StageExit>((resolve) => {
    child.once('error', (err) => resolve({ exitCode: null, signal: null, spawnError: err.message }));
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return { pid, done, kill: (signal) => pid !== undefined && killGroup(pid, signal) };
}

function isZombie(pid: number): boolean {
  try {
    // Field 3 of /proc/<pid>/stat is the state; the name in field 2 may contain spaces, hence lastIndexOf.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/**
 * Is pid still the agent of this stage (and not a recycled pid)? Its environment says so on Linux;
 * without /proc we trust a live pid, which a recycled pid within one interrupted run rarely is.
 */
export function isStageProcess(pid: number, marker: string): boolean {
  if (!processAlive(pid)) return false;
  if (!existsSync('/proc/self/environ')) return true;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${STAGE_MARKER_ENV}=${marker}`);
  } catch {
    return false;
  }
}

/** Watches a stage process started by an earlier run until it ends. */
export function adoptStage(pid: number, pollMs = 250): StageHandle {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<StageExit>((resolve) => {
    const poll = (): void => {
      if (processAlive(pid)) {
        timer = setTimeout(poll, pollMs);
        return;
      }
      resolve({ exitCode: null, signal: null, adopted: true });
    };
    poll();
  });
  return {
    pid,
    done: done.finally(() => timer && clearTimeout(timer)),
    kill: (signal) => killGroup(pid, signal),
  };
}

export type ReadResult = { result: StageResult } | { missing: true } | { invalid: string };

/** Reads a termination file and checks it as the operator checks a termination message (contract/stage-result.ts). */
export function readStageResult(path: string, role: Role): ReadResult {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > STAGE_RESULT_MAX_BYTES * 4) return { invalid: new InvalidStageResult(`${size} bytes, more than ${STAGE_RESULT_MAX_BYTES}`).message };
    text = readFileSync(path, 'utf8');
  } catch {
    return { missing: true };
  }
  if (!text.trim()) return { missing: true };
  const r = parseStageResultOf(text, role);
  return r instanceof Error ? { invalid: r.message } : { result: r };
}

/** The last lines of a transcript, for the message of a stage that ended without a result. */
export function transcriptTail(path: string, lines = 3, maxBytes = 600): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join(' | ').slice(-maxBytes);
  } catch {
    return '';
  }
}

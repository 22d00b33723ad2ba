// Child processes with a deadline: each runs in its own process group so a timeout kills everything
// it started (a test runner's workers, a hung grandchild), not just the shell. The groups are
// tracked (children.ts) so that stopping the agent stops them as well.
import { bwrapPath, sandboxArgs, sandboxEnabled } from './sandbox.js';
import { execRemote } from './exec-container/client.js';
import { EXEC_SOCKET_ENV } from './exec-container/protocol.js';
import { descendants, killGroup, killPids, spawnGroup, waitGone } from './children.js';

/** Longest wait, after the final SIGKILL, for a timed-out command's processes to be gone. */
const GONE_TIMEOUT_MS = 10_000;

export interface ExecOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Kill the process group after this many milliseconds. */
  timeoutMs: number;
  /** Most bytes of output kept (head and tail halves); the middle is elided. */
  maxOutputBytes?: number;
  /** Grace between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  input?: string;
  /** Sees stdout as it arrives (for live transcripts). */
  onStdout?: (chunk: string) => void;
  /** Sees stderr as it arrives (the exec container streams both). */
  onStderr?: (chunk: string) => void;
  /** Kills the command and everything it started, as a timeout does (its caller went away). */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr interleaved as they arrived, capped. */
  output: string;
  stdout: string;
  durationMs: number;
}

/** Keeps the first and last half of a stream when it grows past `max` bytes. */
class CappedBuffer {
  private head = '';
  private tail = '';
  private dropped = 0;
  constructor(private readonly max: number) {}
  push(s: string): void {
    if (this.head.length < this.max / 2) {
      const room = this.max / 2 - this.head.length;
      this.head += s.slice(0, room);
      s = s.slice(room);
    }
    if (!s) return;
    this.tail += s;
    if (this.tail.length > this.max / 2) {
      const cut = this.tail.length - this.max / 2;
      this.dropped += cut;
      this.tail = this.tail.slice(cut);
    }
  }
  toString(): string {
    return this.dropped ? `${this.head}\n[… ${this.dropped} characters elided …]\n${this.tail}` : this.head + this.tail;
  }
}

/** Runs `file args` (no shell unless the caller asks for one with sh -c). */
export function execFileCapped(file: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  const max = opts.maxOutputBytes ?? 1 << 20;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawnGroup(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // All three are pipes, as asked for just above.
    const [stdin, stdout, stderr] = [child.stdin!, child.stdout!, child.stderr!];
    const all = new CappedBuffer(max);
    const out = new CappedBuffer(max);
    let timedOut = false;
    let aborted = false;
    let done = false;
    let killTimer: NodeJS.Timeout | undefined;
    // What the command started, found while the hung test still holds it (once orphaned, it
    // could no longer be told from anyone else's); kept to kill and to wait for.
    const tree = new Set<number>();
    const collect = (): void => {
      if (child.pid) for (const p of descendants(child.pid)) tree.add(p);
    };
    const kill = (): void => {
      if (child.pid) {
        collect();
        killGroup(child.pid, 'SIGTERM');
        killPids([...tree], 'SIGTERM');
        killTimer = setTimeout(() => {
          collect();
          killGroup(child.pid!, 'SIGKILL');
          killPids([...tree], 'SIGKILL');
        }, opts.killGraceMs ?? 2000);
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const onAbort = (): void => {
      if (done || timedOut || aborted) return;
      aborted = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    stdout.setEncoding('utf8').on('data', (d: string) => {
      all.push(d);
      out.push(d);
      opts.onStdout?.(d);
    });
    stderr.setEncoding('utf8').on('data', (d: string) => {
      all.push(d);
      opts.onStderr?.(d);
    });
    stdin.on('error', () => undefined);
    stdin.end(opts.input ?? '');
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      done = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      const result = (): ExecResult => ({ exitCode, signal, timedOut, output: all.toString(), stdout: out.toString(), durationMs: Date.now() - started });
      if (!(timedOut || aborted) || !child.pid) {
        resolve(result());
        return;
      }
      // The shell may be gone while its children still hold the group, or run on in a session of
      // their own: kill them all, and report only once they are gone.
      collect();
      killGroup(child.pid, 'SIGKILL');
      killPids([...tree], 'SIGKILL');
      void waitGone([...tree], GONE_TIMEOUT_MS).then(() => resolve(result()));
    };
    child.on('error', (e) => {
      all.push(`${e.message}\n`);
      finish(127, null);
    });
    child.on('close', finish);
  });
}

export function execShell(command: string, opts: ExecOptions): Promise<ExecResult> {
  return execFileCapped('/bin/sh', ['-c', command], opts);
}

export interface SandboxedExecOptions extends ExecOptions {
  /** The agent's own environment: what the sandbox hides is read from it (sandbox.ts). */
  agentEnv: NodeJS.ProcessEnv;
  /** false for generated code under test: no network at all. */
  network: boolean;
}

export const SANDBOX_UNAVAILABLE =
  'the command sandbox (bubblewrap) could not start: install bubblewrap (Debian: apt-get install bubblewrap), or set AUTORUN_SANDBOX=off to run commands unsandboxed, where they can read the model key';

/**
 * A shell command where the model's commands run: in an LLM Pod the exec container
 * (AUTORUN_EXEC_SOCKET, exec-container/), else the bubblewrap sandbox (unless AUTORUN_SANDBOX=off).
 * opts.env must hold no secret. The exec container serves the LLM roles, whose commands have the
 * network; the run stage, which must not, is a Pod of its own.
 */
export async function execSandboxed(command: string, opts: SandboxedExecOptions): Promise<ExecResult> {
  const socket = opts.agentEnv[EXEC_SOCKET_ENV];
  if (socket && opts.network) return execRemote(socket, '/bin/sh', ['-c', command], opts);
  if (!sandboxEnabled(opts.agentEnv)) return execShell(command, opts);
  const args = sandboxArgs(['/bin/sh', '-c', command], { workspace: opts.cwd, network: opts.network, env: opts.agentEnv });
  const r = await execFileCapped(bwrapPath(opts.agentEnv), args, opts);
  // bwrap's own failures (no binary, namespaces refused) say "bwrap: ..." and exit 1 before the command ran.
  if ((r.exitCode === 127 && /ENOENT/.test(r.output)) || (r.exitCode === 1 && /^bwrap: /.test(r.output))) {
    return { ...r, output: `${SANDBOX_UNAVAILABLE} (${r.output.trim()})` };
  }
  return r;
}

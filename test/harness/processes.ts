// Child processes that cannot outlive the test run. Each component starts as the leader of its own
// process group (detached), so one kill(-pgid) takes it and anything it forked. Three layers make
// sure nothing is left behind:
//   1. stop(): SIGTERM to every group, SIGKILL after a grace period, then the temp dir goes;
//   2. exit and signal hooks in this process (Ctrl-C, SIGTERM from CI, an uncaught error) do the
//      same synchronously;
//   3. a registry file per control plane under $TMPDIR/autorun-control-planes/ names the owner pid,
//      the temp dir and the pids; the next run reaps entries whose owner is gone (kill -9 of jest),
//      and with them any other process whose command line or environment points into that temp
//      dir (an operator a test started with the control plane's kubeconfig, jest's own workers).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Set once the process has exited, with its code or signal. */
  exited?: string;
}

export interface Registration {
  owner: number;
  dir: string;
  pids: number[];
}

export const registryDir = join(tmpdir(), 'autorun-control-planes');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed owner whose parent has not reaped it yet is a zombie: signal 0 still succeeds.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function procFile(pid: number | string, file: 'cmdline' | 'environ'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Processes other than this one whose command line or environment names dir (Linux /proc). */
export function processesUsing(dir: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  // The trailing slash keeps /tmp/x from matching /tmp/x2; a bare mention of the dir counts too.
  const mentions = (text: string) => text.includes(`${dir}/`) || text.split('\0').some((a) => a === dir || a.endsWith(`=${dir}`));
  return pids.map(Number).filter((pid) => pid !== process.pid && (mentions(procFile(pid, 'cmdline')) || mentions(procFile(pid, 'environ'))));
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // Already gone.
  }
}

/** The process group pid leads: a component and anything it forked. */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  signal(-pid, sig);
}

/** Kills the components of control planes whose owning process died without cleaning up. */
export function reapOrphans(): string[] {
  if (!existsSync(registryDir)) return [];
  const reaped: string[] = [];
  for (const file of readdirSync(registryDir)) {
    const path = join(registryDir, file);
    let reg: Registration;
    try {
      reg = JSON.parse(readFileSync(path, 'utf8')) as Registration;
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (alive(reg.owner)) continue;
    // A pid may have been reused since: only kill processes whose command line points into that
    // control plane's temp dir, which every component's flags do.
    for (const pid of reg.pids) if (procFile(pid, 'cmdline').includes(reg.dir)) killGroup(pid, 'SIGKILL');
    // Not group leaders: killing their group could take the caller's own.
    for (const pid of processesUsing(reg.dir)) signal(pid, 'SIGKILL');
    rmSync(reg.dir, { recursive: true, force: true });
    rmSync(path, { force: true });
    reaped.push(reg.dir);
  }
  return reaped;
}

export class ProcessGroup {
  readonly procs: Managed[] = [];
  private readonly registryFile: string;
  private readonly onExit = () => this.killNow();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    this.removeHooks();
    // Let the signal do what it would have done without us.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  private hooked = false;
  private readonly cleanups: (() => void)[] = [];

  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(registryDir, { recursive: true });
    this.registryFile = join(registryDir, `${process.pid}-${dir.split('/').pop()}.json`);
    this.writeRegistry();
    process.on('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, this.onSignal);
    this.hooked = true;
  }

  start(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Managed {
    const logFile = join(this.dir, 'logs', `${name}.log`);
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: this.dir });
    closeSync(fd);
    const managed: Managed = { name, child, logFile };
    child.on('exit', (code, signal) => {
      managed.exited = signal ? `signal ${signal}` : `code ${code}`;
    });
    child.on('error', (err) => {
      managed.exited = `spawn error: ${err.message}`;
    });
    // The harness must not keep the event loop alive on the children's account.
    child.unref();
    this.procs.push(managed);
    this.writeRegistry();
    return managed;
  }

  /**
   * Synchronous clean-up of what is not a process of a group (a real node's containers, cgroups and
   * bridge): run by killNow after the groups are killed, before the dir goes, in reverse order.
   */
  onKill(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** The last lines of a component's log, for error messages. */
  tail(m: Managed, lines = 30): string {
    try {
      return readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Throws if a component has died; called while waiting for readiness so failures are fast. */
  assertAlive(): void {
    for (const m of this.procs) {
      if (m.exited) throw new Error(`${m.name} exited (${m.exited}); last log lines from ${m.logFile}:\n${this.tail(m)}`);
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    for (const m of this.procs) if (!m.exited && m.child.pid) killGroup(m.child.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && this.procs.some((m) => !m.exited)) await new Promise((r) => setTimeout(r, 50));
    this.killNow();
    this.removeHooks();
  }

  /** Synchronous: usable from 'exit' handlers. Kills every group and removes dir and registry. */
  killNow(): void {
    // Groups, not just the leaders: a component's own children (none today) go too.
    for (const m of this.procs) if (m.child.pid) killGroup(m.child.pid, 'SIGKILL');
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch (err) {
        process.stderr.write(`clean-up of ${this.dir} failed: ${(err as Error).message}\n`);
      }
    }
    if (!process.env.AUTORUN_KEEP_CONTROL_PLANE) rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.registryFile, { force: true });
  }

  private writeRegistry(): void {
    const reg: Registration = { owner: process.pid, dir: this.dir, pids: this.procs.flatMap((m) => (m.child.pid ? [m.child.pid] : [])) };
    writeFileSync(this.registryFile, JSON.stringify(reg));
  }

  private removeHooks(): void {
    if (!this.hooked) return;
    process.off('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, this.onSignal);
    this.hooked = false;
  }
}

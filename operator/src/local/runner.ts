// The local shell around the loop core: the same decide() the operator calls, with stages as local
// processes instead of Pods. Each pass folds what the processes did into decide(), carries out its
// actions, records the state atomically and redraws the progress table.
//
// Resume rules (a crash, SIGKILL or Ctrl-C between two runs):
// - a stage with a result (its termination file) is finished and is never run again, even when the
//   run that started it died before recording the result;
// - a stage whose process is still alive (the run died, the agent did not) is adopted: watched until
//   it exits, then its result is read;
// - a stage whose process is gone without a result is forgotten; the core still wants it (its record
//   is not finished), so it starts again under the same name, in a fresh workspace, as attempt n
//   again: an interruption is not an infrastructure failure and does not use up maxAttempts.
// A stage that ends without a result while a run watches it is a failure (ExitCode,
// DeadlineExceeded, BadTerminationMessage) and is retried as a new attempt by the core.
import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { secretValues, redact } from '../util/secrets.js';
import type { AgentPool, Phase } from '../api/types.js';
import { decide, isTerminal } from '../core/loop.js';
import type { Action, ObservedStage, PoolView, StageContext, StageKey } from '../core/types.js';
import type { GpuAllocator } from './gpus.js';
import type { Progress } from './progress.js';
import { rowOf } from './progress.js';
import { stageEnv } from './stage-env.js';
import { gpuLimit, gpusOf, roleSettings } from '../api/pool-roles.js';
import { adoptStage, isStageProcess, readStageResult, spawnStage, transcriptTail, type StageExit, type StageHandle } from './stage-process.js';
import type { LocalStage, StateDir, TaskState } from './state.js';

const ACTIVE: readonly Phase[] = ['Coding', 'Running', 'Repairing', 'Accepting', 'Publishing'];
const KILL_GRACE_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LocalTask {
  state: TaskState;
  pool: AgentPool;
  /** The git remote the agents clone and push to. */
  repositoryUrl: string;
  /** Directory of the hidden acceptance tests, when the task has them. */
  acceptanceDir?: string;
  /** Position in the files, for a stable queue order among equals. */
  order: number;
}

interface Live {
  handle: StageHandle;
  stage: LocalStage;
  timer?: NodeJS.Timeout;
  timedOut?: boolean;
  stopping?: boolean;
}

export interface RunnerOptions {
  dir: StateDir;
  tasks: LocalTask[];
  /** argv of the agent program; `--role R` is appended. */
  agentCommand: string[];
  gpus: GpuAllocator;
  progress: Progress;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Keep running while a task waits in NeedsInput: someone can resume it (Slack controls). */
  waitForPeople?: boolean;
  /** Keep running after every task ended, until interrupt(): Slack may retry one or add one (--watch). */
  keepRunning?: boolean;
  /** Called after a decision that changed the task's status or produced events (Slack). */
  onReport?: (t: LocalTask, events: { kind: 'Normal' | 'Warning'; reason: string; message: string }[]) => void;
}

export class Runner {
  private readonly live = new Map<string, Live>();
  private wakeUp: (() => void) | undefined;
  private stopping = false;
  private saidNoGpu = false;
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => Date;
  private readonly secrets: string[];

  constructor(private readonly o: RunnerOptions) {
    this.env = o.env ?? process.env;
    this.now = o.now ?? (() => new Date());
    this.secrets = secretValues(this.env);
  }

  /** Runs until every task is Succeeded or Failed, or until interrupt(). */
  async run(): Promise<{ interrupted: boolean }> {
    for (const t of this.o.tasks) this.recover(t);
    const tick = this.o.progress.tty ? setInterval(() => this.render(), 1000) : undefined;
    try {
      for (;;) {
        this.pass();
        this.render();
        if (this.stopping) break;
        // A task waiting for a person (escalation) has nothing left to run until its manifest grants more.
        const waits = (t: LocalTask) => !this.o.waitForPeople && t.state.status.phase === 'NeedsInput';
        if (!this.o.keepRunning && this.o.tasks.every((t) => isTerminal(t.state.status) || waits(t)) && this.live.size === 0) break;
        await this.sleep(this.nextWake());
      }
      if (this.stopping) {
        await this.stopAll();
        // Fold in what the stopped stages reported on their way out (their spend), starting nothing.
        this.pass();
      }
    } finally {
      if (tick) clearInterval(tick);
      for (const t of this.o.tasks) this.o.dir.save(t.state);
    }
    return { interrupted: this.stopping };
  }

  /** Decide again now: a person changed a task (Slack controls). */
  poke(): void {
    this.wake();
  }

  /** Stops every stage process, records the state, and makes run() return. A second call kills at once. */
  interrupt(): void {
    if (this.stopping) {
      for (const l of this.live.values()) l.handle.kill('SIGKILL');
      return;
    }
    this.stopping = true;
    this.wake();
  }

  rows(): ReturnType<typeof rowOf>[] {
    const now = this.now();
    return this.o.tasks.map((t) => rowOf({ name: t.state.task.metadata.name, status: t.state.status, createdAt: t.state.createdAt }, now));
  }

  private render(): void {
    this.o.progress.update(this.rows());
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.wake(), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
      this.wakeUp = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private requeue = new Map<string, number>();

  private nextWake(): number | undefined {
    const times = this.o.tasks.filter((t) => !isTerminal(t.state.status)).map((t) => this.requeue.get(t.state.task.metadata.name)).filter((x): x is number => x !== undefined);
    return times.length ? Math.min(...times) - this.now().getTime() : undefined;
  }

  /** Settles the recorded stages of a task that a previous run left unfinished. */
  private recover(t: LocalTask): void {
    const name = t.state.task.metadata.name;
    const keep: LocalStage[] = [];
    for (const s of t.state.stages) {
      if (s.state === 'Finished' || s.state === 'Lost') {
        keep.push(s);
        continue;
      }
      const files = this.o.dir.stageFiles(name, s.name);
      const r = readStageResult(files.result, s.role);
      if ('result' in r) {
        keep.push(this.finished(s, { result: r.result }, mtime(files.result)));
        continue;
      }
      if (s.pid !== undefined && isStageProcess(s.pid, this.marker(name, s.name))) {
        keep.push(s);
        if (s.devices) this.o.gpus.hold(s.devices);
        this.watch(t, s, adoptStage(s.pid));
        this.o.progress.message(`${name}: ${s.name} is still running from the previous run (pid ${s.pid}); waiting for it`);
        continue;
      }
      // Gone without a result: forgotten here, started again under the same name when the core asks.
    }
    t.state.stages = keep;
    this.o.dir.save(t.state);
  }

  private marker(task: string, stage: string): string {
    return `${this.o.dir.root}/${task}/${stage}`;
  }

  private pass(): void {
    // Decisions of one task change the admission of the next (a slot taken or freed): repeat until
    // nothing changes, with a bound in case two tasks keep flipping each other.
    for (let round = 0; round < 5; round++) {
      let changed = false;
      for (const t of this.queueOrder()) changed = this.step(t) || changed;
      if (!changed) break;
    }
  }

  private queueOrder(): LocalTask[] {
    const key = (t: LocalTask): number => Math.floor(Date.parse(t.state.status.queuedAt ?? t.state.createdAt) / 1000);
    return [...this.o.tasks].sort(
      (a, b) => key(a) - key(b) || (b.state.task.spec.priority ?? 0) - (a.state.task.spec.priority ?? 0) || a.order - b.order,
    );
  }

  private holdsSlot(t: LocalTask): boolean {
    if (isTerminal(t.state.status)) return false;
    return ACTIVE.includes(t.state.status.phase as Phase) || t.state.stages.some((s) => this.live.has(this.key(t, s.name)));
  }

  private poolView(t: LocalTask): PoolView {
    const pool = t.pool;
    const same = this.queueOrder().filter((o) => o.pool === pool);
    const holders = same.filter((o) => this.holdsSlot(o));
    // As in the operator's admission: a task waiting for a person stands in line only once granted more.
    const asking = (o: LocalTask) => o.state.status.phase === 'NeedsInput' && (o.state.status.observedGeneration ?? 0) >= (o.state.task.metadata.generation ?? 1);
    const waiting = same.filter((o) => !isTerminal(o.state.status) && !o.state.task.spec.suspend && !asking(o) && !this.holdsSlot(o));
    const free = Math.max(0, (pool.spec.maxConcurrentTasks ?? 4) - holders.length);
    const idx = waiting.indexOf(t);
    const admitted = holders.includes(t) || (idx >= 0 && idx < free);
    const inUse = [...this.live.values()].filter((l) => this.o.tasks.find((o) => o.state.stages.includes(l.stage))?.pool === pool).reduce((n, l) => n + (l.stage.devices?.length ?? 0), 0);
    const limit = gpuLimit(pool);
    return {
      exists: true,
      admitted,
      ...(admitted || idx < 0 ? {} : { queuePosition: idx - free + 1 }),
      gpuAvailable: (role) => {
        const want = gpusOf(pool, role);
        if (want === 0 || this.o.gpus.capacity === 0) return true;
        // Locally the machine's GPUs are the limit, and the pool's own limit (as in the cluster:
        // unset means none, 0 means no GPU stage) caps them further.
        return this.o.gpus.canTake(want) && inUse + Math.min(want, this.o.gpus.capacity) <= limit;
      },
      gpuHourUSD: 0,
      maxAttempts: (role) => roleSettings(pool, role).maxAttempts,
    };
  }

  private key(t: LocalTask, stage: string): string {
    return `${t.state.task.metadata.name}/${stage}`;
  }

  /** One decide() for a task; returns whether its status changed. */
  private step(t: LocalTask): boolean {
    const name = t.state.task.metadata.name;
    const observed: ObservedStage[] = t.state.stages.map(toObserved);
    const out = decide({
      name,
      generation: t.state.task.metadata.generation ?? 1,
      spec: t.state.task.spec,
      status: t.state.status,
      observed,
      pool: this.poolView(t),
      createdAt: t.state.createdAt,
      now: this.now(),
    });
    const changed = JSON.stringify(out.status) !== JSON.stringify(t.state.status);
    t.state.status = out.status;
    this.requeue.delete(name);
    for (const a of out.actions) this.apply(t, a);
    if (changed) {
      t.state.updatedAt = this.now().toISOString();
      this.o.dir.save(t.state);
    }
    const events = out.actions.flatMap((a) => (a.type === 'Event' ? [{ kind: a.kind, reason: a.reason, message: a.message }] : []));
    if (changed || events.length) this.o.onReport?.(t, events);
    return changed;
  }

  private apply(t: LocalTask, a: Action): void {
    const name = t.state.task.metadata.name;
    switch (a.type) {
      case 'StartStage':
        if (!this.stopping) this.start(t, a.name, a.stage, a.context);
        break;
      case 'StopStage':
        this.stop(t, a.name);
        break;
      case 'Event': {
        const line = `${name}: ${a.kind === 'Warning' ? 'warning: ' : ''}${a.message}`;
        this.o.progress.message(redact(line, this.secrets));
        try {
          mkdirSync(this.o.dir.taskDir(name), { recursive: true });
          appendFileSync(`${this.o.dir.taskDir(name)}/events.log`, JSON.stringify({ time: this.now().toISOString(), ...a }) + '\n');
        } catch {
          // The event log is a convenience; the state file is the record.
        }
        break;
      }
      case 'RequeueAt': {
        const at = Date.parse(a.at);
        const prev = this.requeue.get(name);
        if (Number.isFinite(at) && (prev === undefined || at < prev)) this.requeue.set(name, at);
        break;
      }
    }
  }

  private start(t: LocalTask, stageName: string, key: StageKey, context: StageContext): void {
    const name = t.state.task.metadata.name;
    if (this.live.has(this.key(t, stageName))) return;
    const known = t.state.stages.find((s) => s.name === stageName);
    if (known && (known.state === 'Finished' || known.state === 'Lost')) return;
    t.state.stages = t.state.stages.filter((s) => s.name !== stageName);
    // Never discard a result: a stage that finished unrecorded is taken as finished, not re-run.
    const existing = readStageResult(this.o.dir.stageFiles(name, stageName).result, key.role);
    if ('result' in existing) {
      t.state.stages.push(this.finished({ name: stageName, ...key, state: 'Running' }, { result: existing.result }, this.now()));
      this.o.dir.save(t.state);
      this.wake();
      return;
    }
    const files = this.o.dir.resetStage(name, stageName);
    mkdirSync(files.workspace, { recursive: true });

    const want = gpusOf(t.pool, key.role);
    let devices: string[] | undefined;
    if (this.o.gpus.capacity > 0) devices = this.o.gpus.take(want);
    else if (want > 0 && !this.saidNoGpu) {
      this.saidNoGpu = true;
      this.o.progress.message(`no GPU found (nvidia-smi -L): ${key.role} stages, which the pool gives ${want} GPU(s), run without one`);
    }
    const stage: LocalStage = { name: stageName, ...key, state: 'Running', startTime: this.now().toISOString(), ...(devices?.length ? { devices } : {}) };
    const env = stageEnv(
      {
        task: t.state.task,
        pool: t.pool,
        key,
        context,
        files,
        repositoryUrl: t.repositoryUrl,
        failureReportPath: key.role === 'repair' ? this.lastFailureReport(t) : undefined,
        acceptanceDir: t.acceptanceDir,
        budgetUSD: context.budgetUSD,
        devices,
        marker: this.marker(name, stageName),
        stateRoot: this.o.dir.root,
      },
      this.env,
    );
    t.state.stages.push(stage);
    // Recorded before the process exists, so a crash right after the spawn finds the stage.
    this.o.dir.save(t.state);
    const handle = spawnStage([...this.o.agentCommand, '--role', key.role], { cwd: files.workspace, env, transcript: files.transcript });
    stage.pid = handle.pid;
    this.o.dir.save(t.state);
    this.watch(t, stage, handle);
  }

  private watch(t: LocalTask, stage: LocalStage, handle: StageHandle): void {
    const l: Live = { handle, stage };
    const timeoutMs = roleSettings(t.pool, stage.role).timeoutSeconds * 1000;
    const left = Date.parse(stage.startTime ?? this.now().toISOString()) + timeoutMs - this.now().getTime();
    l.timer = setTimeout(() => {
      l.timedOut = true;
      this.terminate(l);
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
    this.live.set(this.key(t, stage.name), l);
    void handle.done.then((exit) => this.exited(t, l, exit));
  }

  private terminate(l: Live): void {
    l.handle.kill('SIGTERM');
    setTimeout(() => l.handle.kill('SIGKILL'), KILL_GRACE_MS).unref();
  }

  private stop(t: LocalTask, stageName: string): void {
    const l = this.live.get(this.key(t, stageName));
    if (!l || l.stopping) return;
    l.stopping = true;
    this.terminate(l);
  }

  private exited(t: LocalTask, l: Live, exit: StageExit): void {
    const name = t.state.task.metadata.name;
    if (l.timer) clearTimeout(l.timer);
    this.live.delete(this.key(t, l.stage.name));
    if (l.stage.devices) this.o.gpus.release(l.stage.devices);
    const files = this.o.dir.stageFiles(name, l.stage.name);
    const r = readStageResult(files.result, l.stage.role);
    const i = t.state.stages.indexOf(l.stage);
    if (this.stopping && !('result' in r)) {
      // Interrupted by us: no failure of the stage; forget it so that the next run starts it again.
      if (i >= 0) t.state.stages.splice(i, 1);
    } else if (i >= 0) {
      let outcome: Parameters<Runner['finished']>[1];
      if ('result' in r) outcome = { result: r.result };
      else if ('invalid' in r) outcome = { failureReason: 'BadTerminationMessage', failureMessage: r.invalid };
      else if (l.timedOut) outcome = { failureReason: 'DeadlineExceeded', failureMessage: `killed after the role's timeoutSeconds` };
      else {
        const how = exit.spawnError
          ? `could not start the agent (${exit.spawnError})`
          : exit.adopted
            ? 'ended without a result'
            : exit.signal
              ? `was killed by ${exit.signal} without a result`
              : `exited with code ${exit.exitCode} without a result`;
        const tail = redact(transcriptTail(files.transcript), this.secrets);
        outcome = { failureReason: 'ExitCode', failureMessage: `the agent process ${how}${tail ? `: ${tail}` : ''}` };
      }
      const done = this.finished(l.stage, outcome, this.now());
      done.exitCode = exit.exitCode;
      done.signal = exit.signal;
      t.state.stages[i] = done;
    }
    this.o.dir.save(t.state);
    this.wake();
  }

  private finished(s: LocalStage, outcome: Pick<ObservedStage, 'result' | 'failureReason' | 'failureMessage'>, at: Date): LocalStage {
    const finishTime = at.toISOString();
    const seconds = s.startTime ? Math.max(0, (at.getTime() - Date.parse(s.startTime)) / 1000) : 0;
    const { pid: _pid, ...rest } = s;
    return { ...rest, ...outcome, state: 'Finished', finishTime, ...(s.devices?.length ? { gpuSeconds: Math.round(seconds * s.devices.length) } : {}) };
  }

  /** The report of the latest failed run stage, for the repair agent (an acceptance report never: hidden). */
  private lastFailureReport(t: LocalTask): string | undefined {
    const runs = t.state.stages
      .filter((s) => s.role === 'run' && s.state === 'Finished' && s.result?.outcome === 'Failed')
      .sort((a, b) => (a.finishTime ?? '').localeCompare(b.finishTime ?? ''));
    const last = runs.at(-1);
    if (!last) return undefined;
    const report = this.o.dir.stageFiles(t.state.task.metadata.name, last.name).report;
    try {
      statSync(report);
      return report;
    } catch {
      return undefined;
    }
  }

  private async stopAll(): Promise<void> {
    const all = [...this.live.values()];
    for (const l of all) l.handle.kill('SIGTERM');
    const done = Promise.all(all.map((l) => l.handle.done));
    const grace = new Promise<void>((r) => setTimeout(r, KILL_GRACE_MS).unref());
    await Promise.race([done, grace]);
    for (const l of this.live.values()) l.handle.kill('SIGKILL');
    await done;
    // exited() ran for each; give its synchronous bookkeeping a turn before the final save.
    await new Promise((r) => setImmediate(r));
  }
}

function toObserved(s: LocalStage): ObservedStage {
  const { pid: _pid, devices: _devices, exitCode: _exitCode, signal: _signal, ...observed } = s;
  return observed;
}

function mtime(path: string): Date {
  try {
    return statSync(path).mtime;
  } catch {
    return new Date();
  }
}

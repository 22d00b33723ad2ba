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
import type { AgentPool } from '../api/types.js';
import { decide } from '../core/loop.js';
import { admitSlots, compareQueueOrder, rankOf, type SlotCandidate } from '../contract/admission.js';
import { isTerminal } from '../contract/phases.js';
import { eventsOf, type TaskEvent } from '../contract/events.js';
import { failedRunForRepair, receivesFailureReport, reportMayBeShown } from '../contract/repair-input.js';
import type { Action, ObservedStage, PoolView, StageContext, StageKey } from '../core/types.js';
import type { GpuAllocator } from './gpus.js';
import type { Progress } from './progress.js';
import { rowOf } from './progress.js';
import { stageEnv } from './stage-env.js';
import { gpuLimit, gpusOf, roleSettings } from '../api/pool-roles.js';
import { adoptStage, isStageProcess, readStageResult, spawnStage, transcriptTail, type StageHandle } from './stage-process.js';
import { StageSupervisor, type Ended } from './supervisor.js';
import { exitOutcome, finished, mtime, toObserved } from './stage-outcome.js';
import type { LocalStage, StateDir, TaskState } from './state.js';

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
  onReport?: (t: LocalTask, events: TaskEvent[]) => void;
}

export class Runner {
  private readonly live: StageSupervisor;
  /** Tasks whose state changed since the last save: one save per pass records them. */
  private readonly dirty = new Set<LocalTask>();
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
    this.live = new StageSupervisor((key, stage, ended) => this.exited(key, stage, ended), this.now);
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
        await this.live.stopAll();
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
      this.live.killAll();
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
        keep.push(finished(s, { result: r.result }, mtime(files.result)));
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
    // Recorded by the first pass's save.
    this.dirty.add(t);
  }

  private marker(task: string, stage: string): string {
    return `${this.o.dir.root}/${task}/${stage}`;
  }

  /**
   * One pass: a decision per task, its actions carried out, then one save of what changed. Stage
   * exits since the last pass are in the records already (exited()); a stage that finished and was
   * not yet saved is found again by its result file after a crash (recover()).
   */
  private pass(): void {
    // Decisions of one task change the admission of the next (a slot taken or freed): repeat until
    // nothing changes, with a bound in case two tasks keep flipping each other.
    for (let round = 0; round < 5; round++) {
      let changed = false;
      for (const t of this.queueOrder()) changed = this.step(t) || changed;
      if (!changed) break;
    }
    this.save();
  }

  private save(): void {
    for (const t of this.dirty) this.o.dir.save(t.state);
    this.dirty.clear();
  }

  /** What the pool's admission reads of a task (contract/admission.ts, as in the operator). */
  private candidate(t: LocalTask): SlotCandidate {
    const s = t.state;
    return {
      key: s.task.metadata.name,
      phase: s.status.phase,
      priority: s.task.spec.priority,
      suspend: s.task.spec.suspend,
      deleting: false,
      generation: s.task.metadata.generation ?? 1,
      observedGeneration: s.status.observedGeneration,
      queuedAt: s.status.queuedAt,
      createdAt: s.createdAt,
      hasLiveStages: s.stages.some((st) => this.live.has(this.key(t, st.name))),
      order: t.order,
    };
  }

  /** The tasks in queue order: decisions are taken in it, so a freed slot goes to the first in line. */
  private queueOrder(): LocalTask[] {
    const ranked = this.o.tasks.map((t) => ({ t, rank: rankOf(this.candidate(t)) }));
    return ranked.sort((a, b) => compareQueueOrder(a.rank, b.rank)).map((r) => r.t);
  }

  private poolView(t: LocalTask): PoolView {
    const pool = t.pool;
    const slots = admitSlots(this.o.tasks.filter((o) => o.pool === pool).map((o) => this.candidate(o)), pool.spec.maxConcurrentTasks);
    const { admitted, queuePosition } = slots.byTask.get(t.state.task.metadata.name) ?? { admitted: false };
    const inUse = this.live
      .stages()
      .filter((s) => this.o.tasks.find((o) => o.state.stages.includes(s))?.pool === pool)
      .reduce((n, s) => n + (s.devices?.length ?? 0), 0);
    const limit = gpuLimit(pool);
    return {
      exists: true,
      admitted,
      ...(queuePosition === undefined ? {} : { queuePosition }),
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
      this.dirty.add(t);
    }
    const events = eventsOf(out.actions);
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
      t.state.stages.push(finished({ name: stageName, ...key, state: 'Running' }, { result: existing.result }, this.now()));
      this.dirty.add(t);
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
        failureReportPath: receivesFailureReport(key.role, context) ? this.lastFailureReport(t) : undefined,
        acceptanceDir: t.acceptanceDir,
        devices,
        marker: this.marker(name, stageName),
        stateRoot: this.o.dir.root,
      },
      this.env,
    );
    t.state.stages.push(stage);
    const handle = spawnStage([...this.o.agentCommand, '--role', key.role], { cwd: files.workspace, env, transcript: files.transcript });
    stage.pid = handle.pid;
    // Recorded, with its pid for adoption after a restart, by this pass's save: everything from
    // the decision to the save is synchronous, so nothing else runs in between.
    this.dirty.add(t);
    this.watch(t, stage, handle);
  }

  private watch(t: LocalTask, stage: LocalStage, handle: StageHandle): void {
    this.live.watch(this.key(t, stage.name), stage, handle, roleSettings(t.pool, stage.role).timeoutSeconds * 1000);
  }

  private stop(t: LocalTask, stageName: string): void {
    this.live.stop(this.key(t, stageName));
  }

  /** A stage process ended: its outcome goes into the task's records; the next pass decides on it and saves. */
  private exited(key: string, stage: LocalStage, ended: Ended): void {
    if (stage.devices) this.o.gpus.release(stage.devices);
    const t = this.o.tasks.find((o) => key === this.key(o, stage.name));
    if (!t) return this.wake();
    const name = t.state.task.metadata.name;
    const { exit } = ended;
    const files = this.o.dir.stageFiles(name, stage.name);
    const r = readStageResult(files.result, stage.role);
    const i = t.state.stages.indexOf(stage);
    if (this.stopping && !('result' in r)) {
      // Interrupted by us: no failure of the stage; forget it so that the next run starts it again.
      if (i >= 0) t.state.stages.splice(i, 1);
    } else if (i >= 0) {
      const outcome = exitOutcome(r, ended, () => redact(transcriptTail(files.transcript), this.secrets));
      const done = finished(stage, outcome, this.now());
      done.exitCode = exit.exitCode;
      done.signal = exit.signal;
      t.state.stages[i] = done;
    }
    this.dirty.add(t);
    this.wake();
  }

  /** The report of the latest failed run stage, for the repair agent (an acceptance report never: hidden). */
  private lastFailureReport(t: LocalTask): string | undefined {
    const last = failedRunForRepair(t.state.stages);
    if (!last || !reportMayBeShown(last)) return undefined;
    const report = this.o.dir.stageFiles(t.state.task.metadata.name, last.name).report;
    try {
      statSync(report);
      return report;
    } catch {
      return undefined;
    }
  }
}

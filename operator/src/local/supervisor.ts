// The local tier's process supervisor: the stage processes that are alive, each with its role's
// timeout, stopped gracefully (SIGTERM, then SIGKILL after a grace) or at once, and told to the
// loop when they exit. It keeps no task state: the loop (runner.ts) decides and records.
import type { StageExit, StageHandle } from './stage-process.js';
import type { LocalStage } from './state.js';

const KILL_GRACE_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Live {
  handle: StageHandle;
  stage: LocalStage;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  stopping: boolean;
}

/** How a supervised stage ended: its exit, and whether its timeout ended it. */
export interface Ended {
  exit: StageExit;
  timedOut: boolean;
}

export class StageSupervisor {
  private readonly live = new Map<string, Live>();

  /** onExit: the process under `key` ended (called once, after it is no longer live). */
  constructor(
    private readonly onExit: (key: string, stage: LocalStage, ended: Ended) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get size(): number {
    return this.live.size;
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  /** The stages whose processes are alive. */
  stages(): LocalStage[] {
    return [...this.live.values()].map((l) => l.stage);
  }

  /** Watches a started (or adopted) process; it is ended after timeoutMs from the stage's start. */
  watch(key: string, stage: LocalStage, handle: StageHandle, timeoutMs: number): void {
    const l: Live = { handle, stage, timedOut: false, stopping: false };
    const left = Date.parse(stage.startTime ?? this.now().toISOString()) + timeoutMs - this.now().getTime();
    l.timer = setTimeout(() => {
      l.timedOut = true;
      this.terminate(l);
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
    this.live.set(key, l);
    void handle.done.then((exit) => {
      if (l.timer) clearTimeout(l.timer);
      this.live.delete(key);
      this.onExit(key, l.stage, { exit, timedOut: l.timedOut });
    });
  }

  /** Stops one stage gracefully; a second call does nothing more. */
  stop(key: string): void {
    const l = this.live.get(key);
    if (!l || l.stopping) return;
    l.stopping = true;
    this.terminate(l);
  }

  killAll(): void {
    for (const l of this.live.values()) l.handle.kill('SIGKILL');
  }

  /** Stops every stage: SIGTERM, SIGKILL after the grace; resolves once all have exited and been told. */
  async stopAll(): Promise<void> {
    const all = [...this.live.values()];
    for (const l of all) l.handle.kill('SIGTERM');
    const done = Promise.all(all.map((l) => l.handle.done));
    const grace = new Promise<void>((r) => setTimeout(r, KILL_GRACE_MS).unref());
    await Promise.race([done, grace]);
    this.killAll();
    await done;
    // onExit runs in the done callbacks; give them a turn.
    await new Promise((r) => setImmediate(r));
  }

  private terminate(l: Live): void {
    l.handle.kill('SIGTERM');
    setTimeout(() => l.handle.kill('SIGKILL'), KILL_GRACE_MS).unref();
  }
}

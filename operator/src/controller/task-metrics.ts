// What one status write of a task means for the factory's metrics: the stages that finished, the
// retries that started, the queue wait that ended, the task that finished. Worked out from the
// status before and after the write (a pure diff), so each fact is counted exactly once by the
// replica that wrote it: a new leader starts from a status that already records what the old one
// counted, and a write that conflicts counts nothing.
import type { CodingTaskStatus, StageStatus } from '../api/types.js';
import { TERMINAL_PHASES } from '../contract/phases.js';

const DONE = new Set(['Succeeded', 'Failed', 'Error']);
const FINISHED: ReadonlySet<string> = TERMINAL_PHASES;

export interface StageFinished {
  role: StageStatus['role'];
  state: 'Succeeded' | 'Failed' | 'Error';
  /** The stage's reason, or its state when it gives none (so the label is never empty). */
  reason: string;
  /** From creation to the recorded result; undefined when either time is missing. */
  seconds?: number;
  costUSD: number;
  gpuSeconds: number;
}

export interface StageRetried {
  role: StageStatus['role'];
  /** Why the attempt before it ended (OOMKilled, PodGone, ExitCode, ...). */
  reason: string;
}

export interface TaskFinished {
  phase: 'Succeeded' | 'Failed';
  reason: string;
  iterations: number;
  costUSD: number;
}

export interface StatusDelta {
  stagesFinished: StageFinished[];
  stagesRetried: StageRetried[];
  /** Seconds from entering the queue (or creation) to the first stage, when the task just started. */
  queueWaitSeconds?: number;
  finished?: TaskFinished;
}

const seconds = (from?: string, to?: string): number | undefined => {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
};

const dollars = (v: string | undefined): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

export function statusDelta(before: CodingTaskStatus, after: CodingTaskStatus, createdAt: string | undefined): StatusDelta {
  const old = new Map((before.stages ?? []).map((s) => [s.name, s]));
  const stagesFinished: StageFinished[] = [];
  const stagesRetried: StageRetried[] = [];
  for (const s of after.stages ?? []) {
    const was = old.get(s.name);
    if (s.state && DONE.has(s.state) && !(was?.state && DONE.has(was.state))) {
      stagesFinished.push({
        role: s.role,
        state: s.state as StageFinished['state'],
        reason: s.reason || s.state,
        seconds: seconds(s.startTime, s.completionTime),
        costUSD: dollars(s.costUSD),
        gpuSeconds: s.gpuSeconds ?? 0,
      });
    }
    if (!was && s.attempt > 0) {
      const prev = (after.stages ?? []).find((p) => p.iteration === s.iteration && p.role === s.role && p.attempt === s.attempt - 1);
      stagesRetried.push({ role: s.role, reason: prev?.reason || prev?.state || 'Unknown' });
    }
  }
  const delta: StatusDelta = { stagesFinished, stagesRetried };
  if (after.startTime && !before.startTime) delta.queueWaitSeconds = seconds(after.queuedAt ?? createdAt, after.startTime);
  const phase = after.phase;
  if (phase && FINISHED.has(phase) && !(before.phase && FINISHED.has(before.phase))) {
    delta.finished = {
      phase: phase as TaskFinished['phase'],
      reason: after.reason || phase,
      iterations: after.iteration ?? 0,
      costUSD: dollars(after.cost?.totalUSD),
    };
  }
  return delta;
}

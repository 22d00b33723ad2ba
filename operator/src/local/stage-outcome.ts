// How a local stage's end becomes its record: the result it wrote, or why it ended without one, in
// the loop core's terms (ObservedStage), as pods/observe.ts reads a Pod for the operator.
import { statSync } from 'node:fs';
import type { ObservedStage } from '../core/types.js';
import type { ReadResult } from './stage-process.js';
import type { LocalStage } from './state.js';
import type { Ended } from './supervisor.js';

export type Outcome = Pick<ObservedStage, 'result' | 'failureReason' | 'failureMessage'>;

/** The outcome of a stage that ended under supervision; tail() is its transcript's end (redacted). */
export function exitOutcome(r: ReadResult, ended: Ended, tail: () => string): Outcome {
  const { exit, timedOut } = ended;
  if ('result' in r) return { result: r.result };
  if ('invalid' in r) return { failureReason: 'BadTerminationMessage', failureMessage: `the agent process wrote ${r.invalid}` };
  if (timedOut) return { failureReason: 'DeadlineExceeded', failureMessage: `killed after the role's timeoutSeconds` };
  const how = exit.spawnError
    ? `could not start the agent (${exit.spawnError})`
    : exit.adopted
      ? 'ended without a result'
      : exit.signal
        ? `was killed by ${exit.signal} without a result`
        : `exited with code ${exit.exitCode} without a result`;
  const t = tail();
  return { failureReason: 'ExitCode', failureMessage: `the agent process ${how}${t ? `: ${t}` : ''}` };
}

/** The stage's record once it ended, at `at`; the pid goes, the GPU time is counted. */
export function finished(s: LocalStage, outcome: Outcome, at: Date): LocalStage {
  const finishTime = at.toISOString();
  const seconds = s.startTime ? Math.max(0, (at.getTime() - Date.parse(s.startTime)) / 1000) : 0;
  const { pid: _pid, ...rest } = s;
  return { ...rest, ...outcome, state: 'Finished', finishTime, ...(s.devices?.length ? { gpuSeconds: Math.round(seconds * s.devices.length) } : {}) };
}

export function toObserved(s: LocalStage): ObservedStage {
  const { pid: _pid, devices: _devices, exitCode: _exitCode, signal: _signal, ...observed } = s;
  return observed;
}

export function mtime(path: string): Date {
  try {
    return statSync(path).mtime;
  } catch {
    return new Date();
  }
}

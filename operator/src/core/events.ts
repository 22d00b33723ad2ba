// Events are derived from the difference between the status a call started from and the one it
// returns, so a call that changes nothing emits nothing: repeating a reconcile never repeats an
// event, and every transition emits exactly one.
import type { CodingTaskStatus } from '../api/types.js';
import type { Action } from './types.js';
import { getCondition } from './conditions.js';
import { isFinished, type StageRecord } from './records.js';
import { OWN_TESTS_OVERRULED } from './plan.js';

export type EventAction = Extract<Action, { type: 'Event' }>;

const event = (kind: EventAction['kind'], reason: string, message: string): EventAction => ({ type: 'Event', kind, reason, message });

function finishedEvent(r: StageRecord): EventAction {
  const what = r.summary ? `: ${r.summary}` : '';
  if (r.state === 'Succeeded') return event('Normal', 'StageSucceeded', `${r.name} succeeded${what}`);
  // Failing tests are the loop's ordinary path; an LLM stage giving up is worth a warning.
  if (r.state === 'Failed') {
    const normal = r.role === 'run' || r.role === 'acceptance';
    return event(normal ? 'Normal' : 'Warning', 'StageFailed', `${r.name} failed${what}`);
  }
  // Not 'StageError': that is the task's reason when an agent reports an error.
  if (r.reason === 'Stopped') return event('Normal', 'StageStopped', `${r.name} stopped${what}`);
  return event('Warning', 'StageAborted', `${r.name} ended with an error (${r.reason ?? 'unknown'})${r.summary && r.summary !== r.reason ? what : ''}`);
}

export function diffEvents(before: CodingTaskStatus, after: CodingTaskStatus): EventAction[] {
  const events: EventAction[] = [];
  const old = new Map((before.stages ?? []).map((r) => [r.name, r]));
  for (const r of (after.stages ?? []) as StageRecord[]) {
    const prev = old.get(r.name);
    if (isFinished(r)) {
      if (prev && isFinished(prev)) continue;
      events.push(finishedEvent(r));
      const flaky = r.tests?.flaky ?? [];
      if ((r.role === 'run' || r.role === 'acceptance') && flaky.length > 0) {
        events.push(event('Normal', 'FlakyTests', `${r.name}: ${flaky.join(', ')} failed and then passed on a re-run; recorded, not repaired`));
      }
    } else if (!prev) {
      if (r.role === 'code' && r.iteration > 1 && r.attempt === 0) {
        events.push(event('Normal', 'FreshStart', `no progress in a repair round: iteration ${r.iteration} starts again from the goal and the tests`));
      }
      events.push(event('Normal', 'StageStarted', `${r.name} started`));
    }
  }
  if (before.phase !== after.phase && after.phase) {
    // A success the agents' own tests disagree with is one a person should look at.
    const warn = after.phase === 'Failed' || after.reason === OWN_TESTS_OVERRULED;
    events.push(event(warn ? 'Warning' : 'Normal', warn ? (after.reason ?? 'Failed') : after.phase, after.message ?? after.phase));
  }
  const sb = getCondition(before.conditions, 'Schedulable');
  const sa = getCondition(after.conditions, 'Schedulable');
  if (sa?.status === 'False' && (sb?.status !== 'False' || sb.reason !== sa.reason)) events.push(event('Warning', sa.reason, sa.message));
  return events;
}

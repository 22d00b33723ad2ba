// Which status changes may wait for the next write. Every write is a round trip the apiserver and
// the shell's worker pay for; status.stages recording each stage going Pending → Running, and the
// code stage finishing a minute before its parallel test stage, doubled the writes per iteration.
// Neither is read by any decision (plan.ts replays finished records; a live record means "started"
// whatever its state), and both are observed again on the next call from the same stage (a Pod is
// kept until its task goes), so they ride along with the next write that is needed anyway.
import type { CodingTaskStatus } from '../api/types.js';
import { jsonEqual } from './equal.js';
import { isFinished, type StageRecord } from './records.js';
import { summarize } from './status.js';

const live = (r: StageRecord): boolean => !isFinished(r);

/**
 * The record `before` may keep in place of `after`, or undefined when the change must be written:
 * a live stage that only changed between Pending and Running, or a stage that succeeded while
 * another stage of its iteration still runs (the loop cannot move on before that one ends).
 */
function deferredRecord(before: StageRecord | undefined, after: StageRecord, others: readonly StageRecord[]): StageRecord | undefined {
  if (!before || !live(before)) return undefined;
  if (live(after)) return jsonEqual({ ...after, state: before.state }, before) ? before : undefined;
  const partnerRuns = others.some((o) => o.name !== after.name && o.iteration === after.iteration && live(o));
  return after.state === 'Succeeded' && partnerRuns ? before : undefined;
}

/**
 * True when `after` differs from `before` only in changes that may be deferred: with those records
 * held back (and the summaries derived from records recomputed) nothing else changed.
 */
export function isDeferrable(before: CodingTaskStatus, after: CodingTaskStatus, gpuHourUSD: number): boolean {
  if (jsonEqual(before, after)) return false;
  const old = new Map(((before.stages ?? []) as StageRecord[]).map((r) => [r.name, r]));
  const records = (after.stages ?? []) as StageRecord[];
  const held: StageRecord[] = [];
  for (const r of records) {
    const prev = old.get(r.name);
    held.push(jsonEqual(prev, r) ? r : (deferredRecord(prev, r, records) ?? r));
  }
  const masked: CodingTaskStatus = { ...after };
  summarize(masked, held, gpuHourUSD);
  return jsonEqual(before, masked);
}

// status.stages is the task's durable memory: the loop is replayed from these records on every
// call, so they are written from observations once and a finished record is never rewritten.
import type { Role, StageResult, StageStatus } from '../api/types.js';
import type { ObservedStage, StageKey } from './types.js';
import { isInterruption } from './retryable.js';

/** A stage record, as status.stages keeps it. */
export type StageRecord = StageStatus;

/** Longest list of test names kept in a record or in status.tests. */
export const MAX_NAMES = 50;
/** Longest summary kept in a record; the full text stays in the stage's log. */
export const MAX_SUMMARY = 300;

// The order stages happen in within one iteration (a test revision follows the repair that asked
// for it), so sorting by it lists status.stages oldest first whatever order they were observed in.
const ROLE_ORDER: readonly Role[] = ['code', 'repair', 'test', 'run', 'acceptance', 'publish'];

export function compareKeys(a: StageKey, b: StageKey): number {
  return a.iteration - b.iteration || ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.attempt - b.attempt;
}

export function isFinished(r: Pick<StageRecord, 'state'>): boolean {
  return r.state === 'Succeeded' || r.state === 'Failed' || r.state === 'Error';
}

/** Observed stages that still hold (or wait for) resources. */
export function liveStages(observed: readonly ObservedStage[]): ObservedStage[] {
  return observed.filter((o) => o.state === 'Pending' || o.state === 'Running');
}

/** The highest attempt of a stage, or undefined when it never started. */
export function latestAttempt(records: readonly StageRecord[], iteration: number, role: Role): StageRecord | undefined {
  let best: StageRecord | undefined;
  for (const r of records) {
    if (r.iteration === iteration && r.role === role && (!best || r.attempt > best.attempt)) best = r;
  }
  return best;
}

export function pendingRecord(name: string, key: StageKey, now: Date): StageRecord {
  return { name, iteration: key.iteration, role: key.role, attempt: key.attempt, state: 'Pending', startTime: now.toISOString() };
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function clip(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}

function testsOf(t: StageResult['tests']): StageRecord['tests'] {
  if (!t) return undefined;
  return compact({
    passed: t.passed,
    failed: t.failed,
    total: t.total,
    failing: (t.failing ?? []).slice(0, MAX_NAMES),
    flaky: t.flaky?.length ? t.flaky.slice(0, MAX_NAMES) : undefined,
  });
}

function recordOf(prev: StageRecord | undefined, o: ObservedStage, now: Date): StageRecord {
  const base = {
    name: o.name,
    iteration: o.iteration,
    role: o.role,
    attempt: o.attempt,
    startTime: prev?.startTime ?? o.startTime ?? now.toISOString(),
    gpuSeconds: o.gpuSeconds === undefined ? undefined : Math.round(o.gpuSeconds),
  };
  if (o.state === 'Pending' || o.state === 'Running') {
    return compact({ ...base, state: o.state, reason: o.unschedulable ? 'Unschedulable' : undefined });
  }
  const completionTime = o.finishTime ?? now.toISOString();
  const r = o.result;
  if (o.state === 'Finished' && r) {
    return compact({
      ...base,
      state: r.outcome,
      completionTime,
      reason: r.outcome === 'Succeeded' ? undefined : (r.reason ?? r.outcome),
      summary: clip(r.summary),
      commit: r.commit,
      tests: testsOf(r.tests),
      costUSD: r.usage ? r.usage.costUSD.toFixed(6) : undefined,
      inputTokens: r.usage?.inputTokens,
      outputTokens: r.usage?.outputTokens,
      flaggedTests: r.flaggedTests?.length ? r.flaggedTests.slice(0, MAX_NAMES) : undefined,
      pullRequestURL: r.pullRequestURL,
      hungTest: r.hungTest,
    });
  }
  const reason = o.failureReason ?? (o.state === 'Lost' ? 'Lost' : 'NoResult');
  return compact({ ...base, state: 'Error' as const, completionTime, reason, summary: clip(o.failureMessage ?? reason) });
}

export interface Merged {
  records: StageRecord[];
  /** Stages whose agent reported outcome Error in this call: retrying will not help (outages aside). */
  agentErrors: StageRecord[];
}

/** Folds observations into the records; finished records stay as they are. */
export function mergeObservations(records: readonly StageRecord[], observed: readonly ObservedStage[], now: Date): Merged {
  const byName = new Map(records.map((r) => [r.name, r]));
  const agentErrors: StageRecord[] = [];
  for (const o of observed) {
    const prev = byName.get(o.name);
    if (prev && isFinished(prev)) {
      // A stage closed without a result (stopped with its task, its Pod deleted) may still report
      // what it spent once its agent has exited: the money is added, nothing else is rewritten.
      const u = o.result?.usage;
      if (prev.state === 'Error' && prev.costUSD === undefined && u && o.state === 'Finished') {
        byName.set(o.name, { ...prev, costUSD: u.costUSD.toFixed(6), inputTokens: u.inputTokens, outputTokens: u.outputTokens });
      }
      continue;
    }
    const next = recordOf(prev, o, now);
    byName.set(o.name, next);
    if (o.result?.outcome === 'Error' && o.state === 'Finished' && !isInterruption(next)) agentErrors.push(next);
  }
  return { records: [...byName.values()].sort(compareKeys), agentErrors };
}

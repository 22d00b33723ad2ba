// decide(): the loop core. One pure call per reconcile: fold what the shell observed into the
// stage records, replay the loop from them (plan.ts), check the limits, apply the gates (suspend,
// pool, GPUs) and say what to do next. No I/O, no clock but input.now, no randomness.
import type { CodingTaskStatus, Role } from '../api/types.js';
import type { Action, LoopInput, LoopOutput, ObservedStage } from './types.js';
import { getCondition, setCondition } from './conditions.js';
import { stageBudgetStrict, stageBudgetUSD } from './budget.js';
import { costOfRecords } from './cost.js';
import { isDeferrable } from './defer.js';
import { diffEvents } from './events.js';
import { deadlineOf, maxCostOf } from './limits.js';
import { stageName } from './names.js';
import { plan, type DoneStep, type Step, type WorkStep } from './plan.js';
import { pullRequestText } from './pull-request.js';
import { compareKeys, isFinished, liveStages, mergeObservations, pendingRecord, type Merged, type StageRecord } from './records.js';
import { isTerminal, summarize } from './status.js';

export { isTerminal } from './status.js';
export { costOf } from './cost.js';
export { liveStages } from './records.js';

export function decide(input: LoopInput): LoopOutput {
  const before: CodingTaskStatus = input.status ?? {};
  const merged = mergeObservations((before.stages ?? []) as StageRecord[], input.observed, input.now);
  const status: CodingTaskStatus = { ...structuredClone(before), observedGeneration: input.generation };
  const actions: Action[] = [];
  let records = merged.records;

  if (isTerminal(before)) {
    // Terminal is sticky: record what still finishes, stop what still runs.
    actions.push(...stopActions(records, input.observed));
  } else {
    const observedResults = new Map(input.observed.map((o) => [o.name, o.result]));
    const step = plan({
      spec: input.spec,
      records,
      maxAttempts: input.pool.maxAttempts,
      now: input.now,
      flaggedOf: (name) => observedResults.get(name)?.flaggedTests,
    });
    const done = terminalOutcome(input, step, merged);
    if (done && escalates(input, done)) {
      needsInput(status, records, done, input, actions);
    } else if (done) {
      records = finish(status, records, done, input, actions);
    } else {
      records = work(status, records, step as WorkStep, input, actions);
    }
  }

  summarize(status, records, input.pool.gpuHourUSD);
  const starts = actions.some((a) => a.type === 'StartStage' || a.type === 'StopStage');
  return { status, actions: [...diffEvents(before, status), ...actions], deferrable: !starts && isDeferrable(before, status, input.pool.gpuHourUSD) };
}

/** Which end, if any, the task reaches now. Success wins over a limit hit by the last stage. */
function terminalOutcome(input: LoopInput, step: Step, merged: Merged): DoneStep | undefined {
  if (step.kind === 'done' && step.phase === 'Succeeded') return step;
  if (input.spec.stop) return { kind: 'done', phase: 'Failed', reason: 'Stopped', message: 'stopped for good: spec.stop is true' };
  const err = merged.agentErrors[0];
  if (err) {
    // The agent itself says it cannot work (bad credentials, git unreachable): retrying won't help.
    return { kind: 'done', phase: 'Failed', reason: 'StageError', message: `stage ${err.name} reported an error (${err.reason ?? 'Error'}): ${err.summary ?? ''}`.trim() };
  }
  const deadline = deadlineOf(input.spec, input.createdAt);
  if (input.now.getTime() >= deadline.getTime()) {
    return { kind: 'done', phase: 'Failed', reason: 'Timeout', message: `timed out: spec.limits.timeout (${input.spec.limits?.timeout ?? '2h'}) passed at ${deadline.toISOString()}` };
  }
  const cost = costOfRecords(merged.records, input.pool.gpuHourUSD);
  const max = maxCostOf(input.spec);
  if (cost.totalUSD >= max) {
    return { kind: 'done', phase: 'Failed', reason: 'CostLimit', message: `spent $${cost.totalUSD.toFixed(4)}, reaching spec.limits.maxCostUSD ($${max})` };
  }
  return step.kind === 'done' ? step : undefined;
}

/** Escalation: Stalled and MaxIterations wait for a person instead of ending the task. */
function escalates(input: LoopInput, done: DoneStep): boolean {
  return input.spec.escalation?.enabled === true && done.phase === 'Failed' && (done.reason === 'Stalled' || done.reason === 'MaxIterations');
}

function needsInput(status: CodingTaskStatus, records: StageRecord[], done: DoneStep, input: LoopInput, actions: Action[]): void {
  actions.push(...stopActions(records, input.observed));
  const message = `${done.message}; waiting for a person: grant iterations (spec.escalation.grants), ideally with a hint (spec.guidance), or stop the task (spec.stop)`;
  status.phase = 'NeedsInput';
  status.reason = done.reason;
  status.message = message;
  const g = input.generation;
  let c = status.conditions;
  c = setCondition(c, { type: 'Ready', status: 'False', reason: done.reason, message }, input.now, g);
  c = setCondition(c, { type: 'Progressing', status: 'False', reason: 'NeedsInput', message }, input.now, g);
  c = setCondition(c, { type: 'NeedsInput', status: 'True', reason: done.reason, message }, input.now, g);
  status.conditions = c;
  // Only the deadline can still change anything without a person.
  actions.push({ type: 'RequeueAt', at: deadlineOf(input.spec, input.createdAt).toISOString() });
}

function stopActions(records: readonly StageRecord[], observed: readonly ObservedStage[]): Action[] {
  const names = new Set([...records.filter((r) => !isFinished(r)).map((r) => r.name), ...liveStages(observed).map((o) => o.name)]);
  return [...names].sort().map((name) => ({ type: 'StopStage', name }));
}

function finish(status: CodingTaskStatus, records: StageRecord[], done: DoneStep, input: LoopInput, actions: Action[]): StageRecord[] {
  const now = input.now.toISOString();
  actions.push(...stopActions(records, input.observed));
  status.phase = done.phase;
  status.reason = done.reason;
  status.message = done.message;
  status.completionTime ??= now;
  if (done.phase === 'Succeeded') {
    status.result = {
      ...status.result,
      branch: input.spec.repository?.branch ?? `autorun/${input.name}`,
      ...(done.commit ? { commit: done.commit } : {}),
      ...(done.pullRequestURL ? { pullRequestURL: done.pullRequestURL } : {}),
    };
  }
  const g = input.generation;
  let c = status.conditions;
  c = setCondition(c, { type: 'Ready', status: done.phase === 'Succeeded' ? 'True' : 'False', reason: done.reason, message: done.message }, input.now, g);
  c = setCondition(c, { type: 'Progressing', status: 'False', reason: done.reason, message: done.message }, input.now, g);
  c = setCondition(c, { type: done.phase, status: 'True', reason: done.reason, message: done.message }, input.now, g);
  status.conditions = c;
  // Stages still live are being stopped; close their records so status.stages has no loose ends.
  return records.map((r) =>
    isFinished(r) ? r : { ...r, state: 'Error', reason: 'Stopped', completionTime: now, summary: `stopped: the task ${done.phase === 'Failed' ? `failed (${done.reason})` : 'succeeded'}` },
  );
}

type Gate = 'Suspended' | 'PoolMissing' | 'Queued' | undefined;

function work(status: CodingTaskStatus, records: StageRecord[], step: WorkStep, input: LoopInput, actions: Action[]): StageRecord[] {
  const { spec, pool, now } = input;
  const poolName = spec.pool ?? 'default';
  const gate: Gate = spec.suspend ? 'Suspended' : !pool.exists ? 'PoolMissing' : !pool.admitted ? 'Queued' : undefined;
  const observedByName = new Map(input.observed.map((o) => [o.name, o]));
  const next = [...records];
  let gpuWait: Role | undefined;

  for (const w of step.stages) {
    const name = stageName(input.name, w.key);
    const rec = next.find((r) => r.name === name);
    const obs = observedByName.get(name);
    if (rec && obs && (obs.state === 'Pending' || obs.state === 'Running')) continue;
    if (gate) continue;
    if (!pool.gpuAvailable(w.key.role)) {
      gpuWait ??= w.key.role;
      continue;
    }
    // A record without an observation was started but not seen yet (cache lag, a lost create, a
    // restarted local tier): starting it again under the same name is idempotent.
    const context = w.key.role === 'publish' ? { ...w.context, pullRequest: pullRequestText(input.name, spec, next, pool.gpuHourUSD) } : w.context;
    actions.push({ type: 'StartStage', stage: w.key, name, context });
    if (!rec) next.push(pendingRecord(name, w.key, now));
  }
  next.sort(compareKeys);
  // Budgets once every stage of this call has its record: parallel stages see each other.
  for (const a of actions) {
    if (a.type !== 'StartStage') continue;
    const budgetUSD = stageBudgetUSD(spec, next, a.stage, pool.gpuHourUSD);
    if (budgetUSD !== undefined) a.context = { ...a.context, budgetUSD, ...(stageBudgetStrict(next, a.stage) ? { budgetStrict: true } : {}) };
  }

  const live = liveStages(input.observed);
  const active = next.some((r) => !isFinished(r));
  const unschedulable = live.find((o) => o.unschedulable);

  if (gate === 'Suspended') {
    status.phase = 'Suspended';
    status.reason = 'Suspended';
    status.message = `suspended: no new stage starts until spec.suspend is false${live.length ? `; ${live.length} running stage(s) finish first` : ''}`;
  } else if (gate === 'PoolMissing' && !active) {
    status.phase = 'Pending';
    status.reason = 'PoolMissing';
    status.message = `waiting for AgentPool "${poolName}" to exist in this namespace`;
  } else if (gate === 'Queued' && !active) {
    status.phase = 'Queued';
    status.reason = 'Queued';
    status.message = `queued for AgentPool "${poolName}"${pool.queuePosition ? ` at position ${pool.queuePosition}` : ''}`;
  } else {
    status.phase = step.phase;
    const waits: [string, string][] = [];
    if (unschedulable) waits.push(['Unschedulable', `${unschedulable.name} cannot be scheduled`]);
    if (gpuWait) waits.push(['WaitingForGPU', `the ${gpuWait} stage waits for a GPU`]);
    if (gate) waits.push([gate, gate === 'Queued' ? `waiting for a slot in AgentPool "${poolName}"` : `AgentPool "${poolName}" does not exist`]);
    if (step.retryNote && step.stages.length === 0) waits.push(['RetryBackoff', step.retryNote]);
    status.reason = waits[0]?.[0];
    if (!status.reason) delete status.reason;
    status.message = [step.message, ...waits.map((w) => w[1])].join('; ');
  }
  if (gate === 'Queued' && !status.queuedAt) status.queuedAt = now.toISOString();

  status.conditions = conditionsFor(status, input, gate, gpuWait, unschedulable);
  if (getCondition(status.conditions, 'NeedsInput')?.status === 'True') {
    status.conditions = setCondition(status.conditions, { type: 'NeedsInput', status: 'False', reason: 'Resumed', message: `resumed by a grant of iterations (${input.spec.escalation?.grants?.length ?? 0} so far)` }, input.now, input.generation);
  }

  const deadline = deadlineOf(spec, input.createdAt).toISOString();
  const wake = [deadline, ...(step.retryAt && !gate ? [step.retryAt] : [])].sort()[0] as string;
  actions.push({ type: 'RequeueAt', at: wake });
  return next;
}

function conditionsFor(status: CodingTaskStatus, input: LoopInput, gate: Gate, gpuWait: Role | undefined, unschedulable: ObservedStage | undefined) {
  const { now, generation: g, pool } = input;
  const poolName = input.spec.pool ?? 'default';
  const phase = status.phase as string;
  const message = status.message ?? '';
  let c = status.conditions;
  const progressing = !(gate && ['Suspended', 'Pending', 'Queued'].includes(phase));
  c = setCondition(c, { type: 'Progressing', status: progressing ? 'True' : 'False', reason: progressing ? phase : (status.reason ?? phase), message }, now, g);
  c = setCondition(c, { type: 'Ready', status: 'False', reason: status.reason ?? phase, message }, now, g);
  // A suspended task holds no slot, so its pool standing is not re-evaluated until it resumes.
  if (gate !== 'Suspended') {
    if (!pool.exists) {
      c = setCondition(c, { type: 'PoolReady', status: 'False', reason: 'PoolMissing', message: `AgentPool "${poolName}" does not exist in this namespace` }, now, g);
    } else if (!pool.admitted) {
      const where = pool.queuePosition ? ` at position ${pool.queuePosition}` : '';
      c = setCondition(c, { type: 'PoolReady', status: 'False', reason: 'Queued', message: `AgentPool "${poolName}" is full; queued${where}` }, now, g);
    } else {
      c = setCondition(c, { type: 'PoolReady', status: 'True', reason: 'Admitted', message: `AgentPool "${poolName}" admitted the task` }, now, g);
    }
  }
  if (unschedulable) {
    const why = unschedulable.unschedulableMessage ?? 'the scheduler cannot place it';
    c = setCondition(c, { type: 'Schedulable', status: 'False', reason: 'Unschedulable', message: `${unschedulable.name}: ${why}` }, now, g);
  } else if (gpuWait) {
    c = setCondition(c, { type: 'Schedulable', status: 'False', reason: 'WaitingForGPU', message: `the ${gpuWait} stage waits for a GPU: AgentPool "${poolName}" is at its GPU limit` }, now, g);
  } else if (getCondition(c, 'Schedulable')?.status === 'False') {
    c = setCondition(c, { type: 'Schedulable', status: 'True', reason: 'Scheduled', message: 'every stage is scheduled' }, now, g);
  }
  return c;
}

// A tiny simulated shell for the loop core: it calls decide(), "runs" each StartStage by turning
// it into an observed stage that finishes on the next tick with the next scripted outcome for its
// role, and checks on every call that decide() is idempotent and never starts a stage twice.
import type { CodingTaskSpec, CodingTaskStatus, Role, StageResult } from '../../../operator/src/api/types.js';
import type { Action, LoopInput, LoopOutput, ObservedStage, PoolView, StageContext } from '../../../operator/src/core/types.js';
import { decide } from '../../../operator/src/core/loop.js';
import { isTerminal } from '../../../operator/src/core/status.js';

/** What a scripted stage does: report a result, fail without one, or never finish. */
export type Outcome = StageResult | { failureReason: string; failureMessage?: string; lost?: boolean } | 'hang';

/** Outcomes per role, used in order; the last one repeats. */
export type Script = Partial<Record<Role, Outcome[]>>;

export const T0 = '2030-01-01T00:00:00.000Z';
export const TICK_MS = 60_000;

export function spec(overrides: Partial<CodingTaskSpec> = {}): CodingTaskSpec {
  return {
    pool: 'default',
    goal: 'Implement fizzbuzz(n) in fizzbuzz.py',
    language: 'python',
    limits: { maxIterations: 5, maxCostUSD: '5', timeout: '2h' },
    suspend: false,
    ...overrides,
  };
}

export function pool(overrides: Partial<PoolView> = {}): PoolView {
  return { exists: true, admitted: true, gpuAvailable: () => true, gpuHourUSD: 0.8, maxAttempts: () => 3, ...overrides };
}

const usage = { inputTokens: 1000, outputTokens: 200, costUSD: 0.01 };

export function ok(role: Role, commit: string, extra: Partial<StageResult> = {}): StageResult {
  return { role, outcome: 'Succeeded', commit, summary: `${role} wrote ${commit}`, usage, ...extra };
}

/** A run (or acceptance) result: passes when nothing but flaky tests failed. */
export function ran(passed: number, total: number, failing: string[] = [], flaky: string[] = [], role: Role = 'run'): StageResult {
  return {
    role,
    outcome: failing.length === 0 ? 'Succeeded' : 'Failed',
    commit: 'tested',
    summary: `${passed}/${total} passed`,
    tests: { passed, failed: total - passed, total, failing, ...(flaky.length ? { flaky } : {}) },
  };
}

export function gaveUp(role: Role, reason = 'TurnCap'): StageResult {
  return { role, outcome: 'Failed', summary: `${role} gave up`, reason, usage };
}

export function error(role: Role, reason: string, summary: string): StageResult {
  return { role, outcome: 'Error', summary, reason };
}

export interface World {
  name: string;
  spec: CodingTaskSpec;
  status: CodingTaskStatus;
  observed: ObservedStage[];
  pool: PoolView;
  createdAt: string;
  now: Date;
}

export function world(overrides: Partial<World> = {}): World {
  return { name: 'fizzbuzz', spec: spec(), status: {}, observed: [], pool: pool(), createdAt: T0, now: new Date(T0), ...overrides };
}

export function input(w: World): LoopInput {
  return { name: w.name, generation: 1, spec: w.spec, status: w.status, observed: w.observed, pool: w.pool, createdAt: w.createdAt, now: w.now };
}

export interface Trace {
  phases: string[];
  started: string[];
  contexts: Map<string, StageContext>;
  /** The budget each model stage was started with. */
  budgets: Map<string, number>;
  /** Stages told to check each call's worst case before making it (all but one of a parallel group). */
  strict: string[];
  events: Extract<Action, { type: 'Event' }>[];
  stopped: string[];
  status: CodingTaskStatus;
  calls: number;
}

const startsOf = (o: LoopOutput) => o.actions.filter((a): a is Extract<Action, { type: 'StartStage' }> => a.type === 'StartStage');

/**
 * decide() applied to its own output with the same observations changes nothing and starts
 * nothing new (StartStage of an already recorded, unobserved stage is an idempotent re-create).
 */
export function checkIdempotent(i: LoopInput, out: LoopOutput): void {
  const again = decide({ ...i, status: out.status });
  expect(again.status).toEqual(out.status);
  expect(again.actions.filter((a) => a.type === 'Event')).toEqual([]);
  const recorded = new Set((out.status.stages ?? []).map((s) => s.name));
  for (const s of startsOf(again)) expect(recorded.has(s.name)).toBe(true);
}

/** Runs the loop until it is terminal (or maxCalls), the shell doing what the actions say. */
export function simulate(w: World, script: Script, opts: { maxCalls?: number; onCall?: (w: World, n: number) => void } = {}): Trace {
  const used: Partial<Record<Role, number>> = {};
  const nextOutcome = (role: Role): Outcome => {
    const list = script[role] ?? [];
    const n = used[role] ?? 0;
    used[role] = n + 1;
    const o = list[Math.min(n, list.length - 1)];
    if (!o) throw new Error(`no scripted outcome for role ${role}`);
    return o;
  };
  const pending = new Map<string, Outcome>();
  const trace: Trace = { phases: [], started: [], contexts: new Map(), budgets: new Map(), strict: [], events: [], stopped: [], status: w.status, calls: 0 };
  const maxCalls = opts.maxCalls ?? 200;

  for (let call = 0; call < maxCalls; call++) {
    opts.onCall?.(w, call);
    const i = input(w);
    const out = decide(i);
    trace.calls++;
    checkIdempotent(i, out);
    w.status = out.status;
    if (out.status.phase && trace.phases.at(-1) !== out.status.phase) trace.phases.push(out.status.phase);
    let requeue: string | undefined;
    for (const a of out.actions) {
      if (a.type === 'Event') trace.events.push(a);
      else if (a.type === 'RequeueAt') requeue = a.at;
      else if (a.type === 'StopStage') {
        trace.stopped.push(a.name);
        w.observed = w.observed.map((o) => (o.name === a.name && o.state !== 'Finished' ? { ...o, state: 'Lost', failureReason: 'Stopped' } : o));
      } else {
        if (w.observed.some((o) => o.name === a.name)) throw new Error(`${a.name} started twice`);
        trace.started.push(a.name);
        // Budgets are their own subject (budgets in the trace); contexts hold the rest.
        const { budgetUSD, budgetStrict, ...context } = a.context;
        trace.contexts.set(a.name, context);
        if (budgetUSD !== undefined) trace.budgets.set(a.name, budgetUSD);
        if (budgetStrict) trace.strict.push(a.name);
        pending.set(a.name, nextOutcome(a.stage.role));
        w.observed.push({ ...a.stage, name: a.name, state: 'Running', startTime: w.now.toISOString() });
      }
    }
    if (isTerminal(w.status)) break;

    const running = w.observed.filter((o) => o.state === 'Running');
    const finishable = running.filter((o) => pending.get(o.name) !== 'hang');
    if (finishable.length === 0) {
      // Nothing finishes by itself: move towards the requeue time, as the shell's timer would,
      // one tick at most so that onCall hooks (spec edits) still see a clock that moves slowly.
      if (!requeue) break;
      w.now = new Date(w.now.getTime() + Math.max(1, Math.min(Date.parse(requeue) - w.now.getTime(), TICK_MS)));
      continue;
    }
    w.now = new Date(w.now.getTime() + TICK_MS);
    const finishTime = w.now.toISOString();
    w.observed = w.observed.map((o) => {
      const outcome = pending.get(o.name);
      if (o.state !== 'Running' || outcome === undefined || outcome === 'hang') return o;
      const gpuSeconds = o.role === 'run' || o.role === 'acceptance' ? TICK_MS / 1000 : undefined;
      const base = { ...o, finishTime, ...(gpuSeconds ? { gpuSeconds } : {}) };
      if ('outcome' in outcome) return { ...base, state: 'Finished', result: outcome };
      return { ...base, state: outcome.lost ? 'Lost' : 'Finished', failureReason: outcome.failureReason, failureMessage: outcome.failureMessage };
    });
  }
  trace.status = w.status;
  return trace;
}

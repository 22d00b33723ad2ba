// The one scenario table both tiers are held to (cluster.test.ts: the operator on a real apiserver;
// local.test.ts: `autorun run`). Each scenario says what its tasks are, what every stage's agent
// answers (the StageResult it writes, or a crash), what a person does meanwhile (through the Tier
// either shell offers: apply, suspend, resume), and what must come out: the phases each task went
// through, its final reason, its stages and its cost. The same expectations for both tiers, so a
// drift between the shells fails one of the two suites.
import type { CodingTaskStatus, Role, StageResult } from '../../operator/src/api/types.js';

export interface Stage {
  task: string;
  role: Role;
  iteration: number;
  attempt: number;
}

export type Ending =
  /** until: the agent finishes no sooner than this settles (a stage a person acts on meanwhile). */
  | { result: StageResult; until?: Promise<unknown> }
  /** The agent exits with this code without a result. */
  | { crash: number };

export interface TaskDef {
  name: string;
  priority?: number;
  maxIterations?: number;
  maxCostUSD?: string;
  /** Hidden acceptance tests (a ConfigMap <name>-acceptance in both tiers). */
  acceptance?: boolean;
}

/** What a person (or a test) can do to either tier. */
export interface Tier {
  /** Applies these tasks (the cluster: creates them; the local tier: `autorun run` with them and all earlier ones). */
  apply(tasks: TaskDef[]): Promise<void>;
  setSuspend(task: string, suspend: boolean): Promise<void>;
  /** The task's status as the tier records it now. */
  status(task: string): Promise<CodingTaskStatus>;
}

/** A stage that waits for the test: open() lets it finish. */
export class Gate {
  open!: () => void;
  readonly promise = new Promise<void>((r) => (this.open = r));
}

export interface Expected {
  /** Every phase the task was seen in, in order, repeats collapsed. */
  phases: string[];
  reason: string;
  /** role/iteration/attempt:state of status.stages, in order. */
  stages: string[];
  costUSD: number;
  freshStarts?: number;
  flaky?: string[];
}

export interface Scenario {
  name: string;
  maxConcurrentTasks?: number;
  /** Tasks applied at the start. */
  tasks: TaskDef[];
  script: (s: Stage) => Ending;
  /** What a person does while it runs; resolves when nothing more is to be done. */
  drive?: (tier: Tier) => Promise<void>;
  expect: Record<string, Expected>;
  /** Tasks by the time their work started (status.startTime), earliest first. */
  startOrder?: string[];
}

export const COST = 0.01;
const usage = (costUSD = COST) => ({ inputTokens: 1200, outputTokens: 300, costUSD });

/** What an agent of each role writes when everything goes well. */
export function success(s: Stage, costUSD = COST): StageResult {
  const commit = `${s.role}${s.iteration}${s.attempt}`.padEnd(12, '0');
  switch (s.role) {
    case 'code':
    case 'test':
    case 'repair':
      return { role: s.role, outcome: 'Succeeded', commit, summary: `${s.role} agent committed ${commit}`, usage: usage(costUSD) };
    case 'run':
    case 'acceptance':
      return { role: s.role, outcome: 'Succeeded', commit, summary: '10 passed', tests: { passed: 10, failed: 0, total: 10, failing: [] } };
    case 'publish':
      return { role: 'publish', outcome: 'Succeeded', summary: 'opened pull request #1', pullRequestURL: 'https://github.com/example/repo/pull/1' };
  }
}

export function failing(s: Stage, names: string[], flaky: string[] = []): StageResult {
  return {
    role: s.role,
    outcome: names.length ? 'Failed' : 'Succeeded',
    commit: `run${s.iteration}`.padEnd(12, '0'),
    summary: `${names.length} failed, ${10 - names.length} passed`,
    tests: { passed: 10 - names.length, failed: names.length, total: 10, failing: names, ...(flaky.length ? { flaky } : {}) },
  };
}

/** Waits until cond() holds, polling; for what a tier shows (no count of polls is asserted). */
export async function until<T>(what: string, cond: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const phase = (tier: Tier, task: string, want: string) => until(`${task} ${want}`, async () => (await tier.status(task)).phase === want);

const ok = (s: Stage): Ending => ({ result: success(s) });

// Two stages of one iteration each cost COST (code and test), a repair COST.
const suspendGate = new Gate();
const queueGate = new Gate();

export const SCENARIOS: Scenario[] = [
  {
    name: 'pass first time',
    tasks: [{ name: 'pass' }],
    script: ok,
    expect: {
      pass: { phases: ['Coding', 'Running', 'Succeeded'], reason: 'TestsPassed', stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Succeeded'], costUSD: 2 * COST },
    },
  },
  {
    name: 'repair',
    tasks: [{ name: 'repair' }],
    script: (s) => (s.role === 'run' && s.iteration === 1 ? { result: failing(s, ['test_fizz', 'test_buzz']) } : ok(s)),
    expect: {
      repair: {
        phases: ['Coding', 'Running', 'Repairing', 'Running', 'Succeeded'],
        reason: 'TestsPassed',
        stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Failed', 'repair/2/0:Succeeded', 'run/2/0:Succeeded'],
        costUSD: 3 * COST,
      },
    },
  },
  {
    name: 'stall, then a fresh start',
    tasks: [{ name: 'stall', maxIterations: 20 }],
    // The same test fails whatever is done: the first repair without progress brings the fresh
    // start, and two more in a row after it end the task.
    script: (s) => (s.role === 'run' ? { result: failing(s, ['test_same']) } : ok(s)),
    expect: {
      stall: {
        phases: ['Coding', 'Running', 'Repairing', 'Running', 'Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Failed'],
        reason: 'Stalled',
        stages: [
          'code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Failed',
          'repair/2/0:Succeeded', 'run/2/0:Failed',
          'code/3/0:Succeeded', 'run/3/0:Failed',
          'repair/4/0:Succeeded', 'run/4/0:Failed',
          'repair/5/0:Succeeded', 'run/5/0:Failed',
        ],
        costUSD: 6 * COST,
        freshStarts: 1,
      },
    },
  },
  {
    name: 'flaky tests pass and are recorded',
    tasks: [{ name: 'flaky' }],
    script: (s) => (s.role === 'run' ? { result: failing(s, ['test_clock'], ['test_clock']) } : ok(s)),
    expect: {
      // The run's outcome is Failed (a test failed once); its only failure passed on the re-run, so it counts as a pass.
      flaky: { phases: ['Coding', 'Running', 'Succeeded'], reason: 'TestsPassed', stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Failed'], costUSD: 2 * COST, flaky: ['test_clock'] },
    },
  },
  {
    name: 'cost cap',
    tasks: [{ name: 'costly', maxCostUSD: '0.05' }],
    // Each model stage spends $0.03: code and test together pass the $0.05 cap.
    script: (s) => (s.role === 'run' ? { result: failing(s, ['test_fizz']) } : { result: success(s, 0.03) }),
    expect: {
      costly: { phases: ['Coding', 'Failed'], reason: 'CostLimit', stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded'], costUSD: 0.06 },
    },
  },
  {
    name: 'hidden acceptance tests fail once, then pass',
    tasks: [{ name: 'accept', acceptance: true }],
    script: (s) => (s.role === 'acceptance' && s.iteration === 1 ? { result: failing(s, ['test_hidden']) } : ok(s)),
    expect: {
      accept: {
        phases: ['Coding', 'Running', 'Accepting', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
        reason: 'AcceptancePassed',
        stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Succeeded', 'acceptance/1/0:Failed', 'repair/2/0:Succeeded', 'run/2/0:Succeeded', 'acceptance/2/0:Succeeded'],
        costUSD: 3 * COST,
      },
    },
  },
  {
    name: 'own tests still fail at maxIterations: the acceptance tests have the last word and overrule them',
    tasks: [{ name: 'overrule', acceptance: true, maxIterations: 2 }],
    script: (s) => (s.role === 'run' ? { result: failing(s, ['test_wrong']) } : ok(s)),
    expect: {
      overrule: {
        phases: ['Coding', 'Running', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
        reason: 'OwnTestsOverruled',
        stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Failed', 'repair/2/0:Succeeded', 'run/2/0:Failed', 'acceptance/2/0:Succeeded'],
        costUSD: 3 * COST,
      },
    },
  },
  {
    name: 'a repair that flags the failing test defends the code: no fresh start, the acceptance tests judge that code',
    tasks: [{ name: 'defend', acceptance: true, maxIterations: 3 }],
    script: (s) =>
      s.role === 'run' ? { result: failing(s, ['test_wrong']) } : s.role === 'repair' ? { result: { ...success(s), flaggedTests: ['test_wrong'] } } : ok(s),
    expect: {
      defend: {
        phases: ['Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
        reason: 'OwnTestsOverruled',
        stages: [
          'code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Failed',
          'repair/2/0:Succeeded', 'test/2/0:Succeeded', 'run/2/0:Failed',
          'repair/3/0:Succeeded', 'test/3/0:Succeeded', 'run/3/0:Failed',
          'acceptance/3/0:Succeeded',
        ],
        costUSD: 6 * COST,
      },
    },
  },
  {
    name: 'suspend while the code agent works, then resume',
    tasks: [{ name: 'pause' }],
    script: (s) => (s.role === 'code' && s.iteration === 1 ? { result: success(s), until: suspendGate.promise } : ok(s)),
    drive: async (tier) => {
      await phase(tier, 'pause', 'Coding');
      await tier.setSuspend('pause', true);
      await phase(tier, 'pause', 'Suspended');
      // Suspending stops nothing: the running code stage finishes and is recorded, nothing new starts.
      suspendGate.open();
      await until('the code stage recorded', async () => (await tier.status('pause')).stages?.some((r) => r.role === 'code' && r.state === 'Succeeded'));
      await tier.setSuspend('pause', false);
    },
    expect: {
      pause: { phases: ['Coding', 'Suspended', 'Running', 'Succeeded'], reason: 'TestsPassed', stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Succeeded'], costUSD: 2 * COST },
    },
  },
  {
    name: 'priority first, then first come first served',
    maxConcurrentTasks: 1,
    tasks: [{ name: 'holder' }, { name: 'early' }],
    script: (s) => (s.task === 'holder' && s.role === 'code' ? { result: success(s), until: queueGate.promise } : ok(s)),
    drive: async (tier) => {
      await phase(tier, 'holder', 'Coding');
      const queued = await until('early queued', async () => (await tier.status('early')).queuedAt);
      // The later tasks join the queue more than a second after `early` (not at once: the local tier
      // used to compare queue times to the second), one of them with a higher priority.
      const after = Date.parse(queued) + 1100 - Date.now();
      if (after > 0) await new Promise((r) => setTimeout(r, after));
      await tier.apply([{ name: 'urgent', priority: 10 }, { name: 'late' }]);
      await phase(tier, 'urgent', 'Queued');
      await phase(tier, 'late', 'Queued');
      queueGate.open();
    },
    expect: Object.fromEntries(
      ['holder', 'early', 'urgent', 'late'].map((n) => [
        n,
        { phases: n === 'holder' ? ['Coding', 'Running', 'Succeeded'] : ['Queued', 'Coding', 'Running', 'Succeeded'], reason: 'TestsPassed', stages: ['code/1/0:Succeeded', 'test/1/0:Succeeded', 'run/1/0:Succeeded'], costUSD: 2 * COST },
      ]),
    ),
    startOrder: ['holder', 'urgent', 'early', 'late'],
  },
];

export interface Trace {
  phases: string[];
  status: CodingTaskStatus;
}

/** Adds a phase to a trace unless it repeats the last one. */
export function seen(phases: string[], phase: string | undefined): void {
  if (phase && phases.at(-1) !== phase) phases.push(phase);
}

/** The trace of a task as the scenario's expectations read it. */
export function observed(t: Trace): Expected {
  const s = t.status;
  const out: Expected = {
    phases: t.phases,
    reason: s.reason ?? '',
    stages: (s.stages ?? []).map((r) => `${r.role}/${r.iteration}/${r.attempt}:${r.state}`),
    costUSD: Math.round(Number(s.cost?.totalUSD ?? 0) * 10_000) / 10_000,
  };
  if (s.freshStarts) out.freshStarts = s.freshStarts;
  if (s.tests?.flaky?.length) out.flaky = s.tests.flaky;
  return out;
}

/** Tasks by status.startTime, earliest first. */
export function startOrder(statuses: Record<string, CodingTaskStatus>): string[] {
  return Object.entries(statuses)
    .sort(([, a], [, b]) => Date.parse(a.startTime ?? '') - Date.parse(b.startTime ?? ''))
    .map(([n]) => n);
}

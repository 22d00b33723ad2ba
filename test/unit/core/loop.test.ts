// Scenario tests of the loop core: the simulated shell in driver.ts runs each task to its end and
// checks, on every call, that decide() is idempotent and starts no stage twice.
import { ok, ran, gaveUp, error, simulate, spec, world, pool, type Script } from './driver.js';
import type { CodingTaskSpec } from '../../../operator/src/api/types.js';
import type { PoolView } from '../../../operator/src/core/types.js';

const acceptance = { acceptance: { configMapRef: { name: 'fizzbuzz-acceptance' } } };
const coded: Script = { code: [ok('code', 'c1')], test: [ok('test', 't1')] };
const names = (...s: string[]) => s.map((x) => `fizzbuzz-${x}`);

interface Scenario {
  name: string;
  spec?: Partial<CodingTaskSpec>;
  pool?: Partial<PoolView>;
  script: Script;
  phases: string[];
  reason: string;
  started?: string[];
  iteration?: number;
}

const scenarios: Scenario[] = [
  {
    name: 'passes the first time',
    script: { ...coded, run: [ran(10, 10)] },
    phases: ['Coding', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0'),
    iteration: 1,
  },
  {
    name: 'fails, is repaired, passes',
    script: { ...coded, run: [ran(9, 10, ['test_fizz']), ran(10, 10)], repair: [ok('repair', 'r1')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0'),
    iteration: 2,
  },
  {
    name: 'only flaky failures count as a pass',
    script: { ...coded, run: [ran(9, 10, ['test_clock'], ['test_clock'])] },
    phases: ['Coding', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    iteration: 1,
  },
  {
    name: 'a flaky test beside a real failure is not repaired, the real one is',
    script: { ...coded, run: [ran(8, 10, ['test_clock', 'test_fizz'], ['test_clock']), ran(10, 10)], repair: [ok('repair', 'r1')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
  },
  {
    name: 'acceptance passes',
    spec: { test: acceptance },
    script: { ...coded, run: [ran(10, 10)], acceptance: [ran(5, 5, [], [], 'acceptance')] },
    phases: ['Coding', 'Running', 'Accepting', 'Succeeded'],
    reason: 'AcceptancePassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i1-acceptance-a0'),
  },
  {
    name: 'acceptance fails, is repaired, passes',
    spec: { test: acceptance },
    script: {
      ...coded,
      run: [ran(10, 10)],
      acceptance: [ran(4, 5, ['hidden_15'], [], 'acceptance'), ran(5, 5, [], [], 'acceptance')],
      repair: [ok('repair', 'r1')],
    },
    phases: ['Coding', 'Running', 'Accepting', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
    reason: 'AcceptancePassed',
    iteration: 2,
  },
  {
    name: 'stalls, starts fresh once, stalls again',
    spec: { limits: { maxIterations: 10 } },
    script: { ...coded, run: [ran(7, 10, ['a', 'b', 'c'])], repair: [ok('repair', 'r')] },
    // The first repair without progress is followed by a fresh start; after it, two in a row end the task.
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Failed'],
    reason: 'Stalled',
    started: names(
      'i1-code-a0', 'i1-test-a0', 'i1-run-a0',
      'i2-repair-a0', 'i2-run-a0',
      'i3-code-a0', 'i3-run-a0',
      'i4-repair-a0', 'i4-run-a0',
      'i5-repair-a0', 'i5-run-a0',
    ),
    iteration: 5,
  },
  {
    name: 'a repair agent that gives up counts as a round without progress',
    spec: { limits: { maxIterations: 10 } },
    script: { ...coded, run: [ran(7, 10, ['a', 'b', 'c'])], repair: [gaveUp('repair')] },
    phases: ['Coding', 'Running', 'Repairing', 'Coding', 'Running', 'Repairing', 'Failed'],
    reason: 'Stalled',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i3-code-a0', 'i3-run-a0', 'i4-repair-a0', 'i5-repair-a0'),
  },
  {
    name: 'progress every round until maxIterations',
    spec: { limits: { maxIterations: 3 } },
    script: { ...coded, run: [ran(5, 10, ['a', 'b', 'c', 'd', 'e']), ran(6, 10, ['a', 'b', 'c', 'd']), ran(7, 10, ['a', 'b', 'c'])], repair: [ok('repair', 'r')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Failed'],
    reason: 'MaxIterations',
    iteration: 3,
  },
  {
    name: 'cost cap',
    // code+test $0.02, each run 60 GPU-seconds at $0.80/h ≈ $0.0133, each repair $0.01.
    spec: { limits: { maxCostUSD: '0.05' } },
    script: { ...coded, run: [ran(5, 10, ['a', 'b', 'c', 'd', 'e']), ran(6, 10, ['a', 'b', 'c', 'd'])], repair: [ok('repair', 'r')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Failed'],
    reason: 'CostLimit',
    iteration: 2,
  },
  {
    name: 'timeout while agents hang',
    spec: { limits: { timeout: '3m' } },
    script: { code: ['hang'], test: ['hang'] },
    phases: ['Coding', 'Failed'],
    reason: 'Timeout',
  },
  {
    name: 'run Pod OOMKilled on every attempt',
    script: { ...coded, run: [{ failureReason: 'OOMKilled', failureMessage: 'container exceeded 2Gi' }] },
    phases: ['Coding', 'Running', 'Failed'],
    reason: 'OOMKilled',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i1-run-a1', 'i1-run-a2'),
  },
  {
    name: 'a lost run stage is retried and then passes',
    script: { ...coded, run: [{ failureReason: 'NodeLost', lost: true }, ran(10, 10)] },
    phases: ['Coding', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i1-run-a1'),
  },
  {
    name: 'the model rejects the credentials',
    script: { code: [error('code', 'Unauthorized', 'the model endpoint answered 401')], test: ['hang'] },
    phases: ['Coding', 'Failed'],
    reason: 'StageError',
    started: names('i1-code-a0', 'i1-test-a0'),
  },
  {
    name: 'a model outage outlasting the agent\'s retry window: the stage is retried past maxAttempts, then passes',
    pool: { maxAttempts: () => 2 },
    script: {
      code: [error('code', 'ModelUnavailable', 'the model API was unavailable for the whole retry window'), error('code', 'ModelUnavailable', 'still 529'), error('code', 'ModelUnavailable', 'still 529'), ok('code', 'c1')],
      test: [ok('test', 't1')],
      run: [ran(10, 10)],
    },
    phases: ['Coding', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-code-a1', 'i1-code-a2', 'i1-code-a3', 'i1-run-a0'),
  },
  {
    name: 'a model outage that never ends: the task ends at its timeout, not with StageError',
    spec: { limits: { maxIterations: 5, maxCostUSD: '5', timeout: '30m' } },
    script: { code: [error('code', 'ModelUnavailable', 'the model API was unavailable for the whole retry window')], test: [ok('test', 't1')] },
    phases: ['Coding', 'Failed'],
    reason: 'Timeout',
  },
  {
    name: 'the code agent gives up on every attempt',
    pool: { maxAttempts: () => 2 },
    script: { code: [gaveUp('code')], test: [ok('test', 't1')] },
    phases: ['Coding', 'Failed'],
    reason: 'AgentFailed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-code-a1'),
  },
  {
    name: 'own tests still fail at maxIterations, the acceptance tests pass on the last code: the task succeeds, overruled',
    spec: { test: acceptance, limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } },
    script: { ...coded, run: [ran(9, 10, ['test_wrong'])], repair: [ok('repair', 'r1')], acceptance: [ran(5, 5, [], [], 'acceptance')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
    reason: 'OwnTestsOverruled',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0', 'i2-acceptance-a0'),
    iteration: 2,
  },
  {
    name: 'own tests still fail at maxIterations and so do the acceptance tests: MaxIterations',
    spec: { test: acceptance, limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } },
    script: { ...coded, run: [ran(9, 10, ['test_wrong'])], repair: [ok('repair', 'r1')], acceptance: [ran(3, 5, ['hidden_a', 'hidden_b'], [], 'acceptance')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Accepting', 'Failed'],
    reason: 'MaxIterations',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0', 'i2-acceptance-a0'),
  },
  {
    name: 'stalled after a fresh start, the acceptance tests pass on the last code: overruled',
    spec: { test: acceptance, limits: { maxIterations: 10 } },
    script: { ...coded, run: [ran(7, 10, ['a', 'b', 'c'])], repair: [ok('repair', 'r')], acceptance: [ran(5, 5, [], [], 'acceptance')] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
    reason: 'OwnTestsOverruled',
    iteration: 5,
  },
  {
    name: 'repair flags a wrong test and the test agent revises it',
    script: {
      code: [ok('code', 'c1')],
      test: [ok('test', 't1'), ok('test', 't2')],
      run: [ran(9, 10, ['test_bad']), ran(10, 10)],
      repair: [ok('repair', 'r1', { flaggedTests: ['test_bad'] })],
    },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-test-a0', 'i2-run-a0'),
  },
  {
    name: 'a repair that defends the code (flags the tests) gets no fresh start after one round: the code stays for the last word',
    spec: { test: acceptance, limits: { maxIterations: 3 } },
    script: {
      code: [ok('code', 'c1')],
      test: [ok('test', 't1'), ok('test', 't2'), ok('test', 't3')],
      run: [ran(9, 10, ['test_bad'])],
      repair: [ok('repair', 'c1', { flaggedTests: ['test_bad'] })],
      acceptance: [ran(5, 5, [], [], 'acceptance')],
    },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Repairing', 'Running', 'Accepting', 'Succeeded'],
    reason: 'OwnTestsOverruled',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-test-a0', 'i2-run-a0', 'i3-repair-a0', 'i3-test-a0', 'i3-run-a0', 'i3-acceptance-a0'),
  },
  {
    name: 'repair may edit tests: no test revision stage',
    spec: { test: { allowRepairToEditTests: true } },
    script: { ...coded, run: [ran(9, 10, ['test_bad']), ran(10, 10)], repair: [ok('repair', 'r1', { flaggedTests: ['test_bad'] })] },
    phases: ['Coding', 'Running', 'Repairing', 'Running', 'Succeeded'],
    reason: 'TestsPassed',
    started: names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0'),
  },
];

describe('decide() scenarios', () => {
  test.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const w = world({ spec: spec(s.spec), pool: pool(s.pool) });
    const t = simulate(w, s.script);
    expect(t.phases).toEqual(s.phases);
    expect(t.status.reason).toBe(s.reason);
    if (s.started) expect(t.started).toEqual(s.started);
    if (s.iteration !== undefined) expect(t.status.iteration).toBe(s.iteration);
    // Every stage ever started is recorded exactly once, finished, in start order per iteration.
    const recorded = (t.status.stages ?? []).map((r) => r.name);
    expect([...recorded].sort()).toEqual([...t.started].sort());
    expect(t.status.stages?.every((r) => ['Succeeded', 'Failed', 'Error'].includes(r.state ?? ''))).toBe(true);
    expect(t.status.completionTime).toBeDefined();
    const terminalEvents = t.events.filter((e) => e.reason === s.reason || e.reason === 'Succeeded');
    expect(terminalEvents).toHaveLength(1);
  });
});

describe('decide() scenario details', () => {
  test('the cost cap holds for the task: code ∥ test split what is left, a retry draws on its own share, repair gets the rest', () => {
    const spend = (role: 'code' | 'test' | 'repair', costUSD: number, extra = {}) => ({ ...ok(role, `${role}1`), usage: { inputTokens: 1, outputTokens: 1, costUSD }, ...extra });
    const t = simulate(world({ spec: spec({ limits: { maxIterations: 5, maxCostUSD: '1', timeout: '2h' } }), pool: pool({ gpuHourUSD: 0 }) }), {
      code: [{ ...gaveUp('code'), usage: { inputTokens: 1, outputTokens: 1, costUSD: 0.2 } }, spend('code', 0.1)],
      test: [spend('test', 0.3)],
      run: [ran(8, 10, ['a', 'b']), ran(10, 10)],
      repair: [spend('repair', 0.05)],
    });
    expect(t.status.phase).toBe('Succeeded');
    expect(Object.fromEntries(t.budgets)).toEqual({
      'fizzbuzz-i1-code-a0': 0.5,
      'fizzbuzz-i1-test-a0': 0.5,
      // Its first attempt spent 0.2 of the code stage's half.
      'fizzbuzz-i1-code-a1': 0.3,
      // What all stages before it left: 1 - 0.2 - 0.1 - 0.3.
      'fizzbuzz-i2-repair-a0': 0.4,
    });
    // Stages live at once never hold more than the cap between them.
    expect(t.budgets.get('fizzbuzz-i1-code-a0')! + t.budgets.get('fizzbuzz-i1-test-a0')!).toBeLessThanOrEqual(1);
    expect(t.budgets.has('fizzbuzz-i1-run-a0')).toBe(false);
    // Of code ∥ test only code may pass its share (by the one call that takes it over); test's
    // attempts check each call's worst case first, so together they pass the cap by one call at
    // most. A stage alone (the repair) has the whole rest and is lenient.
    expect(t.strict).toEqual(['fizzbuzz-i1-test-a0']);
  });

  test('a hung test run: repair is told the tests hung and which test; the task\'s end says so', () => {
    const hung = { ...ran(2, 3, []), outcome: 'Failed' as const, reason: 'TestTimeout', summary: 'tests hung: killed after 5s', hungTest: 'tests/test_x.py::test_waits' };
    const t = simulate(world({ spec: spec({ limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } }) }), { ...coded, run: [hung], repair: [ok('repair', 'r1')] });
    expect(t.contexts.get('fizzbuzz-i2-repair-a0')).toEqual({ codeRef: 'c1', testsRef: 't1', testsHung: { test: 'tests/test_x.py::test_waits' } });
    expect(t.phases).toContain('Repairing');
    expect(t.status.reason).toBe('MaxIterations');
    expect(t.status.message).toBe('iteration 3 would exceed spec.limits.maxIterations (2); the tests still hang: the tests hung: tests/test_x.py::test_waits was killed at spec.test.timeoutSeconds');
    expect(t.status.message).not.toMatch(/0 tests/);
  });

  test('overruled: the acceptance tests judge the latest code and tests, the success names the own failures and warns', () => {
    const t = simulate(world({ spec: spec({ test: acceptance, limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } }) }), {
      ...coded,
      run: [ran(9, 10, ['test_wrong'])],
      repair: [ok('repair', 'r1')],
      acceptance: [{ ...ran(5, 5, [], [], 'acceptance'), commit: 'm1' }],
    });
    expect(t.contexts.get('fizzbuzz-i2-acceptance-a0')).toEqual({ codeRef: 'r1', testsRef: 't1' });
    expect(t.status.message).toBe("acceptance tests passed (5/5) in iteration 2 while 1 of the agents' own tests still failed (test_wrong): the task author's tests overrule them");
    expect(t.status.result?.commit).toBe('m1');
    expect(t.events.filter((e) => e.reason === 'OwnTestsOverruled').map((e) => e.kind)).toEqual(['Warning']);
  });

  test('a failed last word: the task fails with its own reason and says the acceptance tests failed too', () => {
    const t = simulate(world({ spec: spec({ test: acceptance, limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } }) }), {
      ...coded,
      run: [ran(9, 10, ['test_wrong'])],
      repair: [ok('repair', 'r1')],
      acceptance: [ran(3, 5, ['hidden_a', 'hidden_b'], [], 'acceptance')],
    });
    expect(t.status.message).toBe('iteration 3 would exceed spec.limits.maxIterations (2); 1 test still failing; the acceptance tests fail on that code too (3/5 passed)');
    expect(t.status.message).not.toContain('hidden_');
  });

  test('after hidden acceptance tests fail, repair learns how many and the author\'s hint, never their names', () => {
    const hint = 'negative inputs are part of the goal';
    const t = simulate(world({ spec: spec({ test: { acceptance: { configMapRef: { name: 'fizzbuzz-acceptance' }, hint } } }) }), {
      ...coded,
      run: [ran(10, 10)],
      acceptance: [ran(3, 5, ['test_hidden_a', 'test_hidden_b'], [], 'acceptance'), ran(5, 5, [], [], 'acceptance')],
      repair: [ok('repair', 'r1')],
    });
    expect(t.status.phase).toBe('Succeeded');
    const repair = t.contexts.get('fizzbuzz-i2-repair-a0');
    expect(repair).toEqual({ codeRef: 'c1', testsRef: 't1', hiddenFailures: { failed: 2, hint } });
    expect(JSON.stringify([...t.contexts.values()])).not.toContain('test_hidden');
    expect(t.status.message).not.toContain('test_hidden');
  });

  test('the first round works from the goal alone; run and repair get refs, failures and history', () => {
    const t = simulate(world(), { ...coded, run: [ran(8, 10, ['a', 'b']), ran(9, 10, ['b']), ran(10, 10)], repair: [ok('repair', 'r1'), ok('repair', 'r2')] });
    const ctx = (n: string) => t.contexts.get(`fizzbuzz-${n}`);
    expect(ctx('i1-code-a0')).toEqual({});
    expect(ctx('i1-test-a0')).toEqual({});
    expect(ctx('i1-run-a0')).toEqual({ codeRef: 'c1', testsRef: 't1' });
    expect(ctx('i2-repair-a0')).toEqual({ codeRef: 'c1', testsRef: 't1', failing: ['a', 'b'] });
    expect(ctx('i2-run-a0')).toEqual({ codeRef: 'r1', testsRef: 't1' });
    expect(ctx('i3-repair-a0')).toEqual({ codeRef: 'r1', testsRef: 't1', failing: ['b'], previousAttempts: ['repair wrote r1'] });
    expect(t.status.result).toEqual({ branch: 'autorun/fizzbuzz', commit: 'tested' });
    expect(t.status.tests).toEqual({ passed: 10, failed: 0, total: 10, failing: [], summary: '10/10' });
  });

  test('a fresh start rewrites the code from the goal and the tests, once', () => {
    const t = simulate(world({ spec: spec({ limits: { maxIterations: 10 } }) }), { ...coded, run: [ran(7, 10, ['a', 'b', 'c'])], repair: [ok('repair', 'r')] });
    expect(t.contexts.get('fizzbuzz-i3-code-a0')).toEqual({ freshStart: true, testsRef: 't1' });
    expect(t.status.freshStarts).toBe(1);
    expect(t.events.filter((e) => e.reason === 'FreshStart')).toHaveLength(1);
    // The fresh chain's repairs do not inherit the abandoned chain's attempts.
    expect(t.contexts.get('fizzbuzz-i4-repair-a0')?.previousAttempts).toBeUndefined();
    expect(t.status.message).toMatch(/after a fresh start/);
  });

  test('flaky tests are recorded with one event and not repaired', () => {
    const t = simulate(world(), { ...coded, run: [ran(9, 10, ['test_clock'], ['test_clock'])] });
    expect(t.status.tests).toEqual({ passed: 10, failed: 0, total: 10, failing: [], flaky: ['test_clock'], summary: '10/10' });
    expect(t.events.filter((e) => e.reason === 'FlakyTests')).toEqual([expect.objectContaining({ message: expect.stringContaining('test_clock') })]);
    expect(t.started.some((n) => n.includes('repair'))).toBe(false);
  });

  test('acceptance failures go to repair as a count, without the hidden names', () => {
    const t = simulate(world({ spec: spec({ test: acceptance }) }), {
      ...coded,
      run: [ran(10, 10)],
      acceptance: [ran(4, 5, ['hidden_15'], [], 'acceptance'), ran(5, 5, [], [], 'acceptance')],
      repair: [ok('repair', 'r1')],
    });
    expect(t.contexts.get('fizzbuzz-i2-repair-a0')).toEqual({ codeRef: 'c1', testsRef: 't1', hiddenFailures: { failed: 1 } });
    expect(t.contexts.get('fizzbuzz-i2-acceptance-a0')).toEqual({ codeRef: 'r1', testsRef: 't1' });
  });

  test('the flagged test goes to the test agent, and the run uses the revised tests', () => {
    const t = simulate(world(), {
      code: [ok('code', 'c1')],
      test: [ok('test', 't1'), ok('test', 't2')],
      run: [ran(9, 10, ['test_bad']), ran(10, 10)],
      repair: [ok('repair', 'r1', { flaggedTests: ['test_bad'] })],
    });
    expect(t.contexts.get('fizzbuzz-i2-test-a0')).toEqual({ testsRef: 't1', flaggedTests: ['test_bad'] });
    expect(t.contexts.get('fizzbuzz-i2-run-a0')).toEqual({ codeRef: 'r1', testsRef: 't2' });
  });

  test('cost sums model dollars and GPU time', () => {
    const t = simulate(world(), { ...coded, run: [ran(10, 10)] });
    // code + test $0.01 each; run held one GPU for 60 s at $0.80/h.
    expect(t.status.cost).toEqual({ llmUSD: '0.0200', gpuSeconds: 60, totalUSD: '0.0333', summary: '$0.03' });
    expect(t.status.stages?.find((s) => s.role === 'code')).toMatchObject({ costUSD: '0.010000', inputTokens: 1000, outputTokens: 200 });
  });

  test('the cost cap stops the task before the next stage starts', () => {
    const t = simulate(world({ spec: spec({ limits: { maxCostUSD: '0.05' } }) }), {
      ...coded,
      run: [ran(5, 10, ['a', 'b', 'c', 'd', 'e']), ran(6, 10, ['a', 'b', 'c', 'd'])],
      repair: [ok('repair', 'r')],
    });
    expect(Number(t.status.cost?.totalUSD)).toBeGreaterThanOrEqual(0.05);
    expect(t.started).not.toContain('fizzbuzz-i3-repair-a0');
    expect(t.status.conditions).toContainEqual(expect.objectContaining({ type: 'Failed', status: 'True', reason: 'CostLimit' }));
  });

  test('retries back off 10 s × 2^attempt from the failed attempt and fail with the Pod reason', () => {
    const t = simulate(world(), { ...coded, run: [{ failureReason: 'OOMKilled', failureMessage: 'container exceeded 2Gi' }] });
    const rec = (n: string) => t.status.stages?.find((s) => s.name === `fizzbuzz-i1-run-a${n}`);
    const gap = (a: string, b: string) => (Date.parse(rec(b)?.startTime ?? '') - Date.parse(rec(a)?.completionTime ?? '')) / 1000;
    expect(gap('0', '1')).toBe(10);
    expect(gap('1', '2')).toBe(20);
    expect(rec('2')).toMatchObject({ state: 'Error', reason: 'OOMKilled', summary: 'container exceeded 2Gi' });
    expect(t.status.message).toContain('fizzbuzz-i1-run-a2');
    expect(t.status.message).toContain('3 attempts');
  });

  test('an agent error fails at once, names the reason and stops the other stage', () => {
    const t = simulate(world(), { code: [error('code', 'Unauthorized', 'the model endpoint answered 401')], test: ['hang'] });
    expect(t.status.message).toContain('Unauthorized');
    expect(t.status.message).toContain('401');
    expect(t.stopped).toEqual(['fizzbuzz-i1-test-a0']);
    expect(t.status.stages?.find((s) => s.role === 'test')).toMatchObject({ state: 'Error', reason: 'Stopped' });
  });

  test('a timeout stops the live stages at the deadline', () => {
    const t = simulate(world({ spec: spec({ limits: { timeout: '3m' } }) }), { code: ['hang'], test: ['hang'] });
    expect(t.status.completionTime).toBe('2030-01-01T00:03:00.000Z');
    expect(t.stopped.sort()).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
  });

  test('suspend midway: running stages finish, nothing new starts, resume continues', () => {
    const t = simulate(world(), { ...coded, run: [ran(9, 10, ['a']), ran(10, 10)], repair: [ok('repair', 'r1')] }, {
      onCall: (w, n) => {
        // Suspend right after the first run started; resume once the clock has moved on.
        if (n === 2) w.spec = { ...w.spec, suspend: true };
        if (n === 6) w.spec = { ...w.spec, suspend: false };
      },
    });
    expect(t.phases).toEqual(['Coding', 'Running', 'Suspended', 'Repairing', 'Running', 'Succeeded']);
    expect(t.started).toEqual(names('i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0'));
  });
});

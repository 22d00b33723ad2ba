import type { CodingTask, StageStatus } from '../../../../operator/src/api/types.js';
import { buildReport, repairedRuns } from '../../../../operator/src/report/html/model.js';
import { duration, esc, renderReport, usd } from '../../../../operator/src/report/html/render.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const stage = (role: StageStatus['role'], iteration: number, from: number, to: number | undefined, s: Partial<StageStatus> = {}): StageStatus => ({
  name: `fb-i${iteration}-${role}-a${s.attempt ?? 0}`,
  role,
  iteration,
  attempt: 0,
  state: to === undefined ? 'Running' : 'Succeeded',
  startTime: at(from),
  ...(to !== undefined ? { completionTime: at(to) } : {}),
  ...s,
});

function task(stages: StageStatus[], extra: Partial<NonNullable<CodingTask['status']>> = {}): CodingTask {
  return {
    apiVersion: 'autorun.dev/v1alpha1',
    kind: 'CodingTask',
    metadata: { name: 'fb', namespace: 'team-a' },
    spec: { goal: 'FizzBuzz <with> "quotes"', language: 'python' },
    status: { phase: 'Succeeded', reason: 'TestsPassed', iteration: 2, startTime: at(0), cost: { llmUSD: '0.3100', gpuSeconds: 40, totalUSD: '0.3300' }, result: { branch: 'autorun/fb', commit: '3f2c9a1d0b7e55aa' }, stages, ...extra },
  } as CodingTask;
}

const STAGES: StageStatus[] = [
  stage('code', 1, 0, 60, { costUSD: '0.1200' }),
  stage('test', 1, 0, 45, { costUSD: '0.0900' }),
  stage('run', 1, 61, 81, { state: 'Failed', gpuSeconds: 20, tests: { passed: 4, failed: 1, total: 5, failing: ['tests/test_fb.py::test_fifteen'] } }),
  stage('repair', 2, 82, 140, { costUSD: '0.1000', summary: 'handled 15 first' }),
  stage('run', 2, 141, 161, { gpuSeconds: 20, tests: { passed: 5, failed: 0, total: 5 } }),
];
const REPORT = JSON.stringify({ command: 'pytest -q', tests: { passed: 4, failed: 1, total: 5 }, failures: [{ name: 'tests/test_fb.py::test_fifteen', message: "assert 'Fizz' == 'FizzBuzz' key sk-ant-abcdefghijklmnop" }] });

describe('buildReport', () => {
  const m = buildReport({ task: task(STAGES), origin: 'namespace team-a', repairInputs: new Map([[2, REPORT]]), now: new Date(T0 + 3600_000) });

  it('places every stage on one time axis from the first start', () => {
    expect(m.stages.map((s) => [s.name, s.from / 1000, s.to / 1000])).toEqual([
      ['fb-i1-code-a0', 0, 60],
      ['fb-i1-test-a0', 0, 45],
      ['fb-i1-run-a0', 61, 81],
      ['fb-i2-repair-a0', 82, 140],
      ['fb-i2-run-a0', 141, 161],
    ]);
    expect(m.span).toBe(161_000);
  });

  it('counts tests per iteration and cost per role', () => {
    expect(m.tests).toEqual([
      { iteration: 1, role: 'run', passed: 4, failed: 1, total: 5 },
      { iteration: 2, role: 'run', passed: 5, failed: 0, total: 5 },
    ]);
    const byRole = Object.fromEntries(m.costByRole.map((r) => [r.role, [r.stages, Number(r.costUSD.toFixed(4)), r.gpuSeconds]]));
    expect(byRole).toEqual({ code: [1, 0.12, 0], test: [1, 0.09, 0], run: [2, 0, 40], repair: [1, 0.1, 0] });
  });

  it('gives each repair the failure report it got, with token shapes redacted', () => {
    expect(m.repairs).toHaveLength(1);
    expect(m.repairs[0]).toMatchObject({ iteration: 2, command: 'pytest -q', tests: { failed: 1, total: 5 }, failing: ['tests/test_fb.py::test_fifteen'] });
    expect(m.repairs[0]!.failures[0]!.message).toBe("assert 'Fizz' == 'FizzBuzz' key [redacted]");
  });

  it('without the report text a repair still shows the failing tests from status', () => {
    const bare = buildReport({ task: task(STAGES), origin: 'x', repairInputs: new Map(), now: new Date(T0) });
    expect(bare.repairs[0]).toMatchObject({ failing: ['tests/test_fb.py::test_fifteen'], tests: { passed: 4, failed: 1, total: 5 }, failures: [] });
    // Plain text (the operator's note when a log could not be read) is kept as it is.
    const note = buildReport({ task: task(STAGES), origin: 'x', repairInputs: new Map([[2, 'The log of fb-i1-run-a0 could not be read']]), now: new Date(T0) });
    expect(note.repairs[0]!.raw).toBe('The log of fb-i1-run-a0 could not be read');
  });

  it('a running stage ends at now and is marked open', () => {
    const running = buildReport({ task: task([stage('code', 1, 0, undefined)], { phase: 'Coding' }), origin: 'x', repairInputs: new Map(), now: new Date(T0 + 30_000) });
    expect(running.stages[0]).toMatchObject({ open: true, from: 0, to: 30_000 });
  });

  it('a repair after a failed acceptance run is given that run', () => {
    const stages = [...STAGES.slice(0, 2), stage('run', 1, 61, 81), stage('acceptance', 1, 82, 90, { state: 'Failed' }), stage('repair', 2, 91, 120)];
    expect(repairedRuns(stages).get(2)?.name).toBe('fb-i1-acceptance-a0');
  });
});

describe('renderReport', () => {
  const html = renderReport(buildReport({ task: task(STAGES), origin: 'namespace team-a', repairInputs: new Map([[2, REPORT]]), now: new Date(T0 + 3600_000) }));

  it('is one page that loads nothing: no script, no link, no remote URL, and a CSP that forbids it', () => {
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('escapes what it shows', () => {
    expect(html).toContain('FizzBuzz &lt;with&gt; &quot;quotes&quot;');
    expect(html).not.toContain('<with>');
    expect(esc(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
  });

  it('has a bar per stage, tests per iteration, cost by role and stage, the repair input and the branch', () => {
    expect(html.match(/<g class="stage" /g)).toHaveLength(5);
    expect(html.match(/class="iteration-tests"/g)).toHaveLength(2);
    expect(html).toContain('data-passed="4" data-total="5"');
    expect(html.match(/<tr class="role-cost"/g)).toHaveLength(4);
    expect(html.match(/<tr class="stage-cost"/g)).toHaveLength(5);
    expect(html).toContain('1 failed, 4 passed of 5');
    expect(html).toContain('<code>autorun/fb</code> at <code class="commit">3f2c9a1d0b7e</code>');
    expect(html).toContain(usd(0.33));
  });

  it('formats money and time for people', () => {
    expect([usd(0.33), usd(0.0042), usd(0), usd(12.5)]).toEqual(['$0.33', '$0.0042', '$0.00', '$12.50']);
    expect([duration(500), duration(61_000), duration(3_725_000)]).toEqual(['1s', '1m01s', '1h02m']);
  });
});

test('the result links the pull request when the task has one', () => {
  const url = 'https://github.test/acme/fb/pull/3';
  const withPR = task(STAGES, { result: { branch: 'autorun/fb', commit: '3f2c9a1d0b7e55aa', pullRequestURL: url } });
  expect(renderReport(buildReport({ task: withPR, origin: 'x', repairInputs: new Map(), now: new Date(T0) }))).toContain(`<dd class="pr"><a href="${url}">${url}</a></dd>`);
  expect(renderReport(buildReport({ task: task(STAGES), origin: 'x', repairInputs: new Map(), now: new Date(T0) }))).toContain('<dd class="pr">none (spec.repository.pullRequest asks for one)</dd>');
});

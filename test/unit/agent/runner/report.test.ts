// Reading the failure report a stage is handed: the run role's JSON file, a report lacking parts
// (written by hand, or by an older agent), the run Pod's log, or text that is none of these.
import { expect, test } from '@jest/globals';
import { readFailureReport, renderReport, type FailureReport } from '../../../../operator/src/agent/runner/report.js';

const full: FailureReport = {
  role: 'run',
  command: 'python -m pytest -q',
  exitCode: 1,
  timedOut: false,
  durationMs: 40,
  tests: { passed: 4, failed: 1, total: 5 },
  failures: [{ name: 'tests/test_f.py::test_15', message: "AssertionError: assert 'Fizz' == 'FizzBuzz'", trace: '>       assert fizzbuzz(15) == "FizzBuzz"' }],
  flaky: [],
  outputTail: '1 failed, 4 passed',
};

test('the JSON file is the report as written', () => {
  expect(readFailureReport(JSON.stringify(full))).toEqual({ report: full });
});

test('a report lacking parts gets them filled, and renders', () => {
  const read = readFailureReport(JSON.stringify({ failures: [{ name: 'tests/test_f.py::test_15', message: 'boom' }] }));
  expect(read).toEqual({
    report: expect.objectContaining({ command: '', exitCode: null, tests: { passed: 0, failed: 1, total: 1 }, failures: [{ name: 'tests/test_f.py::test_15', message: 'boom', trace: '' }], flaky: [] }),
  });
  const text = renderReport((read as { report: FailureReport }).report);
  expect(text).toContain('### tests/test_f.py::test_15\nboom');
  expect(text).toContain('Tests: 0 passed, 1 failed, 1 total');
});

test("the run Pod's log: the last report line, its missing parts filled too", () => {
  const log = [
    '{"event":"start","role":"run"}',
    JSON.stringify({ event: 'failure-report', report: { ...full, tests: { passed: 1, failed: 4, total: 5 } } }),
    JSON.stringify({ event: 'failure-report', report: { failures: [] } }),
    '{"event":"failure-report","report":{"failures":[{"na', // a line cut by a bounded log read
  ].join('\n');
  expect(readFailureReport(log)).toEqual({ report: expect.objectContaining({ failures: [], tests: { passed: 0, failed: 0, total: 0 } }) });
});

test('text that is no report is passed on as it is', () => {
  expect(readFailureReport('pytest said: 1 failed')).toEqual({ text: 'pytest said: 1 failed' });
  expect(readFailureReport('null')).toEqual({ text: 'null' });
  expect(readFailureReport('{"tests": {}}')).toEqual({ text: '{"tests": {}}' });
});

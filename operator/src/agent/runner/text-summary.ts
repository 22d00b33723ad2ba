// Counts from a runner's closing lines when it wrote no machine-readable report (a custom command):
// pytest "1 failed, 2 passed in 0.1s", jest "Tests: 1 failed, 2 passed, 3 total", go "--- FAIL: TestX",
// or the plain "N passed, N failed".
import type { ParsedRun, TestCase } from './types.js';
import { stripAnsi } from './jest-json.js';

function count(line: string, word: string): number {
  const m = new RegExp(`(\\d+) ${word}`).exec(line);
  return m ? Number(m[1]) : 0;
}

export function parseTextSummary(output: string): ParsedRun | undefined {
  const lines = stripAnsi(output).split('\n');
  const cases: TestCase[] = [];
  // pytest -q / -rf lists failures as "FAILED tests/x.py::test_a - AssertionError: ..."
  for (const l of lines) {
    const m = /^(FAILED|ERROR) (\S+)(?: - (.*))?$/.exec(l.trim());
    if (m) cases.push({ name: m[2]!, status: m[1] === 'FAILED' ? 'failed' : 'error', message: m[3] ?? '' });
    const g = /^--- FAIL: (\S+)/.exec(l.trim());
    if (g) cases.push({ name: g[1]!, status: 'failed' });
  }
  for (const l of [...lines].reverse()) {
    const jest = /^Tests:\s+(.*\d+ total)/.exec(l.trim());
    if (jest) {
      const s = jest[1]!;
      return { cases, counts: { passed: count(s, 'passed'), failed: count(s, 'failed'), total: count(s, 'total') - count(s, 'skipped') - count(s, 'todo') } };
    }
    const t = l.replace(/=+/g, ' ');
    if (/\d+ (passed|failed)/.test(t) && !/^\s*(FAILED|PASSED)\b/.test(l)) {
      const passed = count(t, 'passed');
      const failed = count(t, 'failed') + count(t, 'errors?');
      return { cases, counts: { passed, failed, total: passed + failed } };
    }
  }
  return undefined;
}

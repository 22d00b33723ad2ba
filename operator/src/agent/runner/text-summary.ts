// What a custom command's output says when it wrote no machine-readable report: failing tests from
// pytest's "FAILED tests/x.py::test_a - ..." lines, jest's "● Suite › name" blocks and go's
// "--- FAIL: TestX" lines, and counts from the closing line: pytest "1 failed, 2 passed in 0.1s",
// jest "Tests: 1 failed, 2 passed, 3 total", or the plain "N passed, N failed". Without such a line
// (go prints none) the named tests are the counts: without -v, go names only the failing ones.
import { parseGoText } from './go-text.js';
import { stripAnsi } from './jest-json.js';
import { parseJestText } from './jest-text.js';
import type { ParsedRun, TestCase } from './types.js';

function count(line: string, word: string): number {
  const m = new RegExp(`(\\d+) ${word}`).exec(line);
  return m ? Number(m[1]) : 0;
}

function pytestFailures(lines: string[]): TestCase[] {
  const cases: TestCase[] = [];
  for (const l of lines) {
    const m = /^(FAILED|ERROR) (\S+)(?: - (.*))?$/.exec(l.trim());
    if (m) cases.push({ name: m[2]!, status: m[1] === 'FAILED' ? 'failed' : 'error', message: m[3] ?? '', runner: 'pytest' });
  }
  return cases;
}

export function parseTextSummary(output: string): ParsedRun | undefined {
  const lines = stripAnsi(output).split('\n');
  const cases = [...pytestFailures(lines), ...parseJestText(lines), ...parseGoText(lines)];
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
  // No closing line (go prints none; other output may be cut): the named tests are what ran.
  return cases.length ? { cases } : undefined;
}

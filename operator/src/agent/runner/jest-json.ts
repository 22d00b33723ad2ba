// jest --json output to test cases. A suite that fails before its tests run (syntax error, missing
// module) has no assertion results; it becomes one failing case named after its file.
import { relative } from 'node:path';
import type { ParsedRun, TestCase } from './types.js';

interface JestAssertion {
  fullName?: string;
  title?: string;
  status?: string;
  failureMessages?: string[];
}
interface JestSuite {
  name?: string;
  status?: string;
  message?: string;
  assertionResults?: JestAssertion[];
}
interface JestJson {
  testResults?: JestSuite[];
}

const ANSI = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');
export const stripAnsi = (s: string): string => s.replace(ANSI, '');

/** jest's failure text up to the stack: the matcher line and its Expected/Received lines. */
export function assertionMessage(trace: string): string {
  const lines: string[] = [];
  for (const l of trace.split('\n')) {
    if (/^\s+at /.test(l)) break;
    if (l.trim()) lines.push(l.trim());
  }
  return lines.slice(0, 6).join('\n');
}

export function parseJestJson(json: string, root: string): ParsedRun {
  const data = JSON.parse(json) as JestJson;
  const cases: TestCase[] = [];
  for (const suite of data.testResults ?? []) {
    const file = relative(root, suite.name ?? '').split('\\').join('/');
    const assertions = suite.assertionResults ?? [];
    if (!assertions.length && suite.status === 'failed') {
      const msg = stripAnsi(suite.message ?? '').trim();
      cases.push({ name: `${file}::(suite)`, status: 'error', message: assertionMessage(msg.replace(/^●.*\n/, '')) || 'test suite failed to run', trace: msg, location: file });
      continue;
    }
    for (const a of assertions) {
      const local = a.fullName ?? a.title ?? '';
      const status = a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped';
      const c: TestCase = { name: `${file}::${local}`, status, location: file, localName: local };
      if (status === 'failed') {
        const trace = stripAnsi((a.failureMessages ?? []).join('\n')).trim();
        c.trace = trace;
        c.message = assertionMessage(trace);
      }
      cases.push(c);
    }
  }
  return { cases };
}

// Tests from `go test`'s text output, for a command that did not ask for -json (a Makefile target):
// "--- FAIL: TestX" (and "--- PASS" with -v) lines, each test's log lines, and the "FAIL\tpkg" /
// "ok  \tpkg" line that closes its package. Names match parseGoTestJson's (pkg::TestX, a package
// that fails without a failing test is pkg::(package)), so a -json re-run can tell which pass now.
import { dedent } from './types.js';
import type { CaseStatus, TestCase } from './types.js';

const RESULT = /^\s*--- (FAIL|PASS|SKIP): (\S+)/;
const RUN = /^=== (RUN|CONT|NAME)\s+(\S+)/;
const PACKAGE = /^(ok|FAIL)\s+(\S+)(?:\s+(\[[^\]]+\]|\(cached\)|[\d.]+s))?/;
const BUILD_HEADER = /^# (\S+)/;

function messageOf(output: string[]): string | undefined {
  return output.map((l) => l.trim()).find((l) => l.length > 0);
}

export function parseGoText(lines: string[]): TestCase[] {
  const cases: TestCase[] = [];
  const output = new Map<string, string[]>();
  /** Tests of the package whose closing line has not come yet. */
  let pending: TestCase[] = [];
  let current: string | undefined;
  let build: { pkg: string; lines: string[] } | undefined;
  const buildOutput = new Map<string, string[]>();
  for (const l of lines) {
    const header = BUILD_HEADER.exec(l);
    if (header) {
      build = { pkg: header[1]!, lines: [] };
      buildOutput.set(build.pkg, build.lines);
      current = undefined;
      continue;
    }
    const run = RUN.exec(l);
    if (run) {
      build = undefined;
      current = run[2];
      continue;
    }
    const res = RESULT.exec(l);
    if (res) {
      build = undefined;
      const status: CaseStatus = res[1] === 'FAIL' ? 'failed' : res[1] === 'PASS' ? 'passed' : 'skipped';
      const c: TestCase = { name: res[2]!, status, localName: res[2]!, runner: 'go' };
      pending.push(c);
      cases.push(c);
      // Without -v a failing test's log lines follow its "--- FAIL" line.
      current = res[2];
      continue;
    }
    const pkg = PACKAGE.exec(l);
    if (pkg && l.includes('\t')) {
      build = undefined;
      current = undefined;
      const path = pkg[2]!;
      for (const c of pending) {
        c.location = path;
        c.name = `${path}::${c.localName}`;
      }
      if (pkg[1] === 'FAIL' && !pending.some((c) => c.status === 'failed')) {
        const out = (buildOutput.get(path) ?? []).join('\n').trim();
        cases.push({ name: `${path}::(package)`, status: 'error', location: path, message: messageOf(out.split('\n')) ?? `package failed ${pkg[3] ?? ''}`.trim(), trace: out, runner: 'go' });
      }
      pending = [];
      continue;
    }
    if (build && /^\S/.test(l) && !/^(FAIL|PASS|ok)\b/.test(l)) build.lines.push(l);
    else if (current && /^\s+\S/.test(l)) output.set(current, [...(output.get(current) ?? []), l]);
  }
  for (const c of cases) {
    if (c.status !== 'failed' || !c.localName) continue;
    const out = output.get(c.localName) ?? [];
    c.trace = dedent(out);
    c.message = messageOf(out) ?? 'failed';
  }
  return cases;
}

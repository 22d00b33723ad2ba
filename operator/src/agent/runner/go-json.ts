// `go test -json` (test2json events) to test cases. Subtests count as tests of their own; a package
// that fails without a failing test (build error, panic in init, TestMain exit) becomes one failing
// case named after the package.
import type { ParsedRun, TestCase } from './types.js';

interface GoEvent {
  Action?: string;
  Package?: string;
  ImportPath?: string;
  Test?: string;
  Output?: string;
}

export function parseGoTestJson(stdout: string): ParsedRun {
  const tests = new Map<string, TestCase & { output: string[] }>();
  const pkgOutput = new Map<string, string[]>();
  const pkgFailed = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev: GoEvent;
    try {
      ev = JSON.parse(line) as GoEvent;
    } catch {
      continue;
    }
    const pkg = ev.Package ?? ev.ImportPath ?? '';
    if (ev.Action === 'build-output' || ev.Action === 'build-fail') {
      if (ev.Output) pkgOutput.set(pkg.split(' ')[0]!, [...(pkgOutput.get(pkg.split(' ')[0]!) ?? []), ev.Output]);
      if (ev.Action === 'build-fail') pkgFailed.add(pkg.split(' ')[0]!);
      continue;
    }
    if (!ev.Test) {
      if (ev.Action === 'output' && ev.Output) pkgOutput.set(pkg, [...(pkgOutput.get(pkg) ?? []), ev.Output]);
      if (ev.Action === 'fail') pkgFailed.add(pkg);
      continue;
    }
    const key = `${pkg}::${ev.Test}`;
    let t = tests.get(key);
    if (!t) {
      t = { name: key, status: 'error', location: pkg, localName: ev.Test, output: [] };
      tests.set(key, t);
    }
    if (ev.Action === 'output' && ev.Output) t.output.push(ev.Output);
    else if (ev.Action === 'pass') t.status = 'passed';
    else if (ev.Action === 'fail') t.status = 'failed';
    else if (ev.Action === 'skip') t.status = 'skipped';
  }
  const cases: TestCase[] = [];
  for (const t of tests.values()) {
    const { output, ...c } = t;
    if (c.status === 'failed' || c.status === 'error') {
      c.trace = output.join('').trim();
      c.message = output.map((l) => l.trim()).find((l) => l && !l.startsWith('=== ') && !l.startsWith('--- ')) ?? (c.status === 'error' ? 'test did not finish' : 'failed');
    }
    cases.push(c);
  }
  for (const pkg of pkgFailed) {
    if (cases.some((c) => c.location === pkg && c.status === 'failed')) continue;
    const out = (pkgOutput.get(pkg) ?? []).join('').trim();
    cases.push({ name: `${pkg}::(package)`, status: 'error', location: pkg, message: out.split('\n').find((l) => l.trim()) ?? 'package failed', trace: out });
  }
  return { cases };
}

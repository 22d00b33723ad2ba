// Single stages as processes, for the failure paths: model API errors, a hanging test command, a
// flaky test, hidden acceptance tests, and the context handed over as a mounted file.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiError, startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../fakes/anthropic-server.js';
import { baseContext, build, expectContract, git, makeRemote, pushFiles, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-secret-abcdefghijklmnop';
let fake: FakeAnthropic | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Alive and not a zombie (a killed orphan stays a zombie until init reaps it). */
function pidAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('code stage rides out a 429 (retry-after honoured) and succeeds', async () => {
  const dir = tempDir('autorun-stage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  fake = await startFakeAnthropic([apiError(429, 'rate limited', { 'retry-after': '1' }), toolUse('write_file', { path: 'fizzbuzz.py', content: 'x = 1\n' }), text('done')]);
  const started = Date.now();
  const r = await runAgent(dir, baseContext(dir, 'code'), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Succeeded' });
  expect(fake.requests).toHaveLength(3);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  expect(git(dir, '--git-dir', remote, 'rev-parse', 'refs/autorun/fizz/code')).toBe(r.result.commit);
}, 60_000);

test('401 fails fast: exit 2, outcome Error Unauthorized, a clear summary, the key nowhere', async () => {
  const dir = tempDir('autorun-stage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  fake = await startFakeAnthropic(() => apiError(401, 'invalid x-api-key'));
  const r = await runAgent(dir, baseContext(dir, 'code'), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.exitCode).toBe(2);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'Unauthorized' });
  expect(r.result.summary).toMatch(/401.*API key was rejected/);
  expect(fake.requests).toHaveLength(1);
  expect(r.raw + r.stdout + r.stderr).not.toContain(KEY);
  expect(() => git(dir, '--git-dir', remote, 'rev-parse', '--verify', 'refs/autorun/fizz/code')).toThrow();
}, 60_000);

/** Host processes whose command line holds arg: a sandboxed process's pid is its namespace's, not ours. */
function processesWith(arg: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(arg);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(pidAlive);
}

test('a hanging test command is killed at its timeout, with its whole process group', async () => {
  const dir = tempDir('autorun-stage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  // A sleep no other process on the machine runs: found by its argument, not by a pid.
  const seconds = `300.${process.pid}${Date.now() % 100000}`;
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'slow.py': 'def f():\n    return 1\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'tests/test_slow.py': `import subprocess, time\nfrom slow import f\n\ndef test_hangs():\n    subprocess.Popen(["sleep", "${seconds}"])\n    time.sleep(300)\n`,
  });
  // Killed at its timeout, not waited for (the test sleeps 300 s, past this test's own timeout).
  const run = runAgent(dir, baseContext(dir, 'run', { test: { timeoutSeconds: 3, allowRepairToEditTests: false }, reportPath: join(dir, 'report.json') }));
  // The grandchild did start (the test waits for it, then for its end).
  await waitUntil(() => processesWith(seconds).length > 0, 30_000);
  const r = await run;
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'run', outcome: 'Failed', reason: 'TestTimeout' });
  expect(r.result.summary).toMatch(/killed after 3s/);
  await waitUntil(() => processesWith(seconds).length === 0, 5_000);
  expect(processesWith(seconds)).toEqual([]);
  expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toMatchObject({ timedOut: true });
}, 60_000);

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

test('a flaky test is re-run once, recorded as flaky and not failed', async () => {
  const dir = tempDir('autorun-stage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  // The counter lives outside the workspace, which the sandboxed tests may write only when told.
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  const counter = join(shared, 'runs');
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'def one():\n    return 1\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'tests/test_m.py': `import os\nfrom m import one\n\ndef test_ok():\n    assert one() == 1\n\ndef test_flaky():\n    n = int(open(${JSON.stringify(counter)}).read()) if os.path.exists(${JSON.stringify(counter)}) else 0\n    open(${JSON.stringify(counter)}, "w").write(str(n + 1))\n    assert n >= 1\n\ndef test_broken():\n    assert one() == 2\n`,
  });
  const r = await runAgent(dir, baseContext(dir, 'run'), { AUTORUN_SANDBOX_WRITABLE: shared });
  expectContract(r);
  expect(r.result).toMatchObject({
    role: 'run',
    outcome: 'Failed',
    tests: { passed: 2, failed: 1, total: 3, failing: ['tests/test_m.py::test_broken'], flaky: ['tests/test_m.py::test_flaky'] },
  });
  expect(readFileSync(counter, 'utf8')).toBe('2');
}, 60_000);

test('acceptance runs the hidden tests over merge(code, tests), from a mounted context file', async () => {
  const dir = tempDir('autorun-stage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const code = pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'def double(x):\n    return x * 2\n' });
  const tests = pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'tests/test_m.py': 'from m import double\n\ndef test_two():\n    assert double(2) == 4\n' });
  const hidden = join(dir, 'hidden');
  mkdirSync(join(hidden, '..data'), { recursive: true }); // ConfigMap mounts carry such entries
  writeFileSync(join(hidden, 'test_hidden.py'), 'from m import double\n\ndef test_zero():\n    assert double(0) == 0\n\ndef test_negative():\n    assert double(-3) == -6\n');
  const ctx = baseContext(dir, 'acceptance', { codeRef: code, testsRef: tests, test: { timeoutSeconds: 60, allowRepairToEditTests: false, acceptanceDir: hidden } });
  const file = join(dir, 'context.json');
  writeFileSync(file, JSON.stringify(ctx));
  const r = await runAgent(dir, { ...ctx, role: 'acceptance' }, { AUTORUN_CONTEXT_FILE: file });
  expectContract(r);
  // Only the hidden tests run: 2 of them, not the agents' own test.
  expect(r.result).toMatchObject({ role: 'acceptance', outcome: 'Succeeded', tests: { passed: 2, failed: 0, total: 2 } });
  expect(existsSync(join(ctx.workspace, 'autorun-acceptance', 'test_hidden.py'))).toBe(true);
}, 60_000);

/** A JavaScript project whose tests pass, fail, and fail only on their first run (a counter file). */
function jsProject(dir: string, scripts: Record<string, string>, counter: string): void {
  const remote = makeRemote(dir, { 'README.md': 'x\n', 'package.json': JSON.stringify({ name: 'm', private: true, scripts }) });
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.js': 'exports.one = () => 1;\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'm.test.js': `const fs = require("fs");
const { one } = require("./m");
const counter = ${JSON.stringify(counter)};
describe("one", () => {
  test("is one", () => expect(one()).toBe(1));
  test("is two", () => expect(one()).toBe(2));
  test("flaky", () => {
    const n = fs.existsSync(counter) ? Number(fs.readFileSync(counter, "utf8")) : 0;
    fs.writeFileSync(counter, String(n + 1));
    expect(n).toBeGreaterThanOrEqual(1);
  });
});
`,
  });
}

test('a package.json test script that is jest runs as npm test, with jest reporting JSON through it', async () => {
  const dir = tempDir('autorun-stage-');
  mkdirSync(join(dir, 'shared'));
  const counter = join(dir, 'shared', 'runs');
  jsProject(dir, { test: 'jest' }, counter);
  const r = await runAgent(dir, baseContext(dir, 'run', { language: 'javascript', reportPath: join(dir, 'report.json') }), { AUTORUN_SANDBOX_WRITABLE: join(dir, 'shared') });
  expectContract(r);
  expect(r.result).toMatchObject({
    role: 'run',
    outcome: 'Failed',
    tests: { passed: 2, failed: 1, total: 3, failing: ['m.test.js::one is two'], flaky: ['m.test.js::one flaky'] },
  });
  expect(readFileSync(counter, 'utf8')).toBe('2');
  const commands = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; command?: string }).filter((e) => e.command);
  expect(commands.map((e) => e.command)).toEqual([expect.stringMatching(/^npm test -- --ci --json --outputFile=/), expect.stringMatching(/^npm test -- .* -t '\^\(one is two\|one flaky\)\$' 'm.test.js'$/)]);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { failures: { name: string; message: string }[] };
  expect(report.failures).toEqual([expect.objectContaining({ name: 'm.test.js::one is two', message: expect.stringContaining('Expected: 2') as string })]);
}, 120_000);

test('a custom command running jest is read from its text: failing names, and a flaky re-run with jest', async () => {
  const dir = tempDir('autorun-stage-');
  mkdirSync(join(dir, 'shared'));
  const counter = join(dir, 'shared', 'runs');
  jsProject(dir, { check: 'jest' }, counter);
  const r = await runAgent(dir, baseContext(dir, 'run', { language: 'javascript', test: { command: 'npm run check', timeoutSeconds: 120, allowRepairToEditTests: false } }), { AUTORUN_SANDBOX_WRITABLE: join(dir, 'shared') });
  expectContract(r);
  expect(r.result).toMatchObject({
    outcome: 'Failed',
    tests: { passed: 2, failed: 1, total: 3, failing: ['m.test.js::one is two'], flaky: ['m.test.js::one flaky'] },
  });
  expect(readFileSync(counter, 'utf8')).toBe('2');
}, 120_000);

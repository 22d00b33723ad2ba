// A hanging test as the run agent lives through it: real pytest, a test that starts a helper in a
// session of its own (out of reach of a process-group kill) and then never returns. The stage must
// say that the tests hung and which test, and report only once every process it started is gone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseContext, build, expectContract, makeRemote, pushFiles, runAgent } from './harness.js';
import { liveWithArg, tempDir } from '../../unit/agent/helpers.js';

beforeAll(() => build(), 300_000);

test('a hung test: TestTimeout naming the test; the helper it started in its own session is gone when the result is written', async () => {
  const dir = tempDir('autorun-hang-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const pidFile = join(dir, 'helper.pid');
  // The helper is found by its argument: the pid it knows is its pid in the sandbox's PID namespace.
  const seconds = `300.${process.pid}${Date.now() % 100000}`;
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'slow.py': 'def f():\n    return 1\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'tests/test_slow.py': `import subprocess, time
from slow import f


def test_quick():
    assert f() == 1


def test_waits_for_ever():
    p = subprocess.Popen(["sleep", "${seconds}"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(${JSON.stringify(pidFile)}, "w").write(str(p.pid))
    time.sleep(300)
`,
  });
  const reportPath = join(dir, 'report.json');
  // The helper's pid file is outside the workspace: the test's sandbox must let it write there.
  const r = await runAgent(dir, baseContext(dir, 'run', { test: { timeoutSeconds: 3, allowRepairToEditTests: false }, reportPath }), { AUTORUN_SANDBOX_WRITABLE: dir });
  // Checked first, the moment the agent is done: nothing it started may outlive its report.
  expect(Number(readFileSync(pidFile, 'utf8'))).toBeGreaterThan(0);
  expect(liveWithArg(seconds)).toBe(0);
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'run', outcome: 'Failed', reason: 'TestTimeout', hungTest: 'tests/test_slow.py::test_waits_for_ever' });
  expect(r.result.summary).toMatch(/^tests hung: killed after 3s \(spec\.test\.timeoutSeconds\) while tests\/test_slow\.py::test_waits_for_ever ran/);
  expect(JSON.parse(readFileSync(reportPath, 'utf8'))).toMatchObject({ timedOut: true, hungTest: 'tests/test_slow.py::test_waits_for_ever' });
}, 60_000);

// The run stage on a real Go module: `autorun agent --role run` as a process, go test for real, over
// merge(code, tests) from a bare git remote. One test passes, one fails, one fails only on its
// first run (a marker file outside the workspace remembers it ran): the flaky check must tell them
// apart, both with go test -json (detected) and with a custom command read from its text.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseContext, build, expectContract, makeRemote, pushFiles, runAgent } from './harness.js';
import type { StageRun } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const MODULE = 'example.com/double';
beforeAll(() => build(), 300_000);

/** The toolchain as installed (no downloads), the module as written (no go.sum needed). A go build
 *  cache of the machine is used when there is one: a cold one costs ~20 s compiling the std lib. */
function goEnv(dir: string): Record<string, string> {
  // The sandboxed tests write their marker (shared/) and Go its module cache (gopath/) outside the workspace.
  for (const d of ['shared', 'gopath']) mkdirSync(join(dir, d), { recursive: true });
  const env: Record<string, string> = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GOPROXY: 'off', GOPATH: join(dir, 'gopath'), AUTORUN_SANDBOX_WRITABLE: `${join(dir, 'shared')}:${join(dir, 'gopath')}` };
  if (!process.env.HOME) env.GOCACHE = join(dir, 'gocache');
  return env;
}

function goProject(dir: string, marker: string): string {
  const remote = makeRemote(dir, { 'README.md': 'double\n', 'go.mod': `module ${MODULE}\n\ngo 1.22\n` });
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'double.go': 'package double\n\nfunc Double(x int) int { return x * 2 }\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'double_test.go': `package double

import (
	"os"
	"testing"
)

func TestDoubleTwo(t *testing.T) {
	if got := Double(2); got != 4 {
		t.Errorf("Double(2) = %d, want 4", got)
	}
}

func TestDoubleWrong(t *testing.T) {
	if got := Double(3); got != 7 {
		t.Errorf("Double(3) = %d, want 7", got)
	}
}

// Fails the first time it runs, passes after: flaky.
func TestFlaky(t *testing.T) {
	marker := ${JSON.stringify(marker)}
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, []byte("ran"), 0o644)
		t.Fatal("first run fails")
	}
}
`,
  });
  return remote;
}

function flakyCheck(run: StageRun): { command: string } | undefined {
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; command: string })
    .find((e) => e.event === 'flaky-check');
}

test('go test -json: counts, the failing test by name, the flaky one re-run and recorded as flaky', async () => {
  const dir = tempDir('autorun-go-');
  const marker = join(dir, 'shared', 'flaky-ran');
  goProject(dir, marker);
  const report = join(dir, 'report.json');
  const r = await runAgent(dir, baseContext(dir, 'run', { language: 'go', reportPath: report }), goEnv(dir));
  expectContract(r);
  expect(r.result).toMatchObject({
    role: 'run',
    outcome: 'Failed',
    reason: 'TestsFailed',
    tests: { passed: 2, failed: 1, total: 3, failing: [`${MODULE}::TestDoubleWrong`], flaky: [`${MODULE}::TestFlaky`] },
  });
  expect(existsSync(marker)).toBe(true);
  // Only the failing tests ran again, in their package.
  expect(flakyCheck(r)?.command).toBe(`go test -json '${MODULE}' -run '^(TestDoubleWrong|TestFlaky)$'`);
  const failures = (JSON.parse(readFileSync(report, 'utf8')) as { failures: { name: string; message: string }[] }).failures;
  expect(failures).toEqual([expect.objectContaining({ name: `${MODULE}::TestDoubleWrong`, message: expect.stringContaining('Double(3) = 6, want 7') as string })]);
}, 180_000);

test('a custom go command read from its text still names the failing test and re-runs it', async () => {
  const dir = tempDir('autorun-go-');
  const marker = join(dir, 'shared', 'flaky-ran');
  goProject(dir, marker);
  // Chained, so it runs as written: no -json, only go's text output to go by.
  const command = 'go vet ./... && go test ./...';
  const r = await runAgent(dir, baseContext(dir, 'run', { language: 'go', test: { command, timeoutSeconds: 120, allowRepairToEditTests: false } }), goEnv(dir));
  expectContract(r);
  // Without -v go prints only the failing tests, so the passing one is not counted.
  expect(r.result).toMatchObject({
    outcome: 'Failed',
    tests: { passed: 1, failed: 1, total: 2, failing: [`${MODULE}::TestDoubleWrong`], flaky: [`${MODULE}::TestFlaky`] },
  });
  expect(flakyCheck(r)?.command).toBe(`go test -json '${MODULE}' -run '^(TestDoubleWrong|TestFlaky)$'`);
}, 180_000);

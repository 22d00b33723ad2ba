// The loop's promises under real-world faults (issue #16), through `autorun run` as a user runs it:
// the built CLI, the real agent processes, real git and pytest, and the fake model server, whose
// own record of requests is what the tests compare with.
import { rmSync } from 'node:fs';
import { apiError, startFakeAnthropic, type FakeAnthropic, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { build, cliEnv, CORRECT, readState, roleOf, runCli, scratch, scriptFor, taskYaml, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

const dirs: string[] = [];
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function workdir(task: string): { dir: string; file: string } {
  const w = scratch(task);
  dirs.push(w.dir);
  return w;
}

const pool = (spec: string) => `---
apiVersion: autorun.dev/v1alpha1
kind: AgentPool
metadata:
  name: default
spec:
  model:
    apiKeySecretRef: { name: anthropic }
${spec}`;

test('a model outage is not a failed task: the stage ends ModelUnavailable and the loop retries it past maxAttempts', async () => {
  const s = scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT });
  let codeRequests = 0;
  // The code agent's first request meets an overload; with a retry window of 0 the stage gives up
  // on it at once, so which stage saw the outage is exact, not a matter of timing.
  fake = await startFakeAnthropic((req: RecordedRequest) => (roleOf(req) === 'code' && codeRequests++ === 0 ? apiError(529, 'Overloaded') : s.script(req)));
  const { dir } = workdir(taskYaml('outage') + pool('  modelRetryWindow: 0s\n  roles:\n    code: { maxAttempts: 1 }\n'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: expect.stringMatching(/^outage +Succeeded .*TestsPassed$/m), err: expect.any(String) });
  const state = readState(dir, 'outage');
  const code = state.stages.filter((st) => st.role === 'code');
  expect(code.map((st) => [st.name, st.result?.outcome])).toEqual([
    ['outage-i1-code-a0', 'Error'],
    ['outage-i1-code-a1', 'Succeeded'],
  ]);
  expect(JSON.stringify(state)).toContain('ModelUnavailable');
}, 180_000);

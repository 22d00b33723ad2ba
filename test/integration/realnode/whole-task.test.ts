// One whole task with every stage Pod real: the in-process operator (as the controller tests run
// it, with its own ServiceAccount and exactly its RBAC) drives code ∥ test → run fails → repair →
// run passes → acceptance (hidden tests from a ConfigMap) → Succeeded, all on the real kubelet. The
// repair agent's failure report is the real run Pod's log, which the operator reads through the
// apiserver from the kubelet (kwok could not serve one), and `kubectl logs` of every stage is readable.
import { jest } from '@jest/globals';
import { GROUP, VERSION, type CodingTask } from '../../../operator/src/api/types.js';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { REPORT_KEY, reportConfigMapName } from '../../../operator/src/controller/pods/report.js';
import { ROLE_LABEL, TASK_LABEL } from '../../../operator/src/controller/pods/labels.js';
import { messagesText, startFakeAnthropic, systemText, text, toolResults, toolUse, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { kube } from '../../harness/kube.js';
import { TestBed, waitForPhase } from '../controller/support.js';
import { createStageSecrets, logsOf, onRealNode, realNode, realPool, startGitHost, waitStageDone, type GitHost } from './support.js';

jest.setTimeout(400_000);

const FIXED = 'def fizzbuzz(n):\n    if n % 15 == 0:\n        return "FizzBuzz"\n    if n % 3 == 0:\n        return "Fizz"\n    if n % 5 == 0:\n        return "Buzz"\n    return str(n)\n';
const BUGGY = FIXED.replace('n % 15 == 0', 'n % 10 == 0');
const TESTS = 'from fizzbuzz import fizzbuzz\n\ndef test_fizzbuzz():\n    assert fizzbuzz(15) == "FizzBuzz"\n\ndef test_fizz():\n    assert fizzbuzz(3) == "Fizz"\n\ndef test_number():\n    assert fizzbuzz(7) == "7"\n';
const HIDDEN = 'from fizzbuzz import fizzbuzz\n\ndef test_hidden_buzz():\n    assert fizzbuzz(10) == "Buzz"\n\ndef test_hidden_thirty():\n    assert fizzbuzz(30) == "FizzBuzz"\n';

let bed: TestBed;
let gitHost: GitHost;
let fake: FakeAnthropic;
let repoURL: string;

const FIZZBUZZ_GOAL = 'Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or the number as a string.';

/** A fizzbuzz CodingTask on the pool, the task's pytest command and the hidden tests' ConfigMap. */
async function applyTask(ns: string, name: string, goal: string, maxIterations: number): Promise<void> {
  const body: Omit<CodingTask, 'metadata'> & { metadata: { name: string; namespace: string } } = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CodingTask',
    metadata: { name, namespace: ns },
    spec: {
      pool: 'default',
      goal,
      language: 'python',
      repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } },
      test: { command: 'python3 -m pytest -q', acceptance: { configMapRef: { name: 'fizzbuzz-acceptance' } } },
      limits: { maxIterations, maxCostUSD: '5', timeout: '1h' },
    },
  };
  await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', body });
}

// The overrule task: right code, a wrong own test that the repair agent flags and the revision keeps wrong.
const OVERRULE_GOAL = 'Implement fizzbuzz(n) in fizzbuzz.py (overrule task) returning Fizz, Buzz, FizzBuzz or the number as a string.';
const WRONG_TESTS = TESTS.replace('fizzbuzz(7) == "7"', 'fizzbuzz(7) == "seven"');
const STILL_WRONG = TESTS.replace('fizzbuzz(7) == "7"', 'fizzbuzz(7) == "Seven"');

/** Each LLM role writes its one file on its first turn and stops on the next. */
function agents(): Parameters<typeof startFakeAnthropic>[0] {
  return (req) => {
    const system = systemText(req);
    if (toolResults(req).length) return text('Done.');
    if (messagesText(req).includes('(overrule task)')) {
      if (system.includes('You are the code agent')) return toolUse('write_file', { path: 'fizzbuzz.py', content: FIXED });
      if (system.includes('You are the repair agent')) return toolUse('flag_test', { name: 'test_number', reason: 'the goal says the number as a string: "7"' });
      if (system.includes('You are the test agent')) return toolUse('write_file', { path: 'test_fizzbuzz.py', content: messagesText(req).includes('which failed at') ? STILL_WRONG : WRONG_TESTS });
    }
    if (system.includes('You are the code agent')) return toolUse('write_file', { path: 'fizzbuzz.py', content: BUGGY });
    if (system.includes('You are the test agent')) return toolUse('write_file', { path: 'test_fizzbuzz.py', content: TESTS });
    if (system.includes('You are the repair agent')) return toolUse('write_file', { path: 'fizzbuzz.py', content: FIXED });
    return text('unexpected request');
  };
}

beforeAll(async () => {
  bed = await TestBed.create('rn-task');
  await createStageSecrets(bed.ns, { apiKey: 'sk-ant-real-node-task-77', gitToken: 'real-node-task-token-88' });
  gitHost = await startGitHost();
  repoURL = gitHost.repo('fizzbuzz', { 'README.md': '# fizzbuzz\n' });
  fake = await startFakeAnthropic(agents(), realNode().ip);
  await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'agentpools', body: realPool({ namespace: bed.ns, modelURL: fake.url }) });
  await kube().core.createNamespacedConfigMap({ namespace: bed.ns, body: { metadata: { name: 'fizzbuzz-acceptance' }, data: { 'test_hidden.py': HIDDEN } } });
  await bed.startOperator();
});

afterAll(async () => {
  await bed?.tearDown();
  await fake?.close();
  await gitHost?.close();
});

test('code ∥ test → run fails → repair → run passes → acceptance → Succeeded, every Pod on the real node', async () => {
  const ns = bed.ns;
  const started = Date.now();
  await applyTask(ns, 'fizzbuzz', FIZZBUZZ_GOAL, 3);
  const t = await waitForPhase(ns, 'fizzbuzz', ['Succeeded', 'Failed'], 300_000);
  process.stderr.write(`whole task apply → ${t.status?.phase}: ${Date.now() - started} ms\n`);
  expect({ phase: t.status?.phase, reason: t.status?.reason, message: t.status?.message }).toMatchObject({ phase: 'Succeeded' });

  const listed = (await kube().core.listNamespacedPod({ namespace: ns, labelSelector: `${TASK_LABEL}=fizzbuzz` })).items;
  // The operator moves on when the agent container ends; the Pod's phase follows a moment later.
  const pods = await Promise.all(listed.map(async (p) => (await waitStageDone(ns, p.metadata!.name!)).pod));
  const byRole = (role: string) => pods.filter((p) => p.metadata?.labels?.[ROLE_LABEL] === role).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  expect({ code: byRole('code').length, test: byRole('test').length, run: byRole('run').length, repair: byRole('repair').length, acceptance: byRole('acceptance').length })
    .toEqual({ code: 1, test: 1, run: 2, repair: 1, acceptance: 1 });
  // Every stage ran in a container on the real node, and ended as its role says.
  for (const p of pods) {
    expect({ pod: p.metadata!.name, node: onRealNode(p), phase: p.status?.phase }).toEqual({ pod: p.metadata!.name, node: true, phase: expect.stringMatching(/Succeeded|Failed/) });
  }
  const [firstRun, secondRun] = byRole('run');
  expect(firstRun!.status?.containerStatuses?.[0]?.state?.terminated?.message).toContain('"outcome":"Failed"');
  expect(secondRun!.status?.containerStatuses?.[0]?.state?.terminated?.message).toContain('"outcome":"Succeeded"');

  // The hand-off: the report ConfigMap holds the first run Pod's real log, pytest's failure in it,
  // and the repair agent was shown it.
  const iteration = Number(byRole('repair')[0]!.metadata!.labels!['autorun.dev/iteration']);
  const report = await kube().core.readNamespacedConfigMap({ namespace: ns, name: reportConfigMapName('fizzbuzz', iteration) });
  const runLog = await logsOf(ns, firstRun!.metadata!.name!, AGENT_CONTAINER);
  expect(report.data?.[REPORT_KEY]).toContain("assert 'Fizz' == 'FizzBuzz'");
  expect(runLog).toContain(report.data![REPORT_KEY]!.split('\n')[0]!);
  const repairRequest = fake.requests.find((r) => systemText(r).includes('You are the repair agent'));
  expect(messagesText(repairRequest!)).toContain('FizzBuzz');

  // The acceptance Pod ran the hidden tests too, which no agent request ever contained.
  const acceptance = byRole('acceptance')[0]!;
  expect(acceptance.status?.containerStatuses?.[0]?.state?.terminated?.message).toMatch(/"outcome":"Succeeded".*"total":2/);
  expect(JSON.stringify(fake.requests.map((r) => r.body))).not.toContain('test_hidden_thirty');

  // `kubectl logs` of every stage, from the real kubelet.
  for (const p of pods) expect(await logsOf(ns, p.metadata!.name!, AGENT_CONTAINER)).toContain('"event":"result"');
  expect(gitHost.show('fizzbuzz', `autorun/fizzbuzz:fizzbuzz.py`)).toBe(FIXED);
});

test('own tests still wrong at maxIterations: a flag, its revision Pod with the report mounted, then the acceptance tests overrule them, every Pod on the real node', async () => {
  const ns = bed.ns;
  await applyTask(ns, 'overrule', OVERRULE_GOAL, 2);
  const t = await waitForPhase(ns, 'overrule', ['Succeeded', 'Failed'], 300_000);
  expect({ phase: t.status?.phase, reason: t.status?.reason }).toEqual({ phase: 'Succeeded', reason: 'OwnTestsOverruled' });
  expect(t.status?.message).toContain('test_number');

  const listed = (await kube().core.listNamespacedPod({ namespace: ns, labelSelector: `${TASK_LABEL}=overrule` })).items;
  const pods = await Promise.all(listed.map(async (p) => (await waitStageDone(ns, p.metadata!.name!)).pod));
  for (const p of pods) expect({ pod: p.metadata!.name, node: onRealNode(p) }).toEqual({ pod: p.metadata!.name, node: true });
  const roles = pods.map((p) => `${p.metadata!.labels![ROLE_LABEL]}/${p.metadata!.labels!['autorun.dev/iteration']}`).sort();
  expect(roles).toEqual(['acceptance/2', 'code/1', 'repair/2', 'run/1', 'run/2', 'test/1', 'test/2']);
  // The revision Pod mounted the run's report: its model request named the flagged test's failing line.
  const revision = fake.requests.find((r) => systemText(r).includes('You are the test agent') && messagesText(r).includes('(overrule task)') && messagesText(r).includes('which failed at'));
  expect(messagesText(revision!)).toContain('which failed at `assert fizzbuzz(7) == "seven"`');
  expect(gitHost.show('fizzbuzz', 'autorun/overrule:fizzbuzz.py')).toBe(FIXED);
  expect(JSON.stringify(fake.requests.map((r) => r.body))).not.toContain('test_hidden_thirty');
});

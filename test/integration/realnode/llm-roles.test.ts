// The code, test and repair roles' Pods as the operator builds them, on the real kubelet, with both
// engines: the agent image's `autorun agent` clones from the git daemon on the bridge, calls the fake
// model server there (the SDK's tool loop, or the real Claude Code CLI in the image), commits and
// pushes its stage ref. The model key reaches the container only through its secretKeyRef.
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_CONTAINER, buildStagePod, WORKSPACE_DIR } from '../../../operator/src/controller/pods/build.js';
import { buildReportConfigMap, reportConfigMapName } from '../../../operator/src/controller/pods/report.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import type { Role } from '../../../operator/src/api/types.js';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply } from '../../fakes/anthropic-server.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import { createStageSecrets, logsOf, onRealNode, realNode, realPool, realTask, startGitHost, waitStageDone, type GitHost } from './support.js';

jest.setTimeout(300_000);

const API_KEY = 'sk-ant-real-node-llm-0f9e8d';
const GIT_TOKEN = 'real-node-llm-git-token-55aa';

const FIZZBUZZ = 'def fizzbuzz(n):\n    if n % 15 == 0:\n        return "FizzBuzz"\n    if n % 3 == 0:\n        return "Fizz"\n    if n % 5 == 0:\n        return "Buzz"\n    return str(n)\n';
const BUGGY = FIZZBUZZ.replace('n % 15 == 0', 'n % 10 == 0');
const TESTS = 'from fizzbuzz import fizzbuzz\n\ndef test_fizzbuzz():\n    assert fizzbuzz(15) == "FizzBuzz"\n\ndef test_fizz():\n    assert fizzbuzz(3) == "Fizz"\n';

let ns: string;
let gitHost: GitHost;
let repoURL: string;
let fake: FakeAnthropic | undefined;

beforeAll(async () => {
  ns = await createTestNamespace('rn-llm');
  await createStageSecrets(ns, { apiKey: API_KEY, gitToken: GIT_TOKEN });
  gitHost = await startGitHost();
  repoURL = gitHost.repo('fizzbuzz', { 'README.md': '# fizzbuzz\n' });
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

afterAll(async () => {
  await gitHost?.close();
  if (ns) await deleteNamespace(ns);
});

/** The one file the role writes, as a tool call of the engine's own tool set. */
function writeFile(engine: 'sdk' | 'claude-code', path: string, content: string): FakeReply {
  return engine === 'sdk'
    ? toolUse('write_file', { path, content })
    : toolUse('Write', { file_path: `${WORKSPACE_DIR}/${path}`, content });
}

interface Case {
  engine: 'sdk' | 'claude-code';
  role: Extract<Role, 'code' | 'test' | 'repair'>;
  /** The file the role writes and the ref it pushes. */
  file: string;
  content: string;
  ref: 'code' | 'tests';
}

const CASES: Case[] = (['sdk', 'claude-code'] as const).flatMap((engine) => [
  { engine, role: 'code', file: 'fizzbuzz.py', content: FIZZBUZZ, ref: 'code' },
  { engine, role: 'test', file: 'test_fizzbuzz.py', content: TESTS, ref: 'tests' },
  { engine, role: 'repair', file: 'fizzbuzz.py', content: FIZZBUZZ, ref: 'code' },
] as const);

test.each(CASES)('$role with the $engine engine: clones, calls the model, pushes its ref, from a real Pod', async (c) => {
  const task = `${c.role}-${c.engine === 'sdk' ? 'sdk' : 'cc'}`;
  // Claude Code refuses to overwrite a file it has not read: repair, whose file exists, reads it first.
  const read: FakeReply[] = c.engine === 'claude-code' && c.role === 'repair' ? [toolUse('Read', { file_path: `${WORKSPACE_DIR}/${c.file}` })] : [];
  fake = await startFakeAnthropic([...read, writeFile(c.engine, c.file, c.content), text(`Wrote ${c.file}.`)], realNode().ip);
  const t = realTask(ns, task, repoURL, { repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } } });
  const key: StageKey = { iteration: c.role === 'repair' ? 2 : 1, role: c.role, attempt: 0 };
  let context = {};
  let reportConfigMap: string | undefined;
  if (c.role === 'repair') {
    // Repair starts from merge(code, tests) with the run's failure report mounted from its ConfigMap.
    const code = gitHost.push('fizzbuzz', `refs/autorun/${task}/code`, { 'fizzbuzz.py': BUGGY });
    const tests = gitHost.push('fizzbuzz', `refs/autorun/${task}/tests`, { 'test_fizzbuzz.py': TESTS });
    const report = JSON.stringify({ role: 'run', commit: code, exitCode: 1, tests: { passed: 1, failed: 1, total: 2 }, failures: [{ name: 'test_fizzbuzz.py::test_fizzbuzz', message: "AssertionError: assert 'Fizz' == 'FizzBuzz'" }] });
    const cm = buildReportConfigMap(t, 1, report);
    cm.metadata!.ownerReferences = [];
    await kube().core.createNamespacedConfigMap({ namespace: ns, body: cm });
    reportConfigMap = reportConfigMapName(task, 1);
    context = { codeRef: code, testsRef: tests, failing: ['test_fizzbuzz.py::test_fizzbuzz'] };
  }
  const pod: V1Pod = buildStagePod({ task: t, pool: realPool({ namespace: ns, modelURL: fake.url, engine: c.engine }), key, name: stageName(task, key), context, reportConfigMap });
  pod.metadata!.ownerReferences = [];
  const started = Date.now();
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!);
  process.stderr.write(`${c.role}/${c.engine} Pod apply → finished: ${Date.now() - started} ms\n`);
  const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);

  // On a failure the matcher's diff shows the result's summary, which says why.
  expect({ onRealNode: onRealNode(done), phase: done.status?.phase, result: observed.result }).toMatchObject({
    onRealNode: true,
    phase: 'Succeeded',
    result: { role: c.role, outcome: 'Succeeded', ...(observed.result?.outcome === 'Succeeded' ? {} : { summary: 'a successful stage' }) },
  });
  const pushed = gitHost.resolve('fizzbuzz', `refs/autorun/${task}/${c.ref}`);
  expect(observed.result?.commit).toBe(pushed);
  expect(gitHost.show('fizzbuzz', `${pushed}:${c.file}`)).toBe(c.content);
  // The key came from the Secret; neither it nor the git token went into what the model was sent.
  expect(fake.requests.length).toBeGreaterThanOrEqual(2);
  // The SDK sends the key as a bearer token, Claude Code as x-api-key.
  const h = fake.requests[0]!.headers;
  expect(h['x-api-key'] ?? String(h.authorization).replace(/^Bearer /, '')).toBe(API_KEY);
  const sent = JSON.stringify(fake.requests.map((r) => r.body));
  expect(sent).not.toContain(API_KEY);
  expect(sent).not.toContain(GIT_TOKEN);
  if (c.role === 'repair') expect(sent).toContain("assert 'Fizz' == 'FizzBuzz'");
  // `kubectl logs` of the stage, from the real kubelet: the agent's transcript, no secret in it.
  expect(log).toContain('"event":"result"');
  expect(log).not.toContain(API_KEY);
  expect(log).not.toContain(GIT_TOKEN);
});

test("the test stage revising a flagged test, from a real Pod: the run's report is mounted from its ConfigMap, and the model is told the line that failed", async () => {
  const task = 'revise-sdk';
  const wrong = TESTS.replace('fizzbuzz(3) == "Fizz"', 'fizzbuzz(3) == "3"');
  const revised = TESTS;
  fake = await startFakeAnthropic([writeFile('sdk', 'test_fizzbuzz.py', revised), text('Revised test_fizz.')], realNode().ip);
  const t = realTask(ns, task, repoURL, { repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } } });
  const tests = gitHost.push('fizzbuzz', `refs/autorun/${task}/tests`, { 'test_fizzbuzz.py': wrong });
  const trace = 'def test_fizz():\n>       assert fizzbuzz(3) == "3"\nE       AssertionError: assert \'Fizz\' == \'3\'\n\ntest_fizzbuzz.py:7: AssertionError';
  const report = JSON.stringify({ role: 'run', exitCode: 1, tests: { passed: 1, failed: 1, total: 2 }, failures: [{ name: 'test_fizzbuzz.py::test_fizz', message: "AssertionError: assert 'Fizz' == '3'", trace }] });
  const cm = buildReportConfigMap(t, 2, report);
  cm.metadata!.ownerReferences = [];
  await kube().core.createNamespacedConfigMap({ namespace: ns, body: cm });
  const key: StageKey = { iteration: 2, role: 'test', attempt: 0 };
  const pod: V1Pod = buildStagePod({
    task: t,
    pool: realPool({ namespace: ns, modelURL: fake.url, engine: 'sdk' }),
    key,
    name: stageName(task, key),
    context: { testsRef: tests, flaggedTests: ['test_fizzbuzz.py::test_fizz'] },
    reportConfigMap: reportConfigMapName(task, 2),
  });
  pod.metadata!.ownerReferences = [];
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!);
  expect({ onRealNode: onRealNode(done), phase: done.status?.phase, result: observed.result }).toMatchObject({
    onRealNode: true,
    phase: 'Succeeded',
    result: { role: 'test', outcome: 'Succeeded', ...(observed.result?.outcome === 'Succeeded' ? {} : { summary: 'a successful stage' }) },
  });
  const pushed = gitHost.resolve('fizzbuzz', `refs/autorun/${task}/tests`);
  expect(gitHost.show('fizzbuzz', `${pushed}:test_fizzbuzz.py`)).toBe(revised);
  const prompt = JSON.stringify(fake.requests[0]!.body);
  // The flagged test's own failing line reached the model; what the code returned did not.
  expect(prompt).toContain("which failed at `assert fizzbuzz(3) == \\\"3\\\"`");
  expect(prompt).not.toContain("assert 'Fizz' == '3'");
});

// The run role's Pod exactly as the operator builds it (buildStagePod), on the real kubelet: the
// checkout init container (agent image) clones from a git daemon on the bridge and copies the agent
// program; the main container (the python toolchain image) runs that copy, pytest decides, and the
// result reaches the operator through the termination message. The tests of the checked-out project
// themselves probe the sandbox from inside: uid, read-only root, no service-account token, no secret.
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { buildStagePod, CHECKOUT_CONTAINER, AGENT_CONTAINER, STAGE_UID } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import {
  createStageSecrets,
  image,
  logsOf,
  onRealNode,
  realPool,
  realTask,
  startGitHost,
  waitStageDone,
  type GitHost,
} from './support.js';

jest.setTimeout(240_000);

const GIT_TOKEN_PARTS = ['real-node-', 'git-token-', '7d41c9'];
const API_KEY_PARTS = ['sk-ant-', 'real-node-', 'a9e3'];

const FIZZBUZZ_OK = `def fizzbuzz(n):
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
`;
const FIZZBUZZ_BUG = FIZZBUZZ_OK.replace('n % 15 == 0', 'n % 10 == 0');

const TESTS = `from fizzbuzz import fizzbuzz

def test_fizz():
    assert fizzbuzz(3) == "Fizz"

def test_buzz():
    assert fizzbuzz(5) == "Buzz"

def test_fizzbuzz():
    assert fizzbuzz(15) == "FizzBuzz"

def test_number():
    assert fizzbuzz(7) == "7"
`;

// The secrets are assembled at run time, so the file itself does not hold them.
const SANDBOX_TESTS = `import errno, os, pathlib

SECRETS = [${JSON.stringify(GIT_TOKEN_PARTS)}, ${JSON.stringify(API_KEY_PARTS)}]
SECRETS = ["".join(p) for p in SECRETS]

def test_runs_as_the_stage_user():
    assert (os.getuid(), os.getgid()) == (${STAGE_UID}, ${STAGE_UID})

def test_root_filesystem_is_read_only():
    try:
        open("/sandbox-probe", "w")
    except OSError as e:
        assert e.errno == errno.EROFS
    else:
        raise AssertionError("wrote to the root filesystem")

def test_no_service_account_token():
    assert not os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount")

def test_no_secret_in_env_or_files():
    assert "AUTORUN_GIT_TOKEN" not in os.environ
    assert "ANTHROPIC_API_KEY" not in os.environ
    for s in SECRETS:
        assert all(s not in v for v in os.environ.values())
    for root in ("/workspace", "/autorun", "/tmp"):
        for p in pathlib.Path(root).rglob("*"):
            if p.is_file() and not p.is_symlink() and p.stat().st_size < (1 << 20):
                data = p.read_bytes()
                for s in SECRETS:
                    assert s.encode() not in data, str(p)
`;

let ns: string;
let gitHost: GitHost;
let repoURL: string;

beforeAll(async () => {
  ns = await createTestNamespace('rn-run');
  await createStageSecrets(ns, { apiKey: API_KEY_PARTS.join(''), gitToken: GIT_TOKEN_PARTS.join('') });
  gitHost = await startGitHost();
  repoURL = gitHost.repo('fizzbuzz', { 'README.md': '# fizzbuzz\n' });
});

afterAll(async () => {
  await gitHost?.close();
  if (ns) await deleteNamespace(ns);
});

/** The run Pod of `task` for the given code, as the operator would create it, applied and awaited. */
async function runStage(task: string, code: string): Promise<{ pod: V1Pod; observed: Awaited<ReturnType<typeof waitStageDone>>['observed'] }> {
  const codeSha = gitHost.push('fizzbuzz', `refs/autorun/${task}/code`, { 'fizzbuzz.py': code });
  const testsSha = gitHost.push('fizzbuzz', `refs/autorun/${task}/tests`, { 'test_fizzbuzz.py': TESTS, 'test_sandbox.py': SANDBOX_TESTS });
  const t = realTask(ns, task, repoURL, { repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } } });
  const key: StageKey = { iteration: 1, role: 'run', attempt: 0 };
  const pod = buildStagePod({ task: t, pool: realPool({ namespace: ns }), key, name: stageName(task, key), context: { codeRef: codeSha, testsRef: testsSha } });
  // No owner: the CodingTask is not created here, and the garbage collector would delete an orphan.
  pod.metadata!.ownerReferences = [];
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  return waitStageDone(ns, pod.metadata!.name!);
}

test('passing tests: checkout, toolchain image, copied runner, sandbox checks, Succeeded', async () => {
  const started = Date.now();
  const { pod, observed } = await runStage('pass', FIZZBUZZ_OK);
  process.stderr.write(`run Pod (passing) apply → Succeeded: ${Date.now() - started} ms\n`);
  expect(onRealNode(pod)).toBe(true);
  expect(pod.status?.phase).toBe('Succeeded');
  const checkout = pod.status?.initContainerStatuses?.find((c) => c.name === CHECKOUT_CONTAINER);
  expect(checkout?.state?.terminated?.exitCode).toBe(0);
  const agent = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
  expect(agent?.image).toContain(image('python').split(':')[0]);
  expect(agent?.state?.terminated?.exitCode).toBe(0);
  // The sandbox probes are tests of the project: a failing one would be named here.
  expect(observed.result).toMatchObject({ role: 'run', outcome: 'Succeeded', tests: { passed: 8, failed: 0, total: 8, failing: [] } });
  expect(observed.failureReason).toBeUndefined();
  // `kubectl logs` reaches the real kubelet: the agent's transcript of each container.
  const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);
  expect(log).toContain('"event":"test-finished","exitCode":0');
  expect(log).toContain('8 of 8 tests pass');
  expect(await logsOf(ns, pod.metadata!.name!, CHECKOUT_CONTAINER)).toContain('"phase":"checkout"');
});

test('failing tests: outcome Failed naming the failing test, exit 0, the log shows pytest', async () => {
  const { pod, observed } = await runStage('fail', FIZZBUZZ_BUG);
  expect(onRealNode(pod)).toBe(true);
  expect(observed.result).toMatchObject({ role: 'run', outcome: 'Failed', tests: { passed: 7, failed: 1, total: 8 } });
  expect(observed.result?.tests?.failing?.join(' ')).toContain('test_fizzbuzz');
  const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);
  // pytest's own failure output, in the failure report the repair role is handed.
  expect(log).toContain('FAILED test_fizzbuzz.py::test_fizzbuzz');
  expect(log).toContain("assert 'Fizz' == 'FizzBuzz'");
});

test('a ref the git host does not have: the checkout init container reports GitFailed naming it, the Pod fails', async () => {
  const task = 'missing';
  const t = realTask(ns, task, repoURL);
  const key: StageKey = { iteration: 1, role: 'run', attempt: 0 };
  const pod = buildStagePod({ task: t, pool: realPool({ namespace: ns }), key, name: stageName(task, key), context: { codeRef: `refs/autorun/${task}/code`, testsRef: `refs/autorun/${task}/tests` } });
  pod.metadata!.ownerReferences = [];
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!);
  expect(onRealNode(done)).toBe(true);
  expect(done.status?.phase).toBe('Failed');
  // The agent program in the init container writes the result itself; the main container never ran.
  expect(observed.result).toMatchObject({ role: 'run', outcome: 'Error', reason: 'GitFailed', summary: expect.stringContaining('refs/autorun/missing/code') });
  expect(done.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated).toBeUndefined();
});

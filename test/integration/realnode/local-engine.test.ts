// The local engine in a real Pod: a code stage of a pool with `provider: local`, as the operator
// builds it, on the real kubelet. The agent image's node-llama-cpp (llama.cpp's linux-x64 CPU build)
// runs the real model (Qwen2.5-Coder-1.5B), read from spec.model.volume (a hostPath of this
// machine's model cache, which `make model` fills); the agent writes fizzbuzz.py and pushes its
// ref. One stage only: the model takes ~2.3 GB of the node's memory while it runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_CONTAINER, buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import { catalogModel, DEFAULT_LOCAL_MODEL } from '../../../operator/src/agent/local-model/catalog.js';
import { cachedPath, modelCacheDir } from '../../../operator/src/agent/local-model/store.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import { createStageSecrets, logsOf, onRealNode, realPool, realTask, startGitHost, waitStageDone, type GitHost } from './support.js';

// The goal of manifests/examples/local/fizzbuzz.yaml, whose code stage the real-model test also runs.
const GOAL =
  'Implement fizzbuzz(n) in fizzbuzz.py at the root of the repository. For an integer n >= 1 it returns "Fizz" when n is divisible by 3, "Buzz" when divisible by 5, "FizzBuzz" when divisible by both, and otherwise the number as a string (fizzbuzz(7) == "7"). For n < 1 it raises ValueError. Tests use pytest and import it with `from fizzbuzz import fizzbuzz`.';
const STAGE_TIMEOUT_S = 1800;

let ns: string;
let gitHost: GitHost;

beforeAll(async () => {
  ns = await createTestNamespace('rn-local');
  await createStageSecrets(ns, { apiKey: 'unused-by-provider-local', gitToken: 'real-node-local-git-token' });
  gitHost = await startGitHost();
});

afterAll(async () => {
  await gitHost?.close();
  if (ns) await deleteNamespace(ns);
});

test('a code stage on the local engine: the real model in a real Pod, from the model volume', async () => {
  const model = catalogModel(DEFAULT_LOCAL_MODEL)!;
  // `make test` and `make test-integration` fetch it first (make model).
  expect(existsSync(cachedPath(model))).toBe(true);
  const repoURL = gitHost.repo('local-fizzbuzz', { 'README.md': `# fizzbuzz\n\n${GOAL}\n` });
  const task = 'local-code';
  const t = realTask(ns, task, repoURL, { goal: GOAL, repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } } });
  const pool = realPool({ namespace: ns, llmTimeoutSeconds: STAGE_TIMEOUT_S });
  pool.spec.model = { provider: 'local', name: DEFAULT_LOCAL_MODEL, volume: { hostPath: modelCacheDir() } };
  // One CPU: one llama.cpp thread (the Pod builder follows the limit), as in the real-model test.
  pool.spec.roles!.code = { ...pool.spec.roles!.code, resources: { requests: { cpu: '1', memory: '3Gi' }, limits: { cpu: '1', memory: '4Gi' } } };
  const key: StageKey = { iteration: 1, role: 'code', attempt: 0 };
  const pod: V1Pod = buildStagePod({ task: t, pool, key, name: stageName(task, key), context: {} });
  pod.metadata!.ownerReferences = [];
  const started = Date.now();
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!, (STAGE_TIMEOUT_S + 120) * 1000);
  process.stderr.write(`local-engine code Pod apply → finished: ${Date.now() - started} ms\n`);
  const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);

  expect({ onRealNode: onRealNode(done), phase: done.status?.phase, result: observed.result }).toMatchObject({
    onRealNode: true,
    phase: 'Succeeded',
    result: { role: 'code', outcome: 'Succeeded' },
  });
  // The model came from the volume, not a download into the Pod.
  const loaded = log.split('\n').find((l) => l.includes('"event":"model-loaded"'));
  expect(loaded).toContain(`"path":"/models/${model.name}-${model.sha256.slice(0, 16)}.gguf"`);
  expect(log).not.toContain('"event":"model-fetch"');

  const pushed = gitHost.resolve('local-fizzbuzz', `refs/autorun/${task}/code`);
  expect(observed.result?.commit).toBe(pushed);
  // What the model wrote, judged on this machine by values the goal states.
  const code = gitHost.show('local-fizzbuzz', `${pushed}:fizzbuzz.py`);
  const check = spawnSync('python3', ['-c', `${code}\nassert [fizzbuzz(n) for n in (1, 3, 5, 7, 15, 30, 98)] == ["1", "Fizz", "Buzz", "7", "FizzBuzz", "FizzBuzz", "98"]\ntry:\n    fizzbuzz(0)\nexcept ValueError:\n    print("ok")`], { encoding: 'utf8' });
  expect({ status: check.status, stdout: check.stdout.trim(), stderr: check.stderr }).toEqual({ status: 0, stdout: 'ok', stderr: '' });
}, (STAGE_TIMEOUT_S + 300) * 1000);

// The chart for real: `helm install` of charts/autorun with the image hack/build-images.sh built
// (imported into the real node's containerd), its two operator replicas running as Pods on the real
// node, one of them leading, and that operator driving a CodingTask whose stage Pods run on the
// real node too — code ∥ test against the fake model server, run against a git daemon, both on the
// bridge address. There is no kube-proxy, so the operator reaches the apiserver through the chart's
// apiServer knob. Figures (apply → first stage container running, stage finished → next stage
// container running) go to /tmp/autorun-realnode-chart-figures.json; nothing here asserts a duration.
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GROUP, VERSION, type CodingTask } from '../../../operator/src/api/types.js';
import { AGENT_CONTAINER, CHECKOUT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { ROLE_LABEL, TASK_LABEL } from '../../../operator/src/controller/pods/labels.js';
import { startFakeAnthropic, systemText, text, toolUse, type FakeAnthropic, type FakeReply, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { createTestNamespace, deleteNamespace, eventually, kube } from '../../harness/kube.js';
import { kubectl } from '../../harness/kubectl.js';
import { tool } from '../../harness/tools.js';
import { REAL_NODE_SELECTOR, REAL_NODE_TOLERATION } from '../../harness/real-node.js';
import { createStageSecrets, image, logsOf, onRealNode, realNode, realPool, realTask, startGitHost, type GitHost } from './support.js';

jest.setTimeout(600_000);

const run = promisify(execFile);
const RELEASE = 'autorun';
const FULLNAME = 'autorun-autorun';
const FIGURES = '/tmp/autorun-realnode-chart-figures.json';

const IMPL = 'def fizzbuzz(n):\n    if n % 15 == 0:\n        return "FizzBuzz"\n    if n % 3 == 0:\n        return "Fizz"\n    if n % 5 == 0:\n        return "Buzz"\n    return str(n)\n';
const TESTS = 'from fizzbuzz import fizzbuzz\n\ndef test_fizz():\n    assert fizzbuzz(9) == "Fizz"\n\ndef test_fizzbuzz():\n    assert fizzbuzz(30) == "FizzBuzz"\n\ndef test_number():\n    assert fizzbuzz(7) == "7"\n';

/** The model: the code agent writes the implementation, the test agent the tests. */
function model(req: RecordedRequest): FakeReply {
  const sys = systemText(req);
  const turn = req.body.messages.filter((m) => m.role === 'assistant').length;
  if (sys.includes('You are the code agent')) return turn === 0 ? toolUse('write_file', { path: 'fizzbuzz.py', content: IMPL }) : text('Implemented fizzbuzz');
  if (sys.includes('You are the test agent')) return turn === 0 ? toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: TESTS }) : text('Wrote 3 tests');
  throw new Error(`unexpected system prompt: ${sys.slice(0, 80)}`);
}

async function helm(args: string[]): Promise<string> {
  const home = join(tmpdir(), 'autorun-helm-realnode');
  const { stdout } = await run(tool('helm'), args, { env: { ...process.env, HELM_CACHE_HOME: `${home}/cache`, HELM_CONFIG_HOME: `${home}/config`, HELM_DATA_HOME: `${home}/data` }, maxBuffer: 16 << 20 });
  return stdout;
}

/** When the test first saw each container of each Pod running (or already ended), and ended. */
class PodClock {
  readonly running = new Map<string, number>();
  readonly ended = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  readonly pods = new Map<string, V1Pod>();

  constructor(private readonly namespace: string) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch(() => undefined);
    }, 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  private async poll(): Promise<void> {
    const list = await kube().core.listNamespacedPod({ namespace: this.namespace });
    const now = Date.now();
    for (const pod of list.items) {
      const name = pod.metadata!.name!;
      this.pods.set(name, pod);
      for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
        const key = `${name}/${c.name}`;
        if ((c.state?.running || c.state?.terminated) && !this.running.has(key)) this.running.set(key, now);
        if (c.state?.terminated && !this.ended.has(key)) this.ended.set(key, now);
      }
    }
  }
}

describe('the chart on the real node', () => {
  let opNs: string;
  let teamNs: string;
  let host: GitHost;
  let fake: FakeAnthropic;
  let valuesDir: string;
  let leader = '';

  beforeAll(async () => {
    const node = realNode();
    opNs = await createTestNamespace('chart-op');
    teamNs = await createTestNamespace('chart-team');
    host = await startGitHost();
    fake = await startFakeAnthropic(model, node.ip);
    valuesDir = mkdtempSync(join(tmpdir(), 'autorun-chart-values-'));
  });
  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', opNs, '--wait', '--timeout', '60s']).catch(() => undefined);
    await deleteNamespace(teamNs);
    await deleteNamespace(opNs);
    await fake?.close();
    await host?.close();
    rmSync(valuesDir, { recursive: true, force: true });
  });

  it('installs, runs two operator Pods on the real node with one leader, and they drive a task whose stage Pods run there', async () => {
    const node = realNode();
    const api = new URL(node.apiserverFromPods);
    const [repository, tag] = image('autorun').split(/:(?=[^:/]+$)/);
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(tag).toBe(version); // the chart's default tag is its appVersion: the built image is that
    // JSON is YAML: the values a user of a cluster without kube-proxy would set, plus the real node.
    const values = join(valuesDir, 'values.yaml');
    writeFileSync(values, JSON.stringify({
      image: { repository, pullPolicy: 'Never' },
      apiServer: { host: api.hostname, port: Number(api.port) },
      watchNamespace: teamNs,
      nodeSelector: { ...REAL_NODE_SELECTOR },
      tolerations: [{ ...REAL_NODE_TOLERATION }],
    }));
    await helm(['install', RELEASE, 'charts/autorun', '-n', opNs, '--skip-crds', '-f', values]);

    // Both replicas Ready on the real node: each started from the image and reached the apiserver.
    const operators = await eventually(async () => {
      const pods = (await kube().core.listNamespacedPod({ namespace: opNs, labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items;
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (ready.length !== 2) {
        const states = pods.map((p) => `${p.metadata!.name} ${p.spec?.nodeName} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`);
        throw new Error(`want 2 Ready operator Pods, have: ${states.join('; ') || 'none'}`);
      }
      return ready;
    }, { timeoutMs: 180_000, intervalMs: 500 });
    for (const p of operators) {
      expect(onRealNode(p)).toBe(true);
      expect(p.spec!.containers[0]!.image).toBe(image('autorun'));
      expect(p.spec!.containers[0]!.env).toEqual(expect.arrayContaining([{ name: 'KUBERNETES_SERVICE_HOST', value: api.hostname }, { name: 'KUBERNETES_SERVICE_PORT', value: api.port }]));
    }
    const names = operators.map((p) => p.metadata!.name!);
    const lease = await eventually(async () => {
      const l = await kube().coordination.readNamespacedLease({ namespace: opNs, name: `${FULLNAME}-leader` });
      if (!names.includes(l.spec?.holderIdentity ?? '')) throw new Error(`lease held by ${l.spec?.holderIdentity}, not one of ${names.join(', ')}`);
      return l;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    leader = lease.spec!.holderIdentity!;

    await createStageSecrets(teamNs, { apiKey: 'sk-ant-realnode-chart-0123456789', gitToken: 'realnode-chart-git-token' });
    await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: teamNs, plural: 'agentpools', body: realPool({ namespace: teamNs, modelURL: fake.url }) });
    const repo = host.repo('chart-fizz', { 'README.md': 'fizzbuzz\n' });
    const clock = new PodClock(teamNs);
    clock.start();
    const applied = Date.now();
    await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: teamNs, plural: 'codingtasks', body: realTask(teamNs, 'fizz', repo) });
    const task = await eventually(async () => {
      const t = (await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: teamNs, plural: 'codingtasks', name: 'fizz' })) as CodingTask;
      const phase = t.status?.phase;
      if (phase === 'Failed') return t; // reported below, with the Pods
      if (phase !== 'Succeeded') throw new Error(`task fizz is ${phase ?? 'new'}: ${JSON.stringify(t.status?.conditions ?? [])}`);
      return t;
    }, { timeoutMs: 420_000, intervalMs: 500 });
    const succeeded = Date.now();
    await clock.stop();
    const pods = [...clock.pods.values()].filter((p) => p.metadata?.labels?.[TASK_LABEL] === 'fizz');
    // On a failure: the status and every stage's result, as the kubelet reported them.
    const results = pods.map((p) => `${p.metadata!.name}: ${p.status?.phase} ${[...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].map((c) => c.state?.terminated?.message ?? '').join(' ')}`);
    expect(`${task.status?.phase} ${task.status?.reason ?? ''} ${task.status?.message ?? ''}\n${results.join('\n')}`).toMatch(/^Succeeded /);

    // Every stage on the real node; the run stage's tests ran in the python toolchain, for real.
    const role = (r: string) => pods.filter((p) => p.metadata!.labels![ROLE_LABEL] === r);
    expect(pods.map((p) => p.metadata!.labels![ROLE_LABEL]).sort()).toEqual(['code', 'run', 'test']);
    for (const p of pods) expect(`${p.metadata!.name} on ${p.spec?.nodeName}`).toBe(`${p.metadata!.name} on ${node.name}`);
    const runPod = role('run')[0]!;
    expect(await logsOf(teamNs, runPod.metadata!.name!, AGENT_CONTAINER)).toMatch(/3 of 3 tests pass/);
    expect(fake.requests.length).toBeGreaterThanOrEqual(4);
    // The leader did it: its log names the task; the follower's does not (it does not reconcile).
    const logs = async (pod: string) => (await kubectl(['logs', '-n', opNs, pod])).stdout;
    expect(await logs(leader)).toMatch(/fizz/);
    expect(await logs(names.find((n) => n !== leader)!)).not.toMatch(/fizz/);

    const first = Math.min(...[...role('code'), ...role('test')].map((p) => clock.running.get(`${p.metadata!.name}/${AGENT_CONTAINER}`)!));
    // A stage is over for the operator when its agent container has ended (observeStage), before
    // the Pod's phase follows; the run stage starts when both code and test are over.
    const firstDone = Math.max(...[...role('code'), ...role('test')].map((p) => clock.ended.get(`${p.metadata!.name}/${AGENT_CONTAINER}`)!));
    const runName = runPod.metadata!.name!;
    const figures = {
      note: 'real node, chart-installed operator (2 replicas) as Pods; the test polls Pods every 100 ms, so each figure is up to 100 ms late',
      applyToFirstStageContainerRunningMs: first - applied,
      codeAndTestEndedToRunCheckoutRunningMs: clock.running.get(`${runName}/${CHECKOUT_CONTAINER}`)! - firstDone,
      codeAndTestEndedToRunAgentRunningMs: clock.running.get(`${runName}/${AGENT_CONTAINER}`)! - firstDone,
      applyToSucceededMs: succeeded - applied,
      operatorPods: names,
      leader,
    };
    writeFileSync(FIGURES, `${JSON.stringify(figures, null, 2)}\n`);
    process.stdout.write(`[realnode chart] ${JSON.stringify(figures)}\n`);
    for (const v of [figures.applyToFirstStageContainerRunningMs, figures.codeAndTestEndedToRunCheckoutRunningMs, figures.codeAndTestEndedToRunAgentRunningMs]) expect(Number.isFinite(v)).toBe(true);
  });

  it('when the leader Pod is deleted another operator Pod takes the Lease and drives the next task', async () => {
    expect(leader).not.toBe('');
    // A graceful delete: the kubelet sends SIGTERM and the leader releases its Lease on the way out.
    const deleted = Date.now();
    await kube().core.deleteNamespacedPod({ namespace: opNs, name: leader });
    const next = await eventually(async () => {
      const l = await kube().coordination.readNamespacedLease({ namespace: opNs, name: `${FULLNAME}-leader` });
      const holder = l.spec?.holderIdentity ?? '';
      if (!holder || holder === leader) throw new Error(`lease still held by ${holder || 'nobody'}`);
      return holder;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    const takenOver = Date.now();
    const pod = await kube().core.readNamespacedPod({ namespace: opNs, name: next });
    expect(onRealNode(pod)).toBe(true);

    const repo = host.repo('chart-fizz2', { 'README.md': 'fizzbuzz\n' });
    await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: teamNs, plural: 'codingtasks', body: realTask(teamNs, 'fizz2', repo) });
    const task = await eventually(async () => {
      const t = (await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: teamNs, plural: 'codingtasks', name: 'fizz2' })) as CodingTask;
      if (t.status?.phase !== 'Succeeded' && t.status?.phase !== 'Failed') throw new Error(`task fizz2 is ${t.status?.phase ?? 'new'}`);
      return t;
    }, { timeoutMs: 420_000, intervalMs: 500 });
    expect(`${task.status?.phase} ${task.status?.reason ?? ''} ${task.status?.message ?? ''}`).toMatch(/^Succeeded /);
    const stages = (await kube().core.listNamespacedPod({ namespace: teamNs, labelSelector: `${TASK_LABEL}=fizz2` })).items;
    expect(stages.map((p) => `${p.metadata!.labels![ROLE_LABEL]} on ${p.spec?.nodeName}`).sort()).toEqual(['code', 'run', 'test'].map((r) => `${r} on ${realNode().name}`));
    expect((await kubectl(['logs', '-n', opNs, next])).stdout).toMatch(/fizz2/);
    const figures = { ...(JSON.parse(readFileSync(FIGURES, 'utf8')) as object), leaderPodDeletedToNewHolderMs: takenOver - deleted, newLeader: next };
    writeFileSync(FIGURES, `${JSON.stringify(figures, null, 2)}\n`);
    process.stdout.write(`[realnode chart] failover ${JSON.stringify({ leaderPodDeletedToNewHolderMs: takenOver - deleted })}\n`);
  });
});

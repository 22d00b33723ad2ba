// The watches under the network faults a long-running operator meets: connections reset, the
// apiserver unreachable for seconds, a watch that stays open but goes silent, and a resourceVersion
// that etcd compacted away (410 Gone). The apiserver is real; only the TCP path to it is broken,
// by a proxy in between.
import { jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, type CodingTask } from '../../../operator/src/api/types.js';
import { ResilientInformer, type InformerEvent } from '../../../operator/src/controller/informer.js';
import { ControlPlane } from '../../harness/control-plane.js';
import { installCrds } from '../../harness/cluster.js';
import { FaultProxy } from '../../harness/fault-proxy.js';
import { createTestNamespace, deleteNamespace, eventually, kube } from '../../harness/kube.js';
import { createLogger } from '../../../operator/src/util/log.js';
import { createPool, createTask, success, TestBed, waitForPhase } from './support.js';

jest.setTimeout(180_000);

const log = createLogger('test', process.env.AUTORUN_VERBOSE ? 'debug' : 'error');

function taskBody(namespace: string, name: string) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CodingTask',
    metadata: { name, namespace },
    spec: { pool: 'default', goal: 'Implement fizzbuzz(n).', language: 'python' },
  };
}

/** A CodingTask informer as the operator builds one, with a record of what its handlers saw. */
function taskInformer(kc: k8s.KubeConfig, namespace: string, quietRelistMs = 10 * 60_000) {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const seen: [InformerEvent, string][] = [];
  let lists = 0;
  const inf = new ResilientInformer<CodingTask>({
    name: 'codingtasks',
    kc,
    path: `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/codingtasks`,
    list: () => {
      lists++;
      return custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'codingtasks', namespace }) as Promise<{ items: CodingTask[] }>;
    },
    quietRelistMs,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    log,
  });
  inf.on((event, obj) => seen.push([event, obj.metadata.name]));
  return { inf, seen, lists: () => lists };
}

const names = (inf: ResilientInformer<CodingTask>) => inf.list().map((t) => t.metadata.name).sort();

/** The informer's first list is cached before its watch connects: an object it sees proves the watch is up. */
async function watchIsLive(inf: ResilientInformer<CodingTask>, create: () => Promise<unknown>, name: string): Promise<void> {
  await create();
  await eventually(() => expect(names(inf)).toContain(name), { timeoutMs: 15_000 });
}

describe('on the shared control plane', () => {
  let ns: string;
  let proxy: FaultProxy;
  let admin: k8s.CustomObjectsApi;

  beforeAll(async () => {
    ns = await createTestNamespace('watch-faults');
    proxy = await FaultProxy.start(kube().config.getCurrentCluster()!.server);
    admin = kube().custom;
  });

  afterAll(async () => {
    await proxy?.stop();
    await deleteNamespace(ns);
  });

  const create = (name: string) => admin.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', body: taskBody(ns, name) });
  const remove = (name: string) => admin.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name });

  test('reset connections and an unreachable apiserver: the watch restarts with backoff and catches up, deletions included', async () => {
    const { inf, seen } = taskInformer(proxy.kubeConfig(kube().config), ns);
    await inf.start();
    try {
      await watchIsLive(inf, () => create('reset-a'), 'reset-a');
      // A reset watch stream ends; the watch resumes from its last resourceVersion.
      proxy.reset();
      await create('reset-b');
      await eventually(() => expect(names(inf)).toContain('reset-b'), { timeoutMs: 15_000 });

      // No apiserver until the informer has failed to reconnect twice (a condition, not a fixed
      // outage: how many attempts fit in a given time depends on the machine).
      const before = inf.restarts;
      proxy.down();
      await remove('reset-a');
      await create('reset-c');
      // Reconnecting to nothing is an error, on which client-node's ListWatch stops: restarted here.
      await eventually(() => expect(inf.restarts).toBeGreaterThan(before + 1), { timeoutMs: 30_000 });
      expect(names(inf)).toEqual(['reset-a', 'reset-b']);
      proxy.up();
      await eventually(() => expect(names(inf)).toEqual(['reset-b', 'reset-c']), { timeoutMs: 20_000 });
      await Promise.all(['reset-b', 'reset-c'].map(remove));
      expect(seen).toContainEqual(['delete', 'reset-a']);
      expect(seen).toContainEqual(['add', 'reset-c']);
    } finally {
      await inf.stop();
    }
  });

  test('a watch that stays open but goes silent is replaced by a fresh list + watch, and what it missed arrives', async () => {
    const { inf, seen, lists } = taskInformer(proxy.kubeConfig(kube().config), ns, 2000);
    // A witness on a direct connection: what it has seen, a live watch was sent.
    const witness = taskInformer(kube().config, ns).inf;
    await Promise.all([inf.start(), witness.start()]);
    try {
      await watchIsLive(inf, () => create('stall-a'), 'stall-a');
      expect(lists()).toBe(1);
      expect(proxy.freezeOpen()).toBeGreaterThan(0);
      // Nothing reaches the frozen watch: neither the new task nor the deletion.
      await remove('stall-a');
      await create('stall-b');
      await eventually(() => expect(names(witness)).toEqual(['stall-b']), { timeoutMs: 15_000, intervalMs: 20 });
      expect(names(inf)).toContain('stall-a');
      await eventually(() => expect(names(inf)).toEqual(['stall-b']), { timeoutMs: 15_000 });
      expect(inf.relists).toBeGreaterThanOrEqual(1);
      expect(lists()).toBeGreaterThanOrEqual(2);
      // The deletion the frozen watch never delivered reaches the handlers as a delete.
      expect(seen).toContainEqual(['delete', 'stall-a']);
    } finally {
      await Promise.all([inf.stop(), witness.stop()]);
      proxy.reset();
    }
  });
});

describe('an operator whose apiserver connections break mid-task', () => {
  let bed: TestBed;
  let proxy: FaultProxy;

  beforeAll(async () => {
    bed = await TestBed.create('ctl-faults');
    await bed.gpuNodes(1);
    await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 1, maxConcurrentTasks: 4 });
    proxy = await FaultProxy.start(kube().config.getCurrentCluster()!.server);
  });

  afterAll(async () => {
    await bed?.tearDown();
    await proxy?.stop();
  });

  test('resets and an outage while stages run: the task still succeeds, and no stage runs twice', async () => {
    const ns = bed.ns;
    // The agents take a while, so the faults land while Pods are running and status is being written.
    bed.scripts.set('faulty', (s) => ({ result: success(s), delayMs: 1500 }));
    const agents = await bed.startAgents();
    const operator = await bed.startOperator({
      kc: proxy.kubeConfig(bed.kc),
      // A lease that outlives the outage: this test is about the watches, not about failover.
      leaderElection: { namespace: ns, name: 'autorun-operator', leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 500 },
      quietRelistMs: 3000,
    });
    await createTask(ns, 'faulty');
    await eventually(() => expect(agents.stagesOf('faulty').length).toBeGreaterThan(0), { timeoutMs: 20_000 });
    // Faults on conditions, not on the clock: the reset first, until every watch has restarted
    // and the operator is connected again (its requests share one connection); then the outage,
    // until every watch has tried to come back once more and been refused.
    const informers = [operator.tasks, operator.pods, operator.pools];
    const restarted = (since: number[]) => informers.every((inf, i) => inf.restarts > since[i]!);
    let since = informers.map((i) => i.restarts);
    const accepted = proxy.accepted;
    proxy.reset();
    await eventually(() => restarted(since) && proxy.accepted > accepted, { timeoutMs: 20_000, intervalMs: 20 });
    since = informers.map((i) => i.restarts);
    const refused = proxy.refused;
    proxy.down();
    await eventually(() => restarted(since) && proxy.refused > refused, { timeoutMs: 30_000, intervalMs: 20 });
    proxy.up();
    proxy.reset();
    const t = await waitForPhase(ns, 'faulty', ['Succeeded', 'Failed'], 90_000);
    expect(t.status?.phase).toBe('Succeeded');
    const stages = agents.stagesOf('faulty').map((s) => `${s.role}/i${s.iteration}/a${s.attempt}`).sort();
    expect(stages).toEqual(['code/i1/a0', 'run/i1/a0', 'test/i1/a0']);
    expect(operator.tasks.restarts + operator.pods.restarts + operator.pools.restarts).toBeGreaterThan(0);
  });
});

describe('410 Gone: a resourceVersion etcd has compacted away', () => {
  // Watches read etcd directly (no watch cache), so a compacted resourceVersion is answered with
  // 410 Gone exactly as a busy cluster's watch cache answers one that fell out of its window.
  let cp: ControlPlane;
  let proxy: FaultProxy;

  beforeAll(async () => {
    cp = await ControlPlane.start({ apiserverArgs: ['--watch-cache=false'] });
    await installCrds(cp.kubeconfig);
    proxy = await FaultProxy.start(cp.server);
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    await cp?.stop();
  });

  /** Compacts etcd up to its current revision through its v3 JSON gateway. */
  async function compactEtcd(): Promise<number> {
    const etcd = `http://127.0.0.1:${cp.ports.etcdClient}`;
    const post = async (path: string, body: object) => {
      const r = await fetch(`${etcd}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`etcd ${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as { header: { revision: string } };
    };
    const { header } = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
    await post('/v3/kv/compaction', { revision: header.revision, physical: true });
    return Number(header.revision);
  }

  test('the informer resumes from its old resourceVersion, gets 410 from the real apiserver, and relists', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const ns = 'gone';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const create = (name: string) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', body: taskBody(ns, name) });
    const { inf, seen, lists } = taskInformer(proxy.kubeConfig(kc), ns);
    await inf.start();
    try {
      await watchIsLive(inf, () => create('gone-a'), 'gone-a');
      const lastSeen = inf.get('gone-a', ns)!.metadata.resourceVersion!;
      // The watch goes silent; meanwhile the world moves on and etcd forgets the old revisions.
      expect(proxy.freezeOpen()).toBeGreaterThan(0);
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name: 'gone-a' });
      await create('gone-b');
      await compactEtcd();
      // The real apiserver now refuses a watch from the informer's last resourceVersion with 410.
      const refused = await watchStatus(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/codingtasks`, lastSeen);
      expect(refused).toBe(410);

      // The connection breaks: the informer resumes from lastSeen, is told 410, and relists.
      proxy.reset();
      await eventually(() => expect(names(inf)).toEqual(['gone-b']), { timeoutMs: 20_000 });
      expect(lists()).toBe(2);
      expect(seen).toContainEqual(['delete', 'gone-a']);
      expect(seen).toContainEqual(['add', 'gone-b']);
    } finally {
      await inf.stop();
    }
  });
});

/** The code of a watch from `resourceVersion`: 410 comes as an ERROR event inside a 200 stream. */
async function watchStatus(kc: k8s.KubeConfig, path: string, resourceVersion: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let req: AbortController | undefined;
    new k8s.Watch(kc)
      .watch(
        path,
        { resourceVersion },
        (phase, obj: { code?: number }) => {
          req?.abort();
          resolve(phase === 'ERROR' ? (obj.code ?? 0) : 200);
        },
        (err: unknown) => {
          const code = (err as { statusCode?: number } | null)?.statusCode;
          if (code) resolve(code);
          else if (err) reject(err as Error);
        },
      )
      .then((c) => (req = c), reject);
  });
}

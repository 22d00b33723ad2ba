// The chart refuses values that cannot work, loudly: helm lint, template and install (values.schema.json),
// template and install (templates/_validate.tpl, for rules across values), and spreads and protects its replicas: a PodDisruptionBudget and
// hostname anti-affinity when there is more than one, runAsGroup on the Pod, glibc malloc settings,
// and node flags that node accepts where the chart puts them.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { tool } from '../../harness/tools.js';
import { kubectlOk } from '../../harness/kubectl.js';
import { createTestNamespace, deleteNamespace } from '../../harness/kube.js';

const run = promisify(execFile);
const chart = 'charts/autorun';
const env = { ...process.env, HELM_CACHE_HOME: '/tmp/autorun-helm-cache', HELM_CONFIG_HOME: '/tmp/autorun-helm-config' };

/** helm's exit status and all it printed. */
async function helm(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(tool('helm'), args, { env, maxBuffer: 16 << 20 });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };

async function render(...set: string[]): Promise<Obj[]> {
  const r = await helm(['template', 'autorun', chart, '-n', 'autorun', ...set.flatMap((s) => ['--set', s])]);
  if (!r.ok) throw new Error(r.out);
  return parseAllDocuments(r.out).map((d) => d.toJS() as Obj).filter(Boolean);
}

const podTemplate = (docs: Obj[]): V1PodTemplateSpec => (docs.find((d) => d.kind === 'Deployment')!.spec as { template: V1PodTemplateSpec }).template;

// Each impossible value and what helm must say about it (the field, and for the template rules the fix).
const impossible: Array<[string, string[], RegExp]> = [
  ['Slack on without a channel', ['slack.enabled=true'], /\/slack\/channel/],
  ['negative replicas', ['replicaCount=-1'], /\/replicaCount.*minimum/],
  ['a pull policy Kubernetes does not know', ['image.pullPolicy=Sometimes'], /\/image\/pullPolicy.*'Always', 'IfNotPresent', 'Never'/],
  ['a memory limit in a unit the heap check cannot read', ['resources.limits.memory=1073741824'], /\/resources\/limits\/memory/],
  ['serviceMonitor as the old boolean', ['metrics.serviceMonitor=true'], /\/metrics\/serviceMonitor.*object/],
  ['an anti-affinity mode that does not exist', ['podAntiAffinity=sometimes'], /\/podAntiAffinity/],
  ['a scrape interval Prometheus cannot parse', ['metrics.podMonitoring.interval=30 seconds'], /\/metrics\/podMonitoring\/interval/],
];

describe('chart values', () => {
  test.each(impossible)('helm lint fails on %s', async (_what, set, message) => {
    const r = await helm(['lint', chart, '--strict', ...set.flatMap((s) => ['--set', s])]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(message);
  });

  // A rule across two values is the templates' (a schema cannot compare them). helm lint renders in
  // its lint mode, where Helm turns `fail` into a log line, so these stop template and install only.
  test('helm template fails on a heap cap above the memory limit, naming both and the fix', async () => {
    const r = await helm(['template', 'autorun', chart, '--set', 'nodeOptions=--max-old-space-size=512']);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/--max-old-space-size=512 MiB is more than 75% of resources.limits.memory \(320Mi = 320 MiB\).*lower the heap cap/);
    const g = await helm(['template', 'autorun', chart, '--set', 'resources.limits.memory=1000M', '--set', 'nodeOptions=--max-old-space-size=900']);
    expect(g.out).toMatch(/\(1000M = 953 MiB\)/);
  });

  test('the defaults and a Slack channel lint clean', async () => {
    for (const set of [[], ['slack.enabled=true', 'slack.channel=C0123456789'], ['resources.limits.memory=1Gi', 'nodeOptions=--max-old-space-size=640']]) {
      const r = await helm(['lint', chart, '--strict', ...set.flatMap((s) => ['--set', s])]);
      expect(`${set.join(' ')}: ${r.ok}`).toBe(`${set.join(' ')}: true`);
    }
  });

  test('two replicas get a PDB of minAvailable 1 and preferred hostname anti-affinity; one replica neither', async () => {
    const two = await render();
    const pdb = two.find((d) => d.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec).toMatchObject({ minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/component': 'operator' } } });
    const pod = podTemplate(two);
    const term = pod.spec!.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!;
    expect(term.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    // The term selects the operator's own Pods.
    expect(pod.metadata!.labels).toMatchObject(term.podAffinityTerm.labelSelector!.matchLabels!);
    expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
    // glibc malloc tuned for the operator (README "Targets": 187 → 170 MiB with 10,000 tasks).
    expect(pod.spec!.containers[0]!.env).toEqual(expect.arrayContaining([{ name: 'MALLOC_ARENA_MAX', value: '2' }, { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' }]));

    const one = await render('replicaCount=1');
    expect(one.map((d) => d.kind)).not.toContain('PodDisruptionBudget');
    expect(podTemplate(one).spec!.affinity).toBeUndefined();

    const required = await render('podAntiAffinity=required');
    const req = podTemplate(required).spec!.affinity!.podAntiAffinity!;
    expect(req.requiredDuringSchedulingIgnoredDuringExecution![0]!.topologyKey).toBe('kubernetes.io/hostname');
    // An affinity of the user's own replaces the default.
    const own = await render('affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool');
    expect(Object.keys(podTemplate(own).spec!.affinity!)).toEqual(['nodeAffinity']);
  });

  test('the node flags the chart sets are ones node accepts: NODE_OPTIONS starts node, the rest go on its command line', async () => {
    const container = podTemplate(await render()).spec!.containers[0]!;
    const nodeOptions = container.env!.find((e) => e.name === 'NODE_OPTIONS')!.value!;
    // Node refuses most V8 flags in NODE_OPTIONS (it exits 9); the chart puts those in nodeArgs.
    const r = await run(process.execPath, ['-e', 'process.stdout.write("started")'], { env: { ...process.env, NODE_OPTIONS: nodeOptions } });
    expect(r.stdout).toBe('started');
    const refused = await run(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: '--optimize-for-size' } }).then(() => 0, (e: { code: number }) => e.code);
    expect(refused).toBe(9);
    expect(container.command).toEqual(['node', '--optimize-for-size', '/opt/autorun/dist/bundle/autorun.mjs']);
    const [, ...flags] = container.command!;
    const withFlags = await run(process.execPath, [...flags.slice(0, -1), '-e', 'process.stdout.write("started")']);
    expect(withFlags.stdout).toBe('started');
    // Without nodeArgs the image's own entrypoint runs.
    expect(podTemplate(await render('nodeArgs=null')).spec!.containers[0]!.command).toBeUndefined();
  });

  describe('helm install', () => {
    let ns: string;
    beforeAll(async () => {
      ns = await createTestNamespace('chartval');
    });
    afterAll(async () => {
      await helm(['uninstall', 'autorun', '-n', ns]);
      await deleteNamespace(ns);
    });

    test('refuses Slack without a channel and creates nothing; with defaults creates the PDB the apiserver accepts', async () => {
      const bad = await helm(['install', 'autorun', chart, '-n', ns, '--skip-crds', '--set', `watchNamespace=${ns}`, '--set', 'slack.enabled=true']);
      expect(bad.ok).toBe(false);
      expect(bad.out).toMatch(/values don't meet the specifications of the schema[^]*at '\/slack\/channel'/);
      expect(await kubectlOk(['-n', ns, 'get', 'deployments,poddisruptionbudgets', '-o', 'name'])).toBe('');
      const good = await helm(['install', 'autorun', chart, '-n', ns, '--skip-crds', '--set', `watchNamespace=${ns}`]);
      expect(good.out).toContain('STATUS: deployed');
      const pdb = JSON.parse(await kubectlOk(['-n', ns, 'get', 'poddisruptionbudget/autorun-autorun', '-o', 'json']));
      expect(pdb.spec.minAvailable).toBe(1);
    });
  });
});

// The Helm chart against the real apiserver: it lints, renders, installs, and the operator's
// ServiceAccount can do exactly what the operator needs — and nothing with Secrets.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { tool } from '../../harness/tools.js';
import { kubectl, kubectlOk } from '../../harness/kubectl.js';
import { createTestNamespace, deleteNamespace } from '../../harness/kube.js';
import { OPERATOR_RULES } from '../../../operator/src/controller/rbac.js';

const run = promisify(execFile);
const chart = 'charts/autorun';

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(tool('helm'), args, { env: { ...process.env, HELM_CACHE_HOME: '/tmp/autorun-helm-cache', HELM_CONFIG_HOME: '/tmp/autorun-helm-config' }, maxBuffer: 16 << 20 });
  return stdout;
}

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown>; rules?: unknown[] };

describe('helm chart', () => {
  let ns: string;
  let teamNs: string;
  beforeAll(async () => {
    ns = await createTestNamespace('chart');
    teamNs = await createTestNamespace('team');
  });
  afterAll(async () => {
    await helm(['uninstall', 'autorun', '-n', ns]).catch(() => undefined);
    await deleteNamespace(ns);
    await deleteNamespace(teamNs);
  });

  it('lints clean', async () => {
    const out = await helm(['lint', chart, '--strict']);
    expect(out).toContain('0 chart(s) failed');
  });

  it('renders the Slack controls: Socket Mode takes the app token, HTTP the signing secret and a Service; SLACK_ACCESS from values', async () => {
    type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
    const render = async (...set: string[]) => {
      const docs = parseAllDocuments(await helm(['template', 'autorun', chart, '-n', 'autorun', '--set', 'slack.enabled=true', '--set', 'slack.channel=C1', ...set.flatMap((s) => ['--set', s])]))
        .map((d) => d.toJS() as Obj)
        .filter(Boolean);
      const c = (docs.find((d) => d.kind === 'Deployment')!.spec as { template: { spec: { containers: { env: Env[]; ports: { name: string }[] }[] } } }).template.spec.containers[0]!;
      return { docs, env: Object.fromEntries(c.env.map((e) => [e.name, e])), ports: c.ports.map((p) => p.name) };
    };
    const socket = await render('slack.interactivity=socket', 'slack.access.users.UALICE[0]=team-a');
    expect(socket.env.SLACK_APP_TOKEN!.valueFrom).toEqual({ secretKeyRef: { name: 'slack', key: 'app-token' } });
    expect(JSON.parse(socket.env.SLACK_ACCESS!.value!)).toEqual({ users: { UALICE: ['team-a'] } });
    expect(socket.env.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(socket.env.SLACK_PULL_REQUEST).toBeUndefined();
    const withPRs = await render('slack.interactivity=socket', 'slack.pullRequest.provider=github', 'slack.pullRequest.credentialsSecretRef.name=github-pr');
    expect(JSON.parse(withPRs.env.SLACK_PULL_REQUEST!.value!)).toEqual({ provider: 'github', credentialsSecretRef: { name: 'github-pr' } });
    expect(socket.docs.some((d) => d.kind === 'Service' && d.metadata.name === 'autorun-autorun-slack')).toBe(false);
    const http = await render('slack.interactivity=http');
    expect(http.env.SLACK_SIGNING_SECRET!.valueFrom).toEqual({ secretKeyRef: { name: 'slack', key: 'signing-secret' } });
    expect(http.env.SLACK_EVENTS_PORT!.value).toBe('3000');
    expect(http.ports).toContain('slack-events');
    expect(http.docs.some((d) => d.kind === 'Service' && d.metadata.name === 'autorun-autorun-slack')).toBe(true);
    const postOnly = await render();
    expect(Object.keys(postOnly.env).filter((k) => k.startsWith('SLACK_')).sort()).toEqual(['SLACK_BOT_TOKEN', 'SLACK_CHANNEL']);
    await expect(render('slack.interactivity=websocket')).rejects.toThrow(/slack.interactivity must be "socket", "http" or empty/);
  });

  it('renders a two-replica leader-elected operator, least-privilege RBAC and the stage Pods\' egress settings', async () => {
    const docs = parseAllDocuments(await helm(['template', 'autorun', chart, '-n', 'autorun', '--set', 'watchNamespace=team-a', '--set', 'networkPolicy.gitEgressCIDRs={10.1.0.0/16,10.2.0.0/16}']))
      .map((d) => d.toJS() as Obj)
      .filter(Boolean);
    const deploy = docs.find((d) => d.kind === 'Deployment')!;
    expect(deploy.spec!.replicas).toBe(2);
    // V8's heap is capped below the container's memory limit, or the kernel kills the operator first.
    const operator = (deploy.spec as { template: { spec: { containers: { env: { name: string; value?: string }[]; resources: { limits: { memory: string } } }[] } } }).template.spec.containers[0]!;
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(operator.env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
    const limitMiB = Number(/^(\d+)Mi$/.exec(operator.resources.limits.memory)?.[1]);
    expect(heapMiB).toBeGreaterThan(0);
    expect(heapMiB).toBeLessThanOrEqual(0.75 * limitMiB);
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['Role/team-a/autorun-autorun', 'RoleBinding/team-a/autorun-autorun', 'Role/autorun/autorun-autorun-leader-election']));
    // The operator writes the stage Pods' NetworkPolicies in each task namespace (netpol/build.ts),
    // from these settings; the chart renders none into its own namespace.
    expect(kinds.filter((k) => k.startsWith('NetworkPolicy/'))).toEqual([]);
    const env = Object.fromEntries(operator.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ AUTORUN_GIT_EGRESS_CIDRS: '10.1.0.0/16,10.2.0.0/16', AUTORUN_MODEL_EGRESS_CIDRS: '0.0.0.0/0', AUTORUN_DNS_EGRESS_CIDRS: '' });
    expect(JSON.stringify(docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole'))).not.toMatch(/secrets/);
    // The namespace Role grants exactly the operator's own rule list, leases aside.
    const role = docs.find((d) => d.kind === 'Role' && d.metadata.namespace === 'team-a')!;
    expect(role.rules).toEqual(OPERATOR_RULES.filter((r) => !r.apiGroups.includes('coordination.k8s.io')));
  });

  it('installs on the real apiserver and its ServiceAccount may do what the operator does, no more', async () => {
    await helm(['install', 'autorun', chart, '-n', ns, '--skip-crds', '--set', `watchNamespace=${teamNs}`, '--set', 'defaultPool.enabled=true']);
    await kubectlOk(['-n', ns, 'get', 'deployment/autorun-autorun', 'serviceaccount/autorun-autorun', 'role/autorun-autorun-leader-election', 'agentpool/default']);
    const sa = `system:serviceaccount:${ns}:autorun-autorun`;
    const can = async (verb: string, resource: string, namespace: string) => {
      const [res, sub] = resource.split('/');
      const args = ['auth', 'can-i', verb, res!, '-n', namespace, '--as', sa, ...(sub ? [`--subresource=${sub}`] : [])];
      return (await kubectl(args)).stdout.trim();
    };
    const allowed: Array<[string, string, string]> = [
      ['create', 'pods', teamNs], ['delete', 'pods', teamNs], ['get', 'pods/log', teamNs], ['watch', 'codingtasks.autorun.dev', teamNs],
      ['update', 'codingtasks.autorun.dev/status', teamNs], ['patch', 'agentpools.autorun.dev/status', teamNs],
      ['create', 'configmaps', teamNs], ['create', 'events', teamNs], ['update', 'leases.coordination.k8s.io', ns],
    ];
    for (const [verb, res, n] of allowed) expect(`${verb} ${res}: ${await can(verb, res, n)}`).toBe(`${verb} ${res}: yes`);
    const denied: Array<[string, string, string]> = [
      ['get', 'secrets', teamNs], ['list', 'secrets', teamNs], ['create', 'pods', 'default'], ['update', 'codingtasks.autorun.dev', teamNs],
      ['create', 'leases.coordination.k8s.io', teamNs], ['create', 'pods/exec', teamNs],
    ];
    for (const [verb, res, n] of denied) expect(`${verb} ${res}: ${await can(verb, res, n)}`).toBe(`${verb} ${res}: no`);

    // API Priority and Fairness: the apiserver files the operator's Lease requests under the chart's
    // FlowSchema, in the leader-election priority level, and its other requests elsewhere.
    const uid = async (what: string) => (await kubectl(['get', what, '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
    const classified = async (path: string) => {
      const { stderr } = await kubectl(['get', '--raw', path, '--as', sa, '-v=8']);
      return { flowSchema: /X-Kubernetes-Pf-Flowschema-Uid: (\S+)/i.exec(stderr)?.[1], priorityLevel: /X-Kubernetes-Pf-Prioritylevel-Uid: (\S+)/i.exec(stderr)?.[1] };
    };
    const lease = await classified(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/autorun-autorun-leader`);
    expect(lease).toEqual({ flowSchema: await uid('flowschema/autorun-autorun-leader-election'), priorityLevel: await uid('prioritylevelconfiguration/leader-election') });
    const pods = await classified(`/api/v1/namespaces/${teamNs}/pods`);
    expect(pods.flowSchema).toBeDefined();
    expect(pods.priorityLevel).not.toBe(lease.priorityLevel);
  });
});

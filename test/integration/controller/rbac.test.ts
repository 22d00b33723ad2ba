// The operator's RBAC rules are exactly the calls it makes. The apiserver's audit log (every request
// of a ServiceAccount, test/harness/control-plane.ts) records what the operator, running as its own
// ServiceAccount bound to OPERATOR_RULES, asks for while it goes through everything it does: leader
// election, informers, stage Pods and their hand-off (a run Pod's log, a report ConfigMap in the way
// of an earlier task's), a task stopped at its cost limit (its live Pod deleted), Events, status,
// the Slack thread annotation, Slack's controls over Socket Mode (a thread reply as guidance: a read
// and a patch of the task; /autorun new: a create), and a NetworkPolicy edited by hand. Every (group, resource, verb) it
// used must be granted, none refused, and none granted that it never used.
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { runPolicyName } from '../../../operator/src/controller/netpol/build.js';
import { reportConfigMapName } from '../../../operator/src/controller/pods/report.js';
import { OPERATOR_RULES } from '../../../operator/src/controller/rbac.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { AUDIT_LOG } from '../../harness/control-plane.js';
import { clusterInfo, eventually, kube, kubeConfig } from '../../harness/kube.js';
import { OPERATOR_SA, TestBed, createPool, createTask, failingRun, getTask, success, waitForPhase, type Script } from './support.js';

jest.setTimeout(240_000);

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

let bed: TestBed;
let slack: FakeSlack;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-rbac', scripts);
  await bed.gpuNodes(1);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 1 });
  slack = new FakeSlack();
  const url = await slack.start();
  await bed.startAgents();
  const access = JSON.stringify({ users: { UALICE: [bed.ns] } });
  await bed.startOperator({ slack: { token: slack.validToken, appToken: slack.validAppToken, channel: 'C0RBAC', slackApiUrl: url, retries: 1, access } });
  await slack.connected();
});

afterAll(async () => {
  await bed?.tearDown();
  await slack?.stop();
});

function operatorCalls(): AuditEvent[] {
  const user = `system:serviceaccount:${bed.ns}:${OPERATOR_SA}`;
  return readFileSync(join(clusterInfo().dir, 'logs', AUDIT_LOG), 'utf8')
    .split('\n')
    .filter((l) => l.includes(user))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.user.username === user);
}

const granted = (): string[] =>
  OPERATOR_RULES.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'} ${res} ${v}`)))).sort();

test('every call the operator makes is granted, and every grant is called', async () => {
  const ns = bed.ns;
  // An earlier task's report ConfigMap in the way of this task's: read, found foreign, deleted.
  // (The repair after iteration 1's run is iteration 2's first stage.)
  await kube().core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: reportConfigMapName('audit', 2) }, data: { report: 'stale' } } });
  let runs = 0;
  scripts.set('audit', (s) => (s.role === 'run' && runs++ === 0 ? { result: failingRun(s, ['test_a']) } : { result: success(s) }));
  await createTask(ns, 'audit');
  expect((await waitForPhase(ns, 'audit', ['Succeeded', 'Failed'], 120_000)).status?.phase).toBe('Succeeded');
  // Over its budget while the test agent still works: the live test Pod is deleted.
  scripts.set('spend', (s) => (s.role === 'code' ? { result: success(s, 9) } : { leave: true }));
  await createTask(ns, 'spend', { maxCostUSD: '1' });
  expect((await waitForPhase(ns, 'spend', ['Failed'])).status?.reason).toBe('CostLimit');
  await eventually(async () => (await kube().core.listNamespacedPod({ namespace: ns, labelSelector: 'autorun.dev/task=spend,autorun.dev/role=test' })).items.every((p) => p.metadata?.deletionTimestamp) || false);
  // A hand-edited NetworkPolicy is put back.
  const net = kubeConfig().makeApiClient(k8s.NetworkingV1Api);
  const np = await net.readNamespacedNetworkPolicy({ namespace: ns, name: runPolicyName('default') });
  await net.replaceNamespacedNetworkPolicy({ namespace: ns, name: runPolicyName('default'), body: { ...np, spec: { ...np.spec!, egress: [{}] } } });
  await eventually(async () => JSON.stringify((await net.readNamespacedNetworkPolicy({ namespace: ns, name: runPolicyName('default') })).spec) === JSON.stringify(np.spec) || false);
  const ts = await eventually(async () => (await getTask(ns, 'audit')).metadata.annotations?.['autorun.dev/slack-thread'] ?? false);
  // Slack's controls: a thread reply is guidance (get, then patch with the resourceVersion); /autorun new creates a task.
  await slack.deliver('events_api', {
    type: 'event_callback',
    team_id: 'T1',
    api_app_id: 'A0RBAC',
    event_id: 'EvRBAC1',
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'message', channel: 'C0RBAC', channel_type: 'channel', user: 'UALICE', text: 'keep it pure', ts: `${Date.now() / 1000}`, thread_ts: ts },
  });
  await eventually(async () => (await getTask(ns, 'audit')).spec.guidance?.some((g) => g === 'keep it pure') || false);
  scripts.set('from-slack', () => ({ leave: true }));
  const made = await slack.deliver('slash_commands', {
    command: '/autorun',
    text: 'new goal="Implement leap(year) in leap.py" name=from-slack',
    user_id: 'UALICE',
    user_name: 'alice',
    channel_id: 'C0RBAC',
    team_id: 'T1',
    trigger_id: 'trigger-rbac',
    response_url: 'http://127.0.0.1:9/unused',
    api_app_id: 'A0RBAC',
    token: 'verification-token',
  });
  expect(String(made.text)).toBe(`Created *${ns}/from-slack*; its thread follows in this channel.`);
  // Stopping releases the Lease (its last update).
  await bed.operator!.stop();

  const calls = operatorCalls();
  const refused = calls.filter((e) => e.responseStatus?.code === 403).map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}`);
  expect(refused).toEqual([]);
  const used = [
    ...new Set(
      calls.map((e) => {
        const r = e.objectRef!;
        return `${r.apiGroup || 'core'} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${e.verb}`;
      }),
    ),
  ].sort();
  expect(used).toEqual(granted());
});

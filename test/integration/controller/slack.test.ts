// The operator's Slack hook against a real control plane and a fake Slack Web API on loopback: one
// thread per task whose first message follows the task to Succeeded, one reply per Kubernetes Event,
// the thread's ts kept in an annotation so that a new leader posts to the same thread, and no
// secret in anything sent to Slack.
import { jest } from '@jest/globals';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { SLACK_THREAD_ANNOTATION } from '../../../operator/src/controller/slack.js';
import { FakeSlack, type SlackCall } from '../../fakes/slack-server.js';
import { completePod } from '../../harness/kubelet.js';
import { createTestNamespace, deleteNamespace, eventually, kube } from '../../harness/kube.js';
import { createL4Nodes, deleteNodes } from '../../harness/nodes.js';
import { Agents, createPool, createTask, deleteOperatorRbac, ensureCpuNodes, failingRun, getTask, operatorKubeConfig, startOperator, success, waitForPhase } from './support.js';

jest.setTimeout(180_000);

const API_KEY = 'sk-ant-api03-THIS-IS-THE-MODEL-KEY-0123456789';
const CHANNEL = 'C0AUTORUN';

let ns: string;
let slack: FakeSlack;
let slackUrl: string;
let agents: Agents | undefined;
let operators: Controller[] = [];
let gpuNodes: string[] = [];
let kc: Awaited<ReturnType<typeof operatorKubeConfig>>['kc'];

const opening = (calls: SlackCall[]) => calls.filter((c) => c.method === 'chat.postMessage' && !c.args.thread_ts);
const replies = (calls: SlackCall[]) => calls.filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts);

beforeAll(async () => {
  ns = await createTestNamespace('ctl-slack');
  await ensureCpuNodes();
  gpuNodes = await createL4Nodes({ count: 2, prefix: ns, isolate: true });
  ({ kc } = await operatorKubeConfig(ns));
  // The pool's model key: the operator only ever names it; its value must never reach Slack.
  await kube().core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'anthropic' }, stringData: { 'api-key': API_KEY } } });
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 2 });
  slack = new FakeSlack();
  slackUrl = await slack.start();
});

afterAll(async () => {
  for (const o of operators) await o.stop();
  await agents?.stop();
  await slack?.stop();
  await deleteNodes(gpuNodes).catch(() => undefined);
  await deleteOperatorRbac(ns);
  await deleteNamespace(ns);
});

const startLeader = async (identity: string): Promise<Controller> => {
  const o = await startOperator(ns, kc, { identity, slack: { token: slack.validToken, channel: CHANNEL, slackApiUrl: slackUrl, retries: 1 } });
  operators.push(o);
  await eventually(() => o.isLeader(), { timeoutMs: 20_000 });
  return o;
};

test('a task that passes after a repair gets one thread, kept across a change of leader', async () => {
  // The code and test stages wait until the first leader is gone; the rest run as scripted: the
  // first run fails one test, the repair fixes it, the second run passes.
  agents = new Agents(ns, (s) => {
    if (s.iteration === 1 && (s.role === 'code' || s.role === 'test')) return { leave: true };
    if (s.role === 'run' && s.iteration === 1) return { result: failingRun(s, ['test_fizz_15']) };
    return { result: success(s) };
  });
  await agents.start();
  const first = await startLeader('slack-a');
  await createTask(ns, 'slacky');

  // The first leader opens the thread and records it on the task.
  const ts = await eventually(async () => {
    const t = await getTask(ns, 'slacky');
    return t.metadata.annotations?.[SLACK_THREAD_ANNOTATION] ?? false;
  });
  expect(opening(slack.calls)).toHaveLength(1);
  expect(opening(slack.calls)[0]!.args.channel).toBe(CHANNEL);

  // Hand over: the first leader stops (releasing the Lease), a second one takes over with no memory.
  await first.stop();
  operators = operators.filter((o) => o !== first);
  await startLeader('slack-b');
  for (const s of agents.stagesOf('slacky')) {
    await completePod(ns, s.name, { container: AGENT_CONTAINER, terminationMessage: JSON.stringify(success(s)) });
  }

  const done = await waitForPhase(ns, 'slacky', ['Succeeded', 'Failed'], 90_000);
  expect(done.status?.phase).toBe('Succeeded');
  expect(agents.stagesOf('slacky').map((s) => `${s.role}/i${s.iteration}`).sort()).toEqual(['code/i1', 'repair/i2', 'run/i1', 'run/i2', 'test/i1']);

  // Still one thread; its first message, updated in place, ends at Succeeded.
  await eventually(() => {
    const updates = slack.callsOf('chat.update');
    return updates.length > 0 && String(updates.at(-1)!.args.text).includes('Succeeded');
  });
  expect(opening(slack.calls)).toHaveLength(1);
  const updates = slack.callsOf('chat.update');
  expect(updates.every((u) => u.args.ts === ts && u.args.channel === CHANNEL)).toBe(true);
  expect(String(updates.at(-1)!.args.text)).toContain('TestsPassed');

  // One reply per Kubernetes Event of the task, all in that thread.
  const events = (await kube().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=slacky,involvedObject.kind=CodingTask' })).items;
  await eventually(() => replies(slack.calls).length >= events.length);
  const texts = replies(slack.calls).map((c) => String(c.args.text));
  expect(replies(slack.calls).every((c) => c.args.thread_ts === ts)).toBe(true);
  expect(texts).toHaveLength(events.length);
  for (const e of events) expect(texts.filter((t) => t.includes(`*${e.reason}*: ${e.message}`))).toHaveLength(1);
  for (const reason of ['StageFailed', 'Repairing', 'Succeeded']) expect(texts.some((t) => t.includes(`*${reason}*`))).toBe(true);

  // The annotation still names the thread, and no secret went to Slack: the bot token only as the
  // credential of each call, the model key nowhere.
  expect((await getTask(ns, 'slacky')).metadata.annotations?.[SLACK_THREAD_ANNOTATION]).toBe(ts);
  expect(slack.calls.every((c) => c.token === slack.validToken)).toBe(true);
  const sent = JSON.stringify(slack.calls.map((c) => c.args));
  expect(sent).not.toContain(slack.validToken);
  expect(sent).not.toContain(API_KEY);
  expect(sent).not.toContain('sk-ant-');
});

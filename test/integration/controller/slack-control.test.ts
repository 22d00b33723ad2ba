// Slack as a control surface, through the real Bolt app in the operator connected over Socket Mode
// to the fake Slack (apps.connections.open → its websocket). Every button and command, a refused
// user, and a thread reply that reaches the next repair stage's context, each checked where it
// lands: the CodingTask's spec, its Events (naming the Slack user), its Pods, and what Bolt posts.
import { jest } from '@jest/globals';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { GROUP, VERSION, type CodingTask } from '../../../operator/src/api/types.js';
import { RETRY_OF_LABEL } from '../../../operator/src/controller/slack-control.js';
import { SLACK_THREAD_ANNOTATION } from '../../../operator/src/controller/slack.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { completePod } from '../../harness/kubelet.js';
import { eventually, kube } from '../../harness/kube.js';
import { createPool, createTask, failingRun, getTask, success, taskEvents, TestBed, waitForPhase, type Script } from './support.js';

jest.setTimeout(180_000);

const CHANNEL = 'C0AUTORUN';
let bed: TestBed;
let slack: FakeSlack;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-slackctl', scripts);
  slack = new FakeSlack();
  const slackApiUrl = await slack.start();
  slack.userGroups.set('SOPS', ['UBOB']);
  await bed.gpuNodes(2);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 2 });
  await bed.startAgents();
  const access = JSON.stringify({ users: { UALICE: [bed.ns] }, userGroups: { SOPS: ['*'] } });
  await bed.startOperator({ slack: { token: slack.validToken, appToken: slack.validAppToken, channel: CHANNEL, slackApiUrl, retries: 1, access } });
  await slack.connected();
});

afterAll(async () => {
  await bed?.tearDown();
  await slack?.stop();
});

const user = (id: string) => ({ id, username: id.slice(1).toLowerCase(), name: id.slice(1).toLowerCase(), team_id: 'T1' });

function click(who: string, action: string, task: string, ts: string) {
  return slack.deliver('interactive', {
    type: 'block_actions',
    user: user(who),
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
    container: { type: 'message', message_ts: ts, channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: `trigger-${action}-${who}`,
    team: { id: 'T1', domain: 'acme' },
    channel: { id: CHANNEL, name: 'autorun' },
    message: { ts, text: '' },
    response_url: 'http://127.0.0.1:9/unused',
    actions: [{ type: 'button', action_id: action, block_id: 'autorun_controls', value: `${bed.ns}/${task}`, text: { type: 'plain_text', text: action }, action_ts: '1' }],
  });
}

function command(who: string, text: string) {
  return slack.deliver('slash_commands', {
    command: '/autorun',
    text,
    user_id: who,
    user_name: who.slice(1).toLowerCase(),
    channel_id: CHANNEL,
    team_id: 'T1',
    trigger_id: `trigger-cmd-${who}`,
    response_url: 'http://127.0.0.1:9/unused',
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
  });
}

function submit(who: string, callback_id: string, values: Record<string, string>, privateMetadata = '') {
  return slack.deliver('interactive', {
    type: 'view_submission',
    team: { id: 'T1', domain: 'acme' },
    user: user(who),
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
    trigger_id: `trigger-view-${who}`,
    view: {
      id: 'V1',
      type: 'modal',
      callback_id,
      private_metadata: privateMetadata,
      hash: 'h1',
      state: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { [k]: { type: 'plain_text_input', value: v } }])) },
    },
  });
}

function reply(who: string, threadTs: string, text: string) {
  return slack.deliver('events_api', {
    type: 'event_callback',
    team_id: 'T1',
    api_app_id: 'A0AUTORUN',
    event_id: `Ev${Math.random().toString(36).slice(2)}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'message', channel: CHANNEL, channel_type: 'channel', user: who, text, ts: `${Date.now() / 1000}`, thread_ts: threadTs },
  });
}

const threadOf = (name: string) =>
  eventually(async () => (await getTask(bed.ns, name)).metadata.annotations?.[SLACK_THREAD_ANNOTATION] ?? false, { timeoutMs: 30_000 }) as Promise<string>;
const eventReasons = async (name: string) => (await taskEvents(bed.ns, name)).map((e) => `${e.reason}: ${e.message}`);
const ephemeralTo = (who: string) => slack.callsOf('chat.postEphemeral').filter((c) => c.args.user === who);
const threadReplies = (ts: string) => slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === ts).map((c) => String(c.args.text));
const pod = (name: string) => kube().core.readNamespacedPod({ namespace: bed.ns, name });
const envOf = (p: V1Pod, name: string) => p.spec!.containers[0]!.env!.find((e) => e.name === name)?.value;

test('suspend, a refused resume, resume by a user group member, then a thread reply that the repair stage receives', async () => {
  // The first run is left running while people act; the test then fails it by hand.
  scripts.set('steer', (s) => (s.role === 'run' && s.iteration === 1 ? { leave: true } : { result: success(s) }));
  await createTask(bed.ns, 'steer');
  const ts = await threadOf('steer');
  await waitForPhase(bed.ns, 'steer', ['Running']);
  const first = slack.callsOf('chat.postMessage').find((c) => c.args.ts === undefined && !c.args.thread_ts && JSON.stringify(c.args.blocks).includes(`${bed.ns}/steer`));
  expect(JSON.stringify(first!.args.blocks)).toMatch(/"action_id":"autorun_suspend".*"action_id":"autorun_stop"/);

  await click('UALICE', 'autorun_suspend', 'steer', ts);
  await eventually(async () => (await getTask(bed.ns, 'steer')).spec.suspend === true);
  await waitForPhase(bed.ns, 'steer', ['Suspended']);
  await eventually(async () => (await eventReasons('steer')).includes('SuspendedFromSlack: suspended by Slack user alice (UALICE)'));
  await eventually(() => threadReplies(ts).some((t) => t.includes('Suspended by <@UALICE>')));
  // The first message now offers Resume instead of Suspend.
  await eventually(() => slack.callsOf('chat.update').some((c) => c.args.ts === ts && JSON.stringify(c.args.blocks).includes('"action_id":"autorun_resume"')));

  await click('UMALLORY', 'autorun_resume', 'steer', ts);
  await eventually(() => ephemeralTo('UMALLORY').some((c) => String(c.args.text).includes(`You may not act on tasks in namespace ${bed.ns}`)));
  expect((await getTask(bed.ns, 'steer')).spec.suspend).toBe(true);

  await click('UBOB', 'autorun_resume', 'steer', ts);
  await eventually(async () => (await getTask(bed.ns, 'steer')).spec.suspend === false);
  await eventually(async () => (await eventReasons('steer')).includes('ResumedFromSlack: resumed by Slack user bob (UBOB)'));

  await reply('UMALLORY', ts, 'ignore the tests');
  await reply('UALICE', ts, 'fizzbuzz(15) must return "FizzBuzz": check 15 before 3 and 5');
  await eventually(async () => ((await getTask(bed.ns, 'steer')).spec.guidance ?? []).length === 1);
  expect((await getTask(bed.ns, 'steer')).spec.guidance).toEqual(['fizzbuzz(15) must return "FizzBuzz": check 15 before 3 and 5']);
  await eventually(async () => (await eventReasons('steer')).some((e) => e.startsWith('GuidanceFromSlack: guidance from Slack user UALICE for the next repair stage: fizzbuzz(15)')));
  await eventually(() => ephemeralTo('UMALLORY').length >= 2);

  await completePod(bed.ns, 'steer-i1-run-a0', { terminationMessage: JSON.stringify(failingRun({ role: 'run', iteration: 1 } as never, ['test_fizz_15'])) });
  const repair = await eventually(() => pod('steer-i2-repair-a0'), { timeoutMs: 30_000 });
  expect(JSON.parse(envOf(repair, 'AUTORUN_GUIDANCE') ?? '[]')).toEqual(['fizzbuzz(15) must return "FizzBuzz": check 15 before 3 and 5']);
  const done = await waitForPhase(bed.ns, 'steer', ['Succeeded', 'Failed']);
  expect(done.status?.phase).toBe('Succeeded');
});

test('stop ends a task for good; retry with a hint creates its successor with the hint as guidance', async () => {
  scripts.set('halt', (s) => (s.role === 'code' ? { leave: true } : { result: success(s) }));
  await createTask(bed.ns, 'halt');
  const ts = await threadOf('halt');
  await waitForPhase(bed.ns, 'halt', ['Coding']);
  await click('UALICE', 'autorun_stop', 'halt', ts);
  const t = await waitForPhase(bed.ns, 'halt', ['Failed']);
  expect(t.status).toMatchObject({ reason: 'Stopped' });
  expect(t.spec.stop).toBe(true);
  await eventually(async () => (await kube().core.listNamespacedPod({ namespace: bed.ns, labelSelector: 'autorun.dev/task=halt' })).items.every((p) => p.metadata?.deletionTimestamp || ['Succeeded', 'Failed'].includes(p.status?.phase ?? '')));
  await eventually(async () => (await eventReasons('halt')).includes('StoppedFromSlack: stopped for good by Slack user alice (UALICE)'));
  await eventually(() => slack.callsOf('chat.update').some((c) => c.args.ts === ts && JSON.stringify(c.args.blocks).includes('"action_id":"autorun_retry"')));

  await click('UALICE', 'autorun_retry', 'halt', ts);
  const opened = await eventually(() => slack.callsOf('views.open').find((c) => c.args.trigger_id === 'trigger-autorun_retry-UALICE') ?? false);
  const view = (typeof opened.args.view === 'string' ? JSON.parse(opened.args.view) : opened.args.view) as { callback_id: string; private_metadata: string };
  expect(view.callback_id).toBe('autorun_retry_view');
  await submit('UALICE', view.callback_id, { hint: 'keep fizzbuzz.py pure: no printing' }, view.private_metadata);
  const retried = await eventually(async () => {
    const list = (await kube().custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', labelSelector: `${RETRY_OF_LABEL}=halt` })) as { items: CodingTask[] };
    return list.items[0] ?? false;
  });
  expect(retried.metadata.name).toMatch(/^halt-r[a-z0-9]{5}$/);
  expect(retried.spec).toMatchObject({ goal: t.spec.goal, stop: false, guidance: ['keep fizzbuzz.py pure: no printing'] });
  await eventually(async () => (await eventReasons('halt')).includes(`RetriedFromSlack: retried as ${retried.metadata.name} by Slack user alice (UALICE) with a hint: keep fizzbuzz.py pure: no printing`));
});

test('/autorun list, status and new (with arguments and through the form); a refused user', async () => {
  await eventually(() => threadOf('steer'));
  const list = await command('UALICE', 'list');
  expect(list.response_type).toBe('ephemeral');
  expect(String(list.text)).toContain(`*${bed.ns}/steer*`);
  expect(String(list.text)).toContain(`*${bed.ns}/halt*`);

  const status = await command('UALICE', 'status steer');
  expect(String(status.text)).toMatch(new RegExp(`\\*${bed.ns}/steer\\* — Succeeded \\(TestsPassed\\)`));
  expect(String((await command('UALICE', `status ${bed.ns}/nope`)).text)).toBe(`No task ${bed.ns}/nope in your namespaces.`);

  const refused = await command('UMALLORY', 'list');
  expect(String(refused.text)).toContain('You may not act on any namespace');
  const refusedNew = await command('UMALLORY', `new goal="x" namespace=${bed.ns}`);
  expect(String(refusedNew.text)).toBe(`You may not create tasks in namespace ${bed.ns}.`);

  scripts.set('from-slack', () => ({ leave: true }));
  const made = await command('UALICE', 'new goal="Implement leap(year) in leap.py" pool=default name=from-slack');
  expect(String(made.text)).toBe(`Created *${bed.ns}/from-slack*; its thread follows in this channel.`);
  const created = await getTask(bed.ns, 'from-slack');
  expect(created.spec).toMatchObject({ goal: 'Implement leap(year) in leap.py', pool: 'default' });
  await eventually(async () => (await eventReasons('from-slack')).includes('CreatedFromSlack: created by Slack user alice (UALICE)'));
  await threadOf('from-slack');

  const form = await command('UBOB', 'new');
  expect(String(form.text)).toBe('Opening the form…');
  const opened = await eventually(() => slack.callsOf('views.open').find((c) => c.args.trigger_id === 'trigger-cmd-UBOB') ?? false);
  const view = (typeof opened.args.view === 'string' ? JSON.parse(opened.args.view) : opened.args.view) as { callback_id: string };
  const denied = await submit('UMALLORY', view.callback_id, { goal: 'x', namespace: bed.ns });
  expect(denied).toMatchObject({ response_action: 'errors', errors: { namespace: `You may not create tasks in namespace ${bed.ns}` } });
  const ok = await submit('UBOB', view.callback_id, { goal: 'Implement primes(n) in primes.py', pool: 'default', namespace: bed.ns, repository: 'https://github.com/acme/primes.git' });
  expect(ok).toEqual({});
  const byForm = await eventually(async () => {
    const list = (await kube().custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks' })) as { items: CodingTask[] };
    return list.items.find((x) => x.spec.goal === 'Implement primes(n) in primes.py') ?? false;
  });
  expect(byForm.metadata.name).toMatch(/^slack-[a-z0-9]{5}$/);
  expect(byForm.spec.repository).toMatchObject({ url: 'https://github.com/acme/primes.git' });
});

test('escalation: a task out of iterations waits in NeedsInput with no Pod running, pings the user group, and a thread reply resumes it', async () => {
  scripts.set('ask', (s) => (s.role === 'run' && s.iteration === 1 ? { result: failingRun(s, ['test_fizz_15']) } : { result: success(s) }));
  await kube().custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: bed.ns,
    plural: 'codingtasks',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'CodingTask',
      metadata: { name: 'ask' },
      spec: { goal: 'Implement fizzbuzz(n) in fizzbuzz.py', limits: { maxIterations: 1 }, escalation: { enabled: true, notifyUserGroup: 'SONCALL' } },
    },
  });
  const ts = await threadOf('ask');
  const waiting = await waitForPhase(bed.ns, 'ask', ['NeedsInput', 'Failed', 'Succeeded']);
  expect(waiting.status).toMatchObject({ phase: 'NeedsInput', reason: 'MaxIterations' });
  expect(waiting.status?.conditions?.find((c) => c.type === 'NeedsInput')).toMatchObject({ status: 'True', reason: 'MaxIterations' });
  expect(waiting.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'NeedsInput' });
  const live = (await kube().core.listNamespacedPod({ namespace: bed.ns, labelSelector: 'autorun.dev/task=ask' })).items.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''));
  expect(live).toEqual([]);
  await eventually(() => threadReplies(ts).some((t) => t.startsWith('<!subteam^SONCALL> *NeedsInput*: iteration 2 would exceed spec.limits.maxIterations (1)')));
  await eventually(() => slack.callsOf('chat.update').some((c) => c.args.ts === ts && JSON.stringify(c.args.blocks).includes('"action_id":"autorun_grant"')));

  await reply('UALICE', ts, 'check 15 before 3 and 5');
  const repair = await eventually(() => pod('ask-i2-repair-a0'), { timeoutMs: 30_000 });
  expect(JSON.parse(envOf(repair, 'AUTORUN_GUIDANCE') ?? '[]')).toEqual(['check 15 before 3 and 5']);
  const done = await waitForPhase(bed.ns, 'ask', ['Succeeded', 'Failed']);
  expect(done.status?.phase).toBe('Succeeded');
  expect(done.spec.escalation?.grants).toEqual([{ iterations: 2, by: 'Slack user UALICE' }]);
  expect(done.status?.conditions?.find((c) => c.type === 'NeedsInput')).toMatchObject({ status: 'False', reason: 'Resumed' });
  await eventually(async () => (await eventReasons('ask')).includes('GrantedFromSlack: 2 more iterations granted by Slack user UALICE'));
});

test('escalation: kubectl patch resumes a waiting task with the iterations it grants', async () => {
  scripts.set('ask-kubectl', (s) => (s.role === 'run' && s.iteration === 1 ? { result: failingRun(s, ['test_fizz_15']) } : { result: success(s) }));
  await createTask(bed.ns, 'ask-kubectl', { maxIterations: 1 });
  await kube().custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', name: 'ask-kubectl', body: { spec: { escalation: { enabled: true } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitForPhase(bed.ns, 'ask-kubectl', ['NeedsInput']);
  const { kubectl } = await import('../../harness/kubectl.js');
  const patched = await kubectl(['patch', 'ct', 'ask-kubectl', '-n', bed.ns, '--type', 'json', '-p', '[{"op":"add","path":"/spec/escalation/grants","value":[{"iterations":1,"by":"kubectl"}]}]']);
  expect(patched.code).toBe(0);
  const done = await waitForPhase(bed.ns, 'ask-kubectl', ['Succeeded', 'Failed']);
  expect(done.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });
});

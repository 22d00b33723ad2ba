// Slack's controls over HTTP (Bolt's HTTPReceiver, requests signed as Slack signs them) against a
// target that records what it was asked, plus the pieces: the buttons per phase, the argument
// parser and SLACK_ACCESS's checks. The Socket Mode path through the operator is in
// test/integration/controller/slack-control.test.ts.
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Access, AccessError, parseAccess } from '../../../../operator/src/report/slack/access.js';
import { createSlackApp } from '../../../../operator/src/report/slack/app.js';
import { buttonsFor, parseArgs, registerControls, type Actor, type ControlTarget, type TaskRef } from '../../../../operator/src/report/slack/control.js';
import { FakeSlack } from '../../../fakes/slack-server.js';

const SECRET = 'signing-secret-0123456789';
const CHANNEL = 'C1';

class RecordingTarget implements ControlTarget {
  readonly calls: string[] = [];
  readonly refs: TaskRef[] = [
    { namespace: 'team-a', name: 'fizzbuzz', thread: '111.000001', summary: { namespace: 'team-a', name: 'fizzbuzz', goal: 'g', phase: 'Failed', reason: 'MaxIterations', iteration: 5 } },
  ];
  tasks(): TaskRef[] {
    return this.refs;
  }
  async setSuspend(r: TaskRef, s: boolean, a: Actor) {
    this.calls.push(`suspend ${r.name} ${s} ${a.id}`);
  }
  async stop(r: TaskRef, a: Actor) {
    this.calls.push(`stop ${r.name} ${a.id}`);
  }
  async retry(r: TaskRef, hint: string | undefined, a: Actor) {
    this.calls.push(`retry ${r.name} ${hint} ${a.id}`);
    return `${r.name}-rabcde`;
  }
  async guide(r: TaskRef, text: string, a: Actor) {
    this.calls.push(`guide ${r.name} ${text} ${a.id}`);
  }
  async grant(r: TaskRef, n: number, a: Actor) {
    this.calls.push(`grant ${r.name} ${n} ${a.id}`);
  }
  async create(ns: string, t: { goal: string }, a: Actor) {
    this.calls.push(`create ${ns} ${t.goal} ${a.id}`);
    return 'slack-abcde';
  }
}

describe('over HTTP events, signed', () => {
  let slack: FakeSlack;
  let server: Server;
  let url: string;
  let target: RecordingTarget;
  beforeEach(async () => {
    slack = new FakeSlack();
    const apiUrl = await slack.start();
    const app = createSlackApp({ token: slack.validToken, channel: CHANNEL, signingSecret: SECRET, slackApiUrl: apiUrl, retries: 0 });
    target = new RecordingTarget();
    registerControls(app, { target, access: new Access(parseAccess('{"users":{"UALICE":["team-a"]}}'), app.client), channel: CHANNEL });
    server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await slack.stop();
  });

  const post = async (body: string, contentType: string, secret = SECRET) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    return fetch(url, { method: 'POST', body, headers: { 'content-type': contentType, 'x-slack-request-timestamp': ts, 'x-slack-signature': sig } });
  };
  const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

  test('a slash command is answered in the HTTP response; a bad signature is refused', async () => {
    const cmd = form({ command: '/autorun', text: 'status fizzbuzz', user_id: 'UALICE', user_name: 'alice', channel_id: CHANNEL, team_id: 'T1', trigger_id: 't', response_url: 'http://127.0.0.1:9/x', token: 'x' });
    const res = await post(cmd, 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: '❌ *team-a/fizzbuzz* — Failed (MaxIterations) · iteration 5'.replace('❌', ':x:') });
    const forged = await post(cmd, 'application/x-www-form-urlencoded', 'not-the-secret');
    expect(forged.status).toBe(401);
  });

  test('a button press from an allowed user acts; from anyone else, an ephemeral refusal', async () => {
    const payload = (user: string) =>
      form({
        payload: JSON.stringify({
          type: 'block_actions',
          user: { id: user, username: user.toLowerCase(), team_id: 'T1' },
          team: { id: 'T1' },
          channel: { id: CHANNEL },
          trigger_id: 'trig',
          container: { type: 'message', message_ts: '111.000001' },
          actions: [{ type: 'button', action_id: 'autorun_stop', block_id: 'autorun_controls', value: 'team-a/fizzbuzz', action_ts: '1' }],
        }),
      });
    expect((await post(payload('UMALLORY'), 'application/x-www-form-urlencoded')).status).toBe(200);
    expect((await post(payload('UALICE'), 'application/x-www-form-urlencoded')).status).toBe(200);
    // Bolt acks first and acts after: wait for the thread reply that ends the handler.
    while (slack.callsOf('chat.postMessage').length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(target.calls).toEqual(['stop fizzbuzz UALICE']);
    expect(slack.callsOf('chat.postEphemeral').map((c) => c.args.user)).toEqual(['UMALLORY']);
    expect(slack.callsOf('chat.postMessage').map((c) => [c.args.thread_ts, c.args.text])).toEqual([['111.000001', ':octagonal_sign: Stopped for good by <@UALICE>.']]);
  });
});

test.each([
  ['Coding', ['autorun_suspend', 'autorun_stop']],
  ['Suspended', ['autorun_resume', 'autorun_stop']],
  ['NeedsInput', ['autorun_grant', 'autorun_stop']],
  ['Failed', ['autorun_retry']],
  ['Succeeded', []],
])('buttons in phase %s', (phase, ids) => {
  const b = buttonsFor({ namespace: 'n', name: 't', phase }) as { elements: { action_id: string; value: string }[] } | undefined;
  expect(b?.elements.map((e) => e.action_id) ?? []).toEqual(ids);
  for (const e of b?.elements ?? []) expect(e.value).toBe('n/t');
});

test('parseArgs: words, key=value, quoted values', () => {
  expect(parseArgs(`new goal="Implement leap(year) in leap.py" pool=gpu namespace='team-a'`)).toEqual({
    words: ['new'],
    args: { goal: 'Implement leap(year) in leap.py', pool: 'gpu', namespace: 'team-a' },
  });
});

test.each([
  ['not json', /SLACK_ACCESS is not JSON/],
  ['{"users":{"alice":["team-a"]}}', /"alice" is not a Slack user ID/],
  ['{"users":{"U1":"team-a"}}', /SLACK_ACCESS.users.U1 must be a list/],
  ['{"userGroups":{"S1":["Team_A"]}}', /SLACK_ACCESS.userGroups.S1 must be a list of namespace names/],
  ['{"groups":{}}', /unknown key "groups"/],
])('parseAccess(%s) is refused', (text, message) => {
  expect(() => parseAccess(text)).toThrow(AccessError);
  expect(() => parseAccess(text)).toThrow(message);
});

test('Access: users, user groups (looked up, cached for a minute), "*"', async () => {
  let now = 0;
  const members: Record<string, string[]> = { SOPS: ['UBOB'] };
  let lookups = 0;
  const client = { usergroups: { users: { list: async ({ usergroup }: { usergroup: string }) => (lookups++, { ok: true, users: members[usergroup] }) } } };
  const a = new Access(parseAccess('{"users":{"UALICE":["team-a"]},"userGroups":{"SOPS":["*"]}}'), client as never, () => now);
  expect(await a.allows('UALICE', 'team-a')).toBe(true);
  expect(await a.allows('UALICE', 'team-b')).toBe(false);
  expect(await a.allows('UBOB', 'team-b')).toBe(true);
  members.SOPS = [];
  expect(await a.allows('UBOB', 'team-b')).toBe(true);
  now = 61_000;
  expect(await a.allows('UBOB', 'team-b')).toBe(false);
  // One lookup per minute, whoever asks.
  expect(lookups).toBe(2);
});

// The whole path a person takes in Slack: `/autorun new` (Bolt in the operator, over Socket Mode to
// the fake Slack) creates a CodingTask that, with the team's pull request settings
// (SLACK_PULL_REQUEST), runs code ∥ test → run → publish, and the publish Pod (run as a process with
// its Secret resolved) opens the pull request on the fake GitHub through @octokit/rest; its link
// lands on the task thread's first message. Nobody wrote a manifest.
import { jest } from '@jest/globals';
import { FakeGitHub } from '../../fakes/github-server.js';
import { command } from '../../fakes/slack-payloads.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { eventually, kube } from '../../harness/kube.js';
import { createPool, success, taskEvents, TestBed, waitForPhase, type Script } from './support.js';

jest.setTimeout(180_000);

const CHANNEL = 'C0AUTORUN';
let bed: TestBed;
let slack: FakeSlack;
let gh: FakeGitHub;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-slackpr', scripts);
  slack = new FakeSlack();
  const slackApiUrl = await slack.start();
  gh = new FakeGitHub('acme/fizzbuzz');
  const apiURL = await gh.start();
  await kube().core.createNamespacedSecret({ namespace: bed.ns, body: { metadata: { name: 'github-pr' }, stringData: { token: gh.validToken } } });
  await bed.gpuNodes(2);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 2 });
  await bed.startAgents();
  const access = JSON.stringify({ users: { UALICE: [bed.ns] } });
  const pullRequest = JSON.stringify({ provider: 'github', apiURL, credentialsSecretRef: { name: 'github-pr' } });
  await bed.startOperator({ slack: { token: slack.validToken, appToken: slack.validAppToken, channel: CHANNEL, slackApiUrl, retries: 1, access, pullRequest } });
  await slack.connected();
});

afterAll(async () => {
  await bed?.tearDown();
  await slack?.stop();
  await gh?.stop();
});

test('from /autorun new to an open pull request, its link on the thread, without a manifest', async () => {
  scripts.set('from-slack', (s) => (s.role === 'publish' ? { exec: true } : { result: success(s) }));
  const reply = await command(slack, CHANNEL, 'UALICE', 'new goal="Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or the number." repository=https://github.com/acme/fizzbuzz.git name=from-slack');
  expect(reply.text).toBe(`Created *${bed.ns}/from-slack*; its thread follows in this channel.`);
  const t = await waitForPhase(bed.ns, 'from-slack', ['Succeeded', 'Failed']);
  const url = 'https://github.test/acme/fizzbuzz/pull/1';
  expect(t.spec.repository?.pullRequest).toMatchObject({ provider: 'github', credentialsSecretRef: { name: 'github-pr' } });
  expect(t.status).toMatchObject({ phase: 'Succeeded', result: { branch: 'autorun/from-slack', pullRequestURL: url } });
  expect(t.status?.stages?.map((s) => s.role)).toEqual(['code', 'test', 'run', 'publish']);
  expect(gh.pulls('acme/fizzbuzz')).toEqual([expect.objectContaining({ number: 1, head: 'autorun/from-slack', base: 'main', title: expect.stringMatching(/^Implement fizzbuzz\(n\)/) })]);
  expect((await taskEvents(bed.ns, 'from-slack')).map((e) => `${e.reason}: ${e.message}`)).toContainEqual(`CreatedFromSlack: created by Slack user alice (UALICE)`);
  // The thread's first message ends with the pull request's link.
  await eventually(async () => {
    const last = slack.callsOf('chat.update').at(-1);
    if (!last || !JSON.stringify(last.args.blocks ?? last.args.text).includes(`<${url}|pull request>`)) throw new Error('the thread does not show the pull request yet');
  });
  const top = slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts);
  expect(top.map((c) => String(c.args.text))).toEqual([expect.stringContaining(`*${bed.ns}/from-slack*`)]);
});

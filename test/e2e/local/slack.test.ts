// `autorun run` reporting to Slack: the built CLI against the fake Anthropic server and the fake Slack
// Web API, across an interruption, so the resumed run must find its thread in the state file.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { BUGGY, build, cliEnv, CORRECT, lines, readState, runCli, scratch, scriptFor, sharedDir, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

beforeAll(() => build(), 120_000);

const CHANNEL = 'C0AUTORUN';
const API_KEY = 'sk-ant-e2e-not-a-real-key';
const dirs: string[] = [];
let fake: FakeAnthropic | undefined;
let slack: FakeSlack | undefined;
afterEach(async () => {
  await fake?.close();
  await slack?.stop();
  fake = slack = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function slackEnv(fakeUrl: string, slackUrl: string, token: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cliEnv(fakeUrl, { SLACK_BOT_TOKEN: token, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: slackUrl, SLACK_RETRIES: '1', ...extra });
}

test('one thread per task across an interrupted and resumed run: first message ends Succeeded, a reply per transition', async () => {
  const w = scratch(taskYaml('slacked'));
  dirs.push(w.dir);
  const shared = sharedDir(w.dir);
  const marker = join(shared.path, 'pytest-runs.log');
  const s = scriptFor({ code: BUGGY, tests: testsFile({ slowMarker: marker, slowSeconds: 3 }), repair: () => CORRECT });
  fake = await startFakeAnthropic(s.script);
  slack = new FakeSlack();
  const slackUrl = await slack.start();
  const env = slackEnv(fake.url, slackUrl, slack.validToken, shared.env);

  const first = startCli(['run', 'task.yaml'], w.dir, env);
  await waitFor(() => lines(marker).length === 1, 120_000, 'the first pytest run');
  first.child.kill('SIGINT');
  expect((await first.done).code).toBe(130);
  const thread = readState(w.dir, 'slacked') as unknown as { slack?: { channel: string; ts: string } };
  expect(thread.slack).toEqual({ channel: CHANNEL, ts: expect.stringMatching(/^\d+\.\d+$/) });
  const callsBefore = slack.calls.length;

  const again = await runCli(['run', 'task.yaml'], w.dir, env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`reporting to Slack channel ${CHANNEL}`);
  expect(again.stdout).not.toMatch(/slack: /);
  expect(slack.calls.length).toBeGreaterThan(callsBefore);
  const ts = thread.slack!.ts;

  // Exactly one top-level message over both runs: the thread. Everything else is in it.
  const posts = slack.callsOf('chat.postMessage');
  const top = posts.filter((c) => !c.args.thread_ts);
  expect(top).toHaveLength(1);
  expect(top[0]!.args.channel).toBe(CHANNEL);
  expect(String(top[0]!.args.text)).toMatch(/\*default\/slacked\*/);
  const replies = posts.filter((c) => c.args.thread_ts);
  expect(replies.every((c) => c.args.thread_ts === ts && c.args.channel === CHANNEL)).toBe(true);

  // The first message is updated in place, last to Succeeded with the tests and the result.
  const updates = slack.callsOf('chat.update');
  expect(updates.length).toBeGreaterThan(0);
  expect(updates.every((c) => c.args.ts === ts)).toBe(true);
  const last = updates.at(-1)!;
  expect(String(last.args.text)).toMatch(/^:white_check_mark: \*default\/slacked\* — Succeeded \(TestsPassed\) · iteration 2 · tests 6\/6 · cost \$\d+\.\d\d$/);
  expect(JSON.stringify(last.args.blocks)).toContain('branch `autorun/slacked`');
  // The resumed run updated the thread the first run opened.
  expect(slack.calls.slice(callsBefore).some((c) => c.method === 'chat.update' && c.args.ts === ts)).toBe(true);

  // A reply for each transition: the stages of both runs, the failed run, the repair, success.
  const texts = replies.map((c) => String(c.args.text));
  for (const stage of ['slacked-i1-code-a0', 'slacked-i1-test-a0', 'slacked-i1-run-a0', 'slacked-i2-repair-a0', 'slacked-i2-run-a0']) {
    expect(texts).toContainEqual(expect.stringMatching(new RegExp(`^\\*StageStarted\\*: ${stage} started$`)));
  }
  expect(texts).toContainEqual(expect.stringMatching(/^\*StageFailed\*: slacked-i1-run-a0 failed/));
  expect(texts).toContainEqual(expect.stringMatching(/^\*Repairing\*: /));
  expect(texts.at(-1)).toMatch(/^\*Succeeded\*: /);
  // The replies match the run's own event log, one for one and in order.
  const logged = lines(join(w.dir, '.autorun', 'slacked', 'events.log')).map((l) => JSON.parse(l) as { reason: string });
  expect(texts.map((t) => /^(?::warning: )?\*([^*]+)\*/.exec(t)![1])).toEqual(logged.map((e) => e.reason));

  // Only the bot token, only where it belongs; the model key nowhere.
  expect(slack.calls.every((c) => c.token === slack!.validToken)).toBe(true);
  expect(JSON.stringify(slack.calls.map((c) => c.args))).not.toContain(API_KEY);
  expect(JSON.stringify(slack.calls.map((c) => c.args))).not.toContain(slack.validToken);
  expect(readFileSync(join(w.dir, '.autorun', 'state', 'slacked.json'), 'utf8')).not.toContain(slack.validToken);
}, 300_000);

test('Slack failing does not fail or hold up the run: one warning line, task Succeeded, exit 0', async () => {
  const w = scratch(taskYaml('slack-down'));
  dirs.push(w.dir);
  const s = scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT });
  fake = await startFakeAnthropic(s.script);
  slack = new FakeSlack();
  const slackUrl = await slack.start();
  const r = await runCli(['run', 'task.yaml'], w.dir, slackEnv(fake.url, slackUrl, 'xoxb-revoked-token-123456'));
  expect(r.code).toBe(0);
  expect(readState(w.dir, 'slack-down').status.phase).toBe('Succeeded');
  expect(r.stdout.match(/^slack: /gm)).toHaveLength(1);
  expect(r.stdout).toMatch(/slack: .*invalid_auth.*the run goes on/);
  expect(r.stdout + r.stderr).not.toContain('xoxb-revoked-token-123456');
  expect(slack.calls.length).toBeGreaterThan(0);
}, 180_000);

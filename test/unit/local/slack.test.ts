// LocalSlack against the fake Slack Web API: the thread lives in the task's state file, so a new
// process (a resumed run) posts into the same thread; another channel gets a thread of its own.
import { validate } from '../../../operator/src/api/validate.js';
import type { CodingTask } from '../../../operator/src/api/types.js';
import { defaultPool } from '../../../operator/src/local/pools.js';
import type { LocalTask } from '../../../operator/src/local/runner.js';
import { LocalSlack } from '../../../operator/src/local/slack.js';
import { StateDir, STATE_VERSION } from '../../../operator/src/local/state.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { tempDir } from '../agent/helpers.js';

const KEY = 'sk-ant-unit-secret-0123456789';
let slack: FakeSlack;
let url: string;
beforeEach(async () => {
  slack = new FakeSlack();
  url = await slack.start();
});
afterEach(() => slack.stop());

function localTask(dir: StateDir): LocalTask {
  const r = validate('CodingTask', { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name: 'fizz' }, spec: { goal: 'fizzbuzz' } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const task: CodingTask = r.object;
  const now = new Date().toISOString();
  const state = { version: STATE_VERSION, task, pool: 'default', createdAt: now, status: { phase: 'Coding', iteration: 1 }, stages: [], updatedAt: now } as LocalTask['state'];
  dir.save(state);
  return { state, pool: defaultPool({}), repositoryUrl: '/nowhere', order: 0 };
}

function env(channel = 'C1', token = slack.validToken): NodeJS.ProcessEnv {
  return { SLACK_BOT_TOKEN: token, SLACK_CHANNEL: channel, SLACK_API_URL: url, SLACK_RETRIES: '0' };
}

test('off without SLACK_BOT_TOKEN and SLACK_CHANNEL', () => {
  const dir = new StateDir(tempDir());
  expect(LocalSlack.fromEnv({ SLACK_CHANNEL: 'C1' }, [localTask(dir)], dir, [], () => {})).toBeUndefined();
});

test('the thread ts is saved with the task; a new process keeps the thread, another channel starts one', async () => {
  const dir = new StateDir(tempDir());
  const t = localTask(dir);
  const first = LocalSlack.fromEnv(env(), [t], dir, [KEY], () => {})!;
  first.report(t, [{ kind: 'Normal', reason: 'StageStarted', message: `fizz-i1-code-a0 started with ${KEY}` }]);
  expect(await first.flush(5000)).toBe(true);
  const ts = dir.load('fizz')!.slack;
  expect(ts).toEqual({ channel: 'C1', ts: expect.stringMatching(/^\d+\.\d+$/) });

  // A resumed run: fresh objects, state read back from disk.
  const resumed = { ...t, state: dir.load('fizz')! };
  resumed.state.status = { phase: 'Succeeded', reason: 'TestsPassed', iteration: 1 };
  const second = LocalSlack.fromEnv(env(), [resumed], dir, [KEY], () => {})!;
  second.report(resumed, [{ kind: 'Normal', reason: 'Succeeded', message: 'tests pass' }]);
  expect(await second.flush(5000)).toBe(true);
  expect(slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts)).toHaveLength(1);
  expect(slack.callsOf('chat.update').map((c) => c.args.ts)).toEqual([ts!.ts]);
  expect(slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts).map((c) => c.args.thread_ts)).toEqual([ts!.ts, ts!.ts]);
  expect(JSON.stringify(slack.calls)).not.toContain(KEY);
  expect(JSON.stringify(slack.calls)).toContain('[redacted]');

  const elsewhere = LocalSlack.fromEnv(env('C2'), [resumed], dir, [], () => {})!;
  elsewhere.report(resumed, []);
  await elsewhere.flush(5000);
  expect(slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts).map((c) => c.args.channel)).toEqual(['C1', 'C2']);
  expect(dir.load('fizz')!.slack?.channel).toBe('C2');
});

test('errors: one warning with the Slack error, never the token; report() never throws', async () => {
  const dir = new StateDir(tempDir());
  const t = localTask(dir);
  const warnings: string[] = [];
  const s = LocalSlack.fromEnv(env('C1', 'xoxb-wrong-0123456789'), [t], dir, [], (l) => warnings.push(l))!;
  s.report(t, []);
  s.report(t, [{ kind: 'Normal', reason: 'X', message: 'y' }]);
  expect(await s.flush(5000)).toBe(true);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^slack: .*invalid_auth/);
  expect(warnings[0]).not.toContain('xoxb-wrong-0123456789');
  expect(s.failed).toBe(2);
  expect(dir.load('fizz')!.slack).toBeUndefined();
});

import { FakeSlack } from '../../../fakes/slack-server.js';
import { createSlackApp } from '../../../../operator/src/report/slack/app.js';
import { SlackReporter, MemoryThreadStore } from '../../../../operator/src/report/slack/reporter.js';
import type { TaskSummary } from '../../../../operator/src/report/summary.js';

const task = (over: Partial<TaskSummary> = {}): TaskSummary => ({
  namespace: 'team-a', name: 'fizzbuzz', goal: 'Implement fizzbuzz(n) in fizzbuzz.py', phase: 'Coding', iteration: 1, ...over,
});

describe('SlackReporter through the real Bolt WebClient', () => {
  let slack: FakeSlack;
  let url: string;
  beforeEach(async () => {
    slack = new FakeSlack();
    url = await slack.start();
  });
  afterEach(() => slack.stop());

  const reporter = (store = new MemoryThreadStore(), errors: unknown[] = []) =>
    new SlackReporter(createSlackApp({ token: 'xoxb-test-token', channel: 'C1', slackApiUrl: url, retries: 2 }), 'C1', store, (e) => errors.push(e));

  it('opens one thread per task, updates its first message in place and replies per event', async () => {
    const r = reporter();
    await r.report(task(), [{ kind: 'Normal', reason: 'StageStarted', message: 'code and test agents started' }]);
    await r.report(task({ phase: 'Repairing', iteration: 2, tests: '9/10', cost: '$0.41' }), [
      { kind: 'Warning', reason: 'TestsFailed', message: '1 of 10 tests failed' },
    ]);
    const posts = slack.callsOf('chat.postMessage');
    const opening = posts.filter((c) => !c.args.thread_ts);
    expect(opening).toHaveLength(1);
    const threadTs = posts.filter((c) => c.args.thread_ts).map((c) => c.args.thread_ts);
    expect(threadTs).toHaveLength(2);
    expect(new Set(threadTs).size).toBe(1);
    const updates = slack.callsOf('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.args.ts).toBe(threadTs[0]);
    expect(String(updates[0]!.args.text)).toContain('Repairing');
    expect(String(updates[0]!.args.text)).toContain('9/10');
    expect(JSON.stringify(updates[0]!.args.blocks)).toContain('$0.41');
  });

  it('the first message links the pull request once the task has one', async () => {
    const r = reporter();
    await r.report(task());
    await r.report(task({ phase: 'Succeeded', branch: 'autorun/fizzbuzz', pullRequestURL: 'https://github.test/acme/fizzbuzz/pull/1' }));
    expect(JSON.stringify(slack.callsOf('chat.postMessage')[0]!.args.blocks)).not.toContain('pull request');
    expect(JSON.stringify(slack.callsOf('chat.update')[0]!.args.blocks)).toContain('<https://github.test/acme/fizzbuzz/pull/1|pull request>');
  });

  it('serialises concurrent reports so a task never gets two threads', async () => {
    const r = reporter();
    await Promise.all([r.report(task()), r.report(task({ phase: 'Running' })), r.report(task({ phase: 'Succeeded' }))]);
    expect(slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts)).toHaveLength(1);
    expect(slack.callsOf('chat.update').length).toBe(2);
  });

  it('does not update when nothing visible changed', async () => {
    const r = reporter();
    await r.report(task());
    await r.report(task());
    expect(slack.callsOf('chat.update')).toHaveLength(0);
  });

  it('keeps posting to a stored thread after a restart', async () => {
    const store = new MemoryThreadStore();
    await reporter(store).report(task());
    await reporter(store).report(task({ phase: 'Running' }));
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(slack.callsOf('chat.update')).toHaveLength(1);
  });

  it('retries a rate-limited call and succeeds', async () => {
    slack.rateLimitNext = 1;
    const errors: unknown[] = [];
    await reporter(new MemoryThreadStore(), errors).report(task());
    expect(errors).toEqual([]);
    expect(slack.callsOf('chat.postMessage').length).toBe(2);
  });

  it('never posts a secret, and reports a bad token as an error instead of throwing', async () => {
    const errors: unknown[] = [];
    const r = reporter(new MemoryThreadStore(), errors);
    await r.report(task({ goal: 'use key sk-ant-api03-abcdefghijklmnop to call', message: 'token xoxb-123456789-abcdef leaked' }));
    const body = JSON.stringify(slack.calls);
    expect(body).not.toContain('sk-ant-api03-abcdefghijklmnop');
    expect(body).not.toContain('xoxb-123456789-abcdef');
    expect(body).toContain('[redacted]');

    const bad = new SlackReporter(createSlackApp({ token: 'xoxb-wrong', channel: 'C1', slackApiUrl: url, retries: 0 }), 'C1', new MemoryThreadStore(), (e) => errors.push(e));
    await bad.report(task({ name: 'other' }));
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('invalid_auth');
  });
});

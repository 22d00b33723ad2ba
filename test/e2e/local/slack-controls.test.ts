// Slack's Retry and `/autorun new` in the local tier: `autorun run --watch` with real Bolt over
// Socket Mode against the fake Slack, the built CLI, real agents, git and pytest, and the fake model.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { messagesText, systemText } from '../../fakes/anthropic-server.js';
import { click, command, submit } from '../../fakes/slack-payloads.js';
import { FakeGitHub } from '../../fakes/github-server.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { BUGGY, cliEnv, CORRECT, git, lines, localE2E, readState, scriptFor, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

const { workdir, fakeModel, closeAfter } = localE2E();

const CHANNEL = 'C0LOCAL';
const HINT = 'check 15 before 3 and 5';
const GOAL = 'Implement fizzbuzz(n) in fizzbuzz.py: "Fizz" for multiples of 3, "Buzz" for multiples of 5, "FizzBuzz" for both, otherwise str(n); ValueError for n < 1.';

async function slackFor(extra: NodeJS.ProcessEnv = {}): Promise<{ slack: FakeSlack; env: (fakeUrl: string) => NodeJS.ProcessEnv }> {
  const slack = new FakeSlack();
  const url = await slack.start();
  const env = (fakeUrl: string) =>
    cliEnv(fakeUrl, {
      SLACK_BOT_TOKEN: slack.validToken,
      SLACK_APP_TOKEN: slack.validAppToken,
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: url,
      SLACK_RETRIES: '1',
      SLACK_ACCESS: JSON.stringify({ users: { UALICE: ['default'] } }),
      ...extra,
    });
  return { slack, env };
}

const phase = (dir: string, task: string) => (existsSync(join(dir, '.autorun', 'state', `${task}.json`)) ? readState(dir, task).status.phase : undefined);

test('Retry on a failed task starts it again in the running process, from iteration 1 and with the hint; anyone else is refused', async () => {
  const w = workdir(taskYaml('retried', '  limits:\n    maxIterations: 2\n'));
  // The first run's repair gets it wrong again (Failed, MaxIterations); the retry's repair gets it right.
  const fake = await fakeModel(scriptFor({ code: BUGGY, tests: testsFile(), repair: (round) => (round === 0 ? BUGGY : CORRECT) }).script);
  const { slack, env } = await slackFor();
  try {
    const run = startCli(['run', 'task.yaml', '--watch'], w.dir, env(fake.url));
    await waitFor(() => phase(w.dir, 'retried') === 'Failed', 180_000, 'the first run to fail');
    const first = readState(w.dir, 'retried') as ReturnType<typeof readState> & { slack: { ts: string } };
    expect(first.status.reason).toBe('MaxIterations');
    const ts = first.slack.ts;

    await click(slack, CHANNEL, 'UMALLORY', 'autorun_retry', 'default/retried', ts);
    await waitFor(() => slack.callsOf('chat.postEphemeral').some((c) => c.args.user === 'UMALLORY'), 30_000, 'the refusal');
    expect(slack.callsOf('views.open')).toHaveLength(0);
    await click(slack, CHANNEL, 'UALICE', 'autorun_retry', 'default/retried', ts);
    await waitFor(() => slack.callsOf('views.open').length === 1, 30_000, 'the retry form');
    await submit(slack, 'UALICE', 'autorun_retry_view', { hint: HINT }, JSON.stringify({ namespace: 'default', name: 'retried' }));

    await waitFor(() => phase(w.dir, 'retried') === 'Succeeded', 180_000, 'the retried run to succeed');
    run.child.kill('SIGINT');
    const done = await run.done;
    // --watch ran until Ctrl-C; every task had ended, so the exit status is theirs.
    expect(done.code).toBe(0);
    const state = readState(w.dir, 'retried') as ReturnType<typeof readState> & { retries?: number; slack: { ts: string }; people?: { guidance?: string[] } };
    expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });
    expect(state.retries).toBe(1);
    expect(state.people?.guidance).toEqual([HINT]);
    // The same thread; the failed run's stages kept aside, the new run's from i1 again.
    expect(state.slack.ts).toBe(ts);
    expect(existsSync(join(w.dir, '.autorun', 'retried', 'retries', '1', 'stages', 'retried-i2-repair-a0', 'transcript.log'))).toBe(true);
    expect(state.stages.map((s) => s.name)).toEqual(['retried-i1-code-a0', 'retried-i1-test-a0', 'retried-i1-run-a0', 'retried-i2-repair-a0', 'retried-i2-run-a0']);
    // The hint reached the retried run's repair prompt, and only that one.
    const repairs = fake.requests.filter((r) => systemText(r).includes('You are the repair agent') && !r.body.messages.some((m) => typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_result')));
    expect(repairs.map((r) => messagesText(r).includes(HINT))).toEqual([false, true]);
    const events = lines(join(w.dir, '.autorun', 'retried', 'events.log')).map((l) => JSON.parse(l) as { reason: string; message: string });
    expect(events).toContainEqual(expect.objectContaining({ reason: 'RetriedFromSlack', message: `started again (retry 1) by Slack user alice (UALICE) with a hint: ${HINT}; the failed run's stages are in retries/1/` }));
    const replies = slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === ts).map((c) => String(c.args.text));
    expect(replies).toContain(`:repeat: Retried by <@UALICE> from iteration 1 with the hint: ${HINT}.`);
  } finally {
    await slack.stop();
  }
}, 420_000);

test('/autorun new creates a task the running process runs to success in the named local repository; bad input and strangers are refused', async () => {
  const w = workdir('');
  const repo = join(w.dir, 'proj');
  mkdirSync(repo);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', 'empty');
  const fake = await fakeModel(scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT }).script);
  const { slack, env } = await slackFor();
  try {
    // No files at all: the tasks come from Slack.
    const run = startCli(['run', '--watch'], w.dir, env(fake.url));
    const say = async (who: string, text: string) => String((await command(slack, CHANNEL, who, text)).text);
    expect(await say('UMALLORY', `new goal="x" namespace=default`)).toBe('You may not create tasks in namespace default.');
    expect(await say('UALICE', `new goal="x" repository=./nowhere`)).toMatch(/^autorun: spec\.repository\.url: repository .*\/nowhere does not exist$/);
    expect(await say('UALICE', `new goal="x" pool=gpus`)).toMatch(/^autorun: .*spec\.pool: AgentPool "gpus" is not in the files given to `autorun run`/);
    expect(await say('UALICE', `new goal="${GOAL}" repository=./proj name=from-slack`)).toBe('Created *default/from-slack*; its thread follows in this channel.');

    await waitFor(() => phase(w.dir, 'from-slack') === 'Succeeded', 180_000, 'the new task to succeed');
    expect(await say('UALICE', 'status from-slack')).toMatch(/^:white_check_mark: \*default\/from-slack\* — Succeeded \(TestsPassed\)/);
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(0);
    // The work is on the task branch of the repository named in the command.
    expect(git(repo, 'show', 'autorun/from-slack:fizzbuzz.py')).toBe(CORRECT.trim());
    const top = slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts);
    expect(top.map((c) => String(c.args.text))).toContainEqual(expect.stringMatching(/\*default\/from-slack\*/));
    expect(readFileSync(join(w.dir, '.autorun', 'from-slack', 'events.log'), 'utf8')).toContain('"reason":"CreatedFromSlack","message":"created by Slack user alice (UALICE)"');
    // Only the one task was created: the refused commands left nothing behind.
    expect(existsSync(join(w.dir, '.autorun', 'state'))).toBe(true);
    expect(readFileSync(join(w.dir, '.autorun', 'state', 'from-slack.json'), 'utf8')).toContain('"fromSlack"');
  } finally {
    await slack.stop();
  }
}, 420_000);

test('/autorun new with the team\'s pull request settings (SLACK_PULL_REQUEST): from the command to an open pull request, its link on the thread', async () => {
  const w = workdir('');
  const repo = join(w.dir, 'proj');
  mkdirSync(repo);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', 'empty');
  const gh = new FakeGitHub('acme/fizzbuzz');
  const apiURL = await gh.start();
  closeAfter({ close: () => gh.stop() });
  const fake = await fakeModel(scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT }).script);
  const { slack, env } = await slackFor({ SLACK_PULL_REQUEST: JSON.stringify({ provider: 'github', apiURL, repository: 'acme/fizzbuzz' }), AUTORUN_PR_TOKEN: gh.validToken });
  try {
    const run = startCli(['run', '--watch'], w.dir, env(fake.url));
    const reply = await command(slack, CHANNEL, 'UALICE', `new goal="${GOAL}" repository=./proj name=to-pr`);
    expect(reply.text).toBe('Created *default/to-pr*; its thread follows in this channel.');
    await waitFor(() => phase(w.dir, 'to-pr') === 'Succeeded', 180_000, 'the task to succeed');
    const url = 'https://github.test/acme/fizzbuzz/pull/1';
    await waitFor(() => JSON.stringify(slack.callsOf('chat.update').at(-1)?.args.blocks ?? '').includes(`<${url}|pull request>`), 30_000, 'the PR link on the thread');
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(0);
    const state = readState(w.dir, 'to-pr') as ReturnType<typeof readState> & { status: { result?: { pullRequestURL?: string } } };
    expect(state.status.result?.pullRequestURL).toBe(url);
    expect(gh.pulls('acme/fizzbuzz')).toEqual([expect.objectContaining({ number: 1, head: 'autorun/to-pr', base: 'main' })]);
    expect(git(repo, 'show', 'autorun/to-pr:fizzbuzz.py')).toBe(CORRECT.trim());
  } finally {
    await slack.stop();
  }
}, 420_000);

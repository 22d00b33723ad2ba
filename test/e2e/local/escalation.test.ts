// Escalation in the local tier: a task out of iterations stops in NeedsInput (exit 1, saying how to
// carry on) instead of failing; granting iterations and a hint in its manifest and running the same
// command again resumes it where it stopped, and the hint reaches the repair prompt the model sees.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { messagesText, systemText } from '../../fakes/anthropic-server.js';
import { FakeSlack } from '../../fakes/slack-server.js';
import { BUGGY, cliEnv, CORRECT, localE2E, readState, runCli, scriptFor, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

const { workdir, fakeModel } = localE2E();

const HINT = 'fizzbuzz(15) must be checked before 3 and 5';

test('NeedsInput, then a grant and a hint in the manifest resume the task to success', async () => {
  const w = workdir(taskYaml('asks', '  limits:\n    maxIterations: 1\n  escalation:\n    enabled: true\n'));
  const fake = await fakeModel(scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT }).script);
  const env = cliEnv(fake.url);

  const first = await runCli(['run', 'task.yaml'], w.dir, env);
  expect(first.code).toBe(1);
  expect(first.stdout).toContain('asks: needs input (MaxIterations): iteration 2 would exceed spec.limits.maxIterations (1)');
  expect(first.stdout).toContain('add to its manifest spec.escalation.grants');
  const waiting = readState(w.dir, 'asks');
  expect(waiting.status).toMatchObject({ phase: 'NeedsInput', reason: 'MaxIterations', iteration: 1 });
  const before = waiting.stages.map((s) => s.name);

  writeFileSync(w.file, readFileSync(w.file, 'utf8').replace('    enabled: true\n', `    enabled: true\n    grants: [{iterations: 1, by: me}]\n  guidance: ["${HINT}"]\n`));
  const again = await runCli(['run', 'task.yaml'], w.dir, env);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const done = readState(w.dir, 'asks');
  expect(done.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });
  // Resumed where it stopped: the first run's stages were not run again.
  expect(done.stages.map((s) => s.name)).toEqual([...before, 'asks-i2-repair-a0', 'asks-i2-run-a0']);
  const repairPrompts = fake.requests.filter((r) => systemText(r).includes('You are the repair agent')).map(messagesText);
  expect(repairPrompts[0]).toContain(`Guidance from the people watching this task (follow it; the newest wins where two disagree):\n- ${HINT}`);
}, 180_000);

test('with Slack controls the run waits for a person: a thread reply from an allowed user resumes the task, anyone else is refused', async () => {
  const w = workdir(taskYaml('asks-slack', '  limits:\n    maxIterations: 1\n  escalation:\n    enabled: true\n'));
  const fake = await fakeModel(scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT }).script);
  const slack = new FakeSlack();
  const slackUrl = await slack.start();
  try {
    const env = cliEnv(fake.url, {
      SLACK_BOT_TOKEN: slack.validToken,
      SLACK_APP_TOKEN: slack.validAppToken,
      SLACK_CHANNEL: 'C0LOCAL',
      SLACK_API_URL: slackUrl,
      SLACK_RETRIES: '1',
      SLACK_ACCESS: JSON.stringify({ users: { UALICE: ['default'] } }),
    });
    const run = startCli(['run', 'task.yaml'], w.dir, env);
    await waitFor(() => existsSync(join(w.dir, '.autorun/state/asks-slack.json')) && readState(w.dir, 'asks-slack').status.phase === 'NeedsInput', 120_000, 'NeedsInput');
    const ts = (readState(w.dir, 'asks-slack') as unknown as { slack: { ts: string } }).slack.ts;
    const reply = (user: string, text: string) =>
      slack.deliver('events_api', { type: 'event_callback', team_id: 'T1', event: { type: 'message', channel: 'C0LOCAL', user, text, ts: `${Date.now() / 1000}`, thread_ts: ts } });
    await reply('UMALLORY', 'skip the tests');
    await waitFor(() => slack.callsOf('chat.postEphemeral').some((c) => c.args.user === 'UMALLORY'), 30_000, 'the refusal');
    expect(readState(w.dir, 'asks-slack').status.phase).toBe('NeedsInput');
    await reply('UALICE', HINT);
    const done = await run.done;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('autorun: taking Slack controls');
    const state = readState(w.dir, 'asks-slack') as ReturnType<typeof readState> & { people?: unknown };
    expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });
    expect(state.people).toEqual({ guidance: [HINT], grants: [{ iterations: 2, by: 'Slack user UALICE' }] });
    const repairPrompts = fake.requests.filter((r) => systemText(r).includes('You are the repair agent')).map(messagesText);
    expect(repairPrompts[0]).toContain(`- ${HINT}`);
    expect(readFileSync(join(w.dir, '.autorun/asks-slack/events.log'), 'utf8')).toContain(`"reason":"GuidanceFromSlack","message":"guidance from Slack user UALICE for the next repair stage: ${HINT}"`);
  } finally {
    await slack.stop();
  }
}, 180_000);

// Escalation in the local tier: a task out of iterations stops in NeedsInput (exit 1, saying how to
// carry on) instead of failing; granting iterations and a hint in its manifest and running the same
// command again resumes it where it stopped, and the hint reaches the repair prompt the model sees.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { messagesText, startFakeAnthropic, systemText, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { BUGGY, build, cliEnv, CORRECT, readState, runCli, scratch, scriptFor, taskYaml, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

const dirs: string[] = [];
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const HINT = 'fizzbuzz(15) must be checked before 3 and 5';

test('NeedsInput, then a grant and a hint in the manifest resume the task to success', async () => {
  const w = scratch(taskYaml('asks', '  limits:\n    maxIterations: 1\n  escalation:\n    enabled: true\n'));
  dirs.push(w.dir);
  fake = await startFakeAnthropic(scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT }).script);
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

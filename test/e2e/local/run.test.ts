// `autorun run` end to end: the built CLI, the real agent program as local processes, real git and
// real pytest, and the fake Anthropic server in place of the model.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { namePrefix } from '../../../operator/src/core/names.js';
import { messagesText } from '../../fakes/anthropic-server.js';
import { BUGGY, BUGGY_ASSERTION, cliEnv, CORRECT, git, lines, localE2E, readState, REPO_ROOT, reportSection, roleOf, runCli, scriptFor, sharedDir, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

const { workdir, fakeModel } = localE2E();

test('the quickstart example passes first time: Succeeded, exit 0, the result on the task branch', async () => {
  const s = scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT });
  const fake = await fakeModel(s.script);
  // The file the README's quickstart runs.
  const { dir } = workdir(readFileSync(join(REPO_ROOT, 'manifests', 'examples', 'local', 'fizzbuzz.yaml'), 'utf8'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(r.stdout).toMatch(/^fizzbuzz +Succeeded +1 +5\/5 +\$\d+\.\d\d +\S+ +TestsPassed$/m);
  expect(r.stdout).toMatch(/no GPU found \(nvidia-smi -L\): run stages, which the pool gives 1 GPU\(s\), run without one/);
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 0 });
  const state = readState(dir, 'fizzbuzz');
  expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 1, tests: { summary: '5/5' }, result: { branch: 'autorun/fizzbuzz' } });
  // The branch in the task's own repository holds the code and the tests the run stage passed.
  const repo = join(dir, '.autorun', 'fizzbuzz', 'repo');
  expect(git(repo, 'show', 'autorun/fizzbuzz:fizzbuzz.py')).toBe(CORRECT.trim());
  expect(git(repo, 'show', 'autorun/fizzbuzz:tests/test_fizzbuzz.py')).toContain('def test_fizzbuzz');
  // `autorun status` prints the same table from the recorded state.
  const st = await runCli(['status'], dir, cliEnv(undefined));
  expect(st.code).toBe(0);
  expect(st.stdout).toMatch(/^NAME +PHASE +ITER +TESTS +COST +ELAPSED +REASON$/m);
  expect(st.stdout).toMatch(/^fizzbuzz +Succeeded +1 +5\/5 /m);
  expect(st.stdout).toMatch(/no run in progress/);
  // No secret in anything autorun recorded.
  const recorded = JSON.stringify(state) + lines(join(dir, '.autorun', 'fizzbuzz', 'events.log')).join('\n');
  expect(recorded).not.toContain('sk-ant-e2e-not-a-real-key');
}, 180_000);

test('a task that needs a repair: the repair agent gets the failure report, then the tests pass', async () => {
  const s = scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT });
  const fake = await fakeModel(s.script);
  const { dir } = workdir(taskYaml('needs-repair'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  // Checked before the outcome, which it decides (the script refuses a repair prompt without the
  // report): after the report heading, the prompt carries pytest's own assertion line, which
  // neither the goal nor the failing test's name holds.
  const repairRequest = fake.requests.find((q) => roleOf(q) === 'repair');
  expect(repairRequest).toBeDefined();
  const prompt = messagesText(repairRequest!);
  expect(prompt).toContain('tests/test_fizzbuzz.py::test_fizzbuzz');
  expect(reportSection(prompt)).toMatch(/^Failure report of the last run:\nCommand: .*pytest.*\nExit code: 1\nTests: 4 passed, 1 failed, 5 total\n/);
  expect(reportSection(prompt)).toContain(BUGGY_ASSERTION);
  expect(r.code).toBe(0);
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 1 });
  const state = readState(dir, 'needs-repair');
  expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2, tests: { summary: '5/5' } });
  expect(state.stages.map((st) => `${st.name}:${st.result?.outcome}`).sort()).toEqual([
    'needs-repair-i1-code-a0:Succeeded',
    'needs-repair-i1-test-a0:Succeeded',
    'needs-repair-i1-run-a0:Failed',
    'needs-repair-i2-repair-a0:Succeeded',
    'needs-repair-i2-run-a0:Succeeded',
  ].sort());
  expect(existsSync(join(dir, '.autorun', 'needs-repair', 'stages', 'needs-repair-i1-run-a0', 'failure-report.json'))).toBe(true);
}, 180_000);

test('a task with a 63-character name runs through a repair; its stages get short names with a hash', async () => {
  const name = `fizzbuzz-with-a-name-as-long-as-a-label-may-be-${'x'.repeat(16)}`;
  expect(name).toHaveLength(63);
  const s = scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT });
  const fake = await fakeModel(s.script);
  const { dir } = workdir(taskYaml(name));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 1 });
  const state = readState(dir, name);
  expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2, tests: { summary: '5/5' }, result: { branch: `autorun/${name}` } });
  const prefix = namePrefix(name);
  expect(prefix).toMatch(/^fizzbuzz-with-a-name-as-long-[0-9a-f]{10}$/);
  expect(state.stages.map((st) => `${st.name}:${st.result?.outcome}`).sort()).toEqual(
    ['i1-code-a0:Succeeded', 'i1-test-a0:Succeeded', 'i1-run-a0:Failed', 'i2-repair-a0:Succeeded', 'i2-run-a0:Succeeded'].map((x) => `${prefix}-${x}`).sort(),
  );
  expect(existsSync(join(dir, '.autorun', name, 'stages', `${prefix}-i1-run-a0`, 'failure-report.json'))).toBe(true);
  const st = await runCli(['status'], dir, cliEnv(undefined));
  expect(st.stdout).toContain(`${name}: branch autorun/${name} at `);
}, 180_000);

test('a task that never passes stops at maxIterations with exit status 1', async () => {
  const s = scriptFor({ code: BUGGY, tests: testsFile(), repair: (round) => `${BUGGY}\n# repair round ${round}\n` });
  const fake = await fakeModel(s.script);
  const { dir } = workdir(taskYaml('hopeless', '  limits:\n    maxIterations: 2\n'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^hopeless +Failed +2 +4\/5 .* MaxIterations$/m);
  expect(r.stdout).toMatch(/hopeless: failed \(MaxIterations\)/);
  expect(readState(dir, 'hopeless').status).toMatchObject({ phase: 'Failed', reason: 'MaxIterations' });
}, 180_000);

test('SIGKILL mid-stage, then the same command again: resumes, and no finished stage runs twice', async () => {
  const { dir } = workdir(taskYaml('resume'));
  const shared = sharedDir(dir);
  const marker = join(shared.path, 'pytest-runs.log');
  const s = scriptFor({ code: BUGGY, tests: testsFile({ slowMarker: marker, slowSeconds: 3 }), repair: () => CORRECT });
  const fake = await fakeModel(s.script);
  const first = startCli(['run', 'task.yaml'], dir, cliEnv(fake.url, shared.env));
  // The first run stage is executing pytest: kill autorun itself, as a crash or `kill -9` would.
  await waitFor(() => lines(marker).length === 1, 120_000, 'the first pytest run');
  first.child.kill('SIGKILL');
  const killed = await first.done;
  expect(killed.signal).toBe('SIGKILL');
  expect(readState(dir, 'resume').status.phase).toBe('Running');

  const second = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url, shared.env));
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/resume: resuming \(Running, 2 stage\(s\) finished\)/);
  // The run agent outlived the killed autorun (its own process group, its log a file): adopted.
  expect(second.stdout).toMatch(/resume-i1-run-a0 is still running from the previous run \(pid \d+\); waiting for it/);
  const state = readState(dir, 'resume');
  expect(state.status.phase).toBe('Succeeded');
  // Each LLM stage asked the model once; pytest ran once for the first run stage (finished by the
  // agent that outlived the killed autorun) and once for the second, plus the flaky re-run of the
  // failing test only (which does not append).
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 1 });
  expect(lines(marker)).toHaveLength(2);
  expect(state.stages.map((st) => st.name).sort()).toEqual(['resume-i1-code-a0', 'resume-i1-run-a0', 'resume-i1-test-a0', 'resume-i2-repair-a0', 'resume-i2-run-a0']);
  expect(readdirSync(join(dir, '.autorun', 'resume', 'stages')).sort()).toEqual(state.stages.map((st) => st.name).sort());
}, 240_000);

test('Ctrl-C (SIGINT): stops the agents, saves the state, exits 130; the rerun finishes the task', async () => {
  const { dir } = workdir(taskYaml('interrupt'));
  const shared = sharedDir(dir);
  const marker = join(shared.path, 'pytest-runs.log');
  const s = scriptFor({ code: CORRECT, tests: testsFile({ slowMarker: marker, slowSeconds: 6 }), repair: () => CORRECT });
  const fake = await fakeModel(s.script);
  const first = startCli(['run', 'task.yaml'], dir, cliEnv(fake.url, shared.env));
  await waitFor(() => lines(marker).length === 1, 120_000, 'the first pytest run');
  // `autorun status` reads the state of the run in progress.
  const st = await runCli(['status'], dir, cliEnv(undefined));
  expect(st.stdout).toMatch(/^interrupt +Running +1 +- /m);
  expect(st.stdout).toContain(`a run is in progress (pid ${first.child.pid}`);
  // A second run on the same state dir is refused while the first holds the lock.
  const clash = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url, shared.env));
  expect(clash.code).toBe(2);
  expect(clash.stderr).toContain(`another autorun run (pid ${first.child.pid}`);
  first.child.kill('SIGINT');
  const stopped = await first.done;
  expect(stopped.code).toBe(130);
  expect(stopped.stdout).toMatch(/interrupted: state saved/);
  expect(existsSync(join(dir, '.autorun', 'lock'))).toBe(false);

  // The interrupted run stage starts again under the same name; the finished code and test stages do not.
  const again = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url, shared.env));
  expect(again.code).toBe(0);
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 0 });
  expect(lines(marker)).toHaveLength(2);
  expect(readState(dir, 'interrupt').stages.map((st) => st.name).sort()).toEqual(['interrupt-i1-code-a0', 'interrupt-i1-run-a0', 'interrupt-i1-test-a0']);
}, 240_000);

test('with the Anthropic provider named but no ANTHROPIC_API_KEY it says what to set, exits 2 and starts nothing', async () => {
  const { dir } = workdir(taskYaml('no-key'));
  // With no provider named, no key means the local engine (real-model.test.ts).
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(undefined, { AUTORUN_MODEL_PROVIDER: 'anthropic' }));
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/ANTHROPIC_API_KEY/);
  expect(r.stderr).toMatch(/export ANTHROPIC_API_KEY=/);
  expect(r.stderr).toMatch(/provider: openai-compatible/);
  expect(r.stderr).toMatch(/Or unset AUTORUN_MODEL_PROVIDER to run the local engine/);
  expect(r.stderr).toMatch(/Nothing was started/);
  expect(existsSync(join(dir, '.autorun'))).toBe(false);
}, 60_000);

test('an invalid manifest is refused with file, document and field, exit 2', async () => {
  const { dir } = workdir(`${taskYaml('ok')}---\n${taskYaml('bad', '  limits:\n    maxIterations: 21\n')}`);
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv('http://127.0.0.1:9'));
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('task.yaml: document 2 (CodingTask bad): spec.limits.maxIterations: must be <= 20');
  expect(existsSync(join(dir, '.autorun'))).toBe(false);
}, 60_000);

// A repair stage after earlier repairs failed, facing a test that contradicts the goal: the agent
// process gets the previous attempts' summaries, people's guidance and the real pytest report in its prompt, flags the
// test through its flag_test tool instead of bending the code, and reports that with no new commit.
import { join } from 'node:path';
import { messagesText, startFakeAnthropic, systemText, text, toolResults, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic, FakeReply, RecordedRequest } from '../../fakes/anthropic-server.js';
import { baseContext, build, expectContract, git, makeRemote, pushFiles, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-secret-abcdefghijklmnop';

const CORRECT = 'def fizzbuzz(n):\n    if n % 15 == 0:\n        return "FizzBuzz"\n    if n % 3 == 0:\n        return "Fizz"\n    if n % 5 == 0:\n        return "Buzz"\n    return str(n)\n';
// test_fifteen_is_fizz contradicts the goal ("FizzBuzz" for multiples of both).
const TESTS =
  'from fizzbuzz import fizzbuzz\n\n\ndef test_plain():\n    assert fizzbuzz(1) == "1"\n\n\ndef test_three():\n    assert fizzbuzz(9) == "Fizz"\n\n\ndef test_fifteen_is_fizz():\n    assert fizzbuzz(15) == "Fizz"\n';
const WRONG_TEST = 'tests/test_fizzbuzz.py::test_fifteen_is_fizz';
const PREVIOUS = [
  'a1b2c3d4: returned "Fizz" for 15 by checking 3 first; test_three broke',
  'e5f6a7b8: special-cased fizzbuzz(15); the tests still expect "Fizz"',
];
const GUIDANCE = ['the goal is right, the 15 test is not', 'do not special-case 15'];
const REASON = 'the goal says multiples of both 3 and 5 give "FizzBuzz"; this test expects "Fizz" for 15';

function model(req: RecordedRequest): FakeReply {
  if (!systemText(req).includes('You are the repair agent')) throw new Error(`unexpected system prompt: ${systemText(req).slice(0, 80)}`);
  const turn = req.body.messages.filter((m) => m.role === 'assistant').length;
  if (turn === 0) return toolUse('flag_test', { name: WRONG_TEST, reason: REASON });
  return text('The implementation follows the goal; flagged test_fifteen_is_fizz as contradicting it');
}

let fake: FakeAnthropic;
beforeAll(() => build(), 300_000);
afterEach(async () => fake?.close());

test('repair with previous attempts flags a wrong test: flaggedTests in the result, no code change, the merge it started from kept as the code ref', async () => {
  const dir = tempDir('autorun-repair-');
  const remote = makeRemote(dir, { 'README.md': '# fizz\n' });
  const codeCommit = pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'fizzbuzz.py': CORRECT });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'tests/test_fizzbuzz.py': TESTS });
  fake = await startFakeAnthropic(model);

  // A real run first: real pytest fails the wrong test and writes the report repair works from.
  const reportPath = join(dir, 'report.json');
  const run = await runAgent(dir, baseContext(dir, 'run', { iteration: 3, reportPath }));
  expect(run.result).toMatchObject({ role: 'run', outcome: 'Failed', reason: 'TestsFailed', tests: { passed: 2, failed: 1, total: 3, failing: [WRONG_TEST] } });
  const tested = run.result.commit!;
  const refs = (): string => git(dir, '--git-dir', remote, 'for-each-ref', '--format=%(refname) %(objectname)');
  const refsBefore = refs();

  const ctx = baseContext(dir, 'repair', { iteration: 4, failureReportPath: reportPath, failing: run.result.tests!.failing, previousAttempts: PREVIOUS, guidance: GUIDANCE });
  const repair = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  if (repair.result.outcome !== 'Succeeded') process.stderr.write(repair.stdout + repair.stderr);

  // What the model was asked: the report (pytest's own assertion line after the heading), then the
  // previous attempts, numbered oldest first, and flag_test among its tools.
  expect(fake.requests).toHaveLength(2);
  const prompt = messagesText(fake.requests[0]!);
  expect(prompt).toMatch(/Failure report of the last run:\nCommand: .*pytest[\s\S]*assert 'FizzBuzz' == 'Fizz'/);
  expect(prompt).toContain(`Previous repair attempts (they did not fix everything; try something different where they failed):\n1. ${PREVIOUS[0]}\n2. ${PREVIOUS[1]}`);
  expect(prompt.indexOf('Failure report of the last run:')).toBeLessThan(prompt.indexOf('Previous repair attempts'));
  // A person's hints (spec.guidance: a Slack thread reply, kubectl patch) reach the model, newest last.
  expect(prompt).toContain(`Guidance from the people watching this task (follow it; the newest wins where two disagree):\n- ${GUIDANCE[0]}\n- ${GUIDANCE[1]}`);
  expect(systemText(fake.requests[0]!)).toContain('call flag_test with its name and the reason');
  expect((fake.requests[0]!.body.tools ?? []).map((t) => t.name)).toContain('flag_test');
  expect(toolResults(fake.requests[1]!)[0]).toMatchObject({ content: `flagged ${WRONG_TEST}` });
  expect(toolResults(fake.requests[1]!)[0]!.is_error).toBeFalsy();

  // The result: flagged, Succeeded, the commit it started from (the one the run tested), and that
  // commit is the code ref now: the merge exists on the remote only as long as the branch points at
  // it, and a later test stage moves the branch (HumanEval/109's next run failed "not found").
  expectContract(repair);
  expect(repair.exitCode).toBe(0);
  expect(repair.result).toEqual({
    role: 'repair',
    outcome: 'Succeeded',
    commit: tested,
    flaggedTests: [WRONG_TEST],
    summary: 'flagged 1 test(s) as wrong; no code change',
    usage: expect.objectContaining({ inputTokens: 200, outputTokens: 40 }),
  });
  expect(repair.result.usage!.costUSD).toBeGreaterThan(0);
  expect(git(dir, '--git-dir', remote, 'rev-parse', 'refs/autorun/fizz/code')).toBe(tested);
  expect(git(dir, '--git-dir', remote, 'merge-base', '--is-ancestor', codeCommit, tested)).toBe('');
  expect(refs()).toBe(refsBefore.replace(`refs/autorun/fizz/code ${codeCommit}`, `refs/autorun/fizz/code ${tested}`));
  expect(git(ctx.workspace, 'status', '--porcelain')).toBe('');
  expect(repair.raw + repair.stdout + repair.stderr).not.toContain(KEY);
}, 120_000);

test('the test stage revising a flagged test is shown the check that failed: its own line, not what the code returned', async () => {
  const dir = tempDir('autorun-revise-');
  const remote = makeRemote(dir, { 'README.md': '# fizz\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'fizzbuzz.py': CORRECT });
  const testsCommit = pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'tests/test_fizzbuzz.py': TESTS });
  const reportPath = join(dir, 'report.json');
  const run = await runAgent(dir, baseContext(dir, 'run', { iteration: 1, reportPath }));
  expect(run.result.tests?.failing).toEqual([WRONG_TEST]);

  const FIXED = TESTS.replace('assert fizzbuzz(15) == "Fizz"', 'assert fizzbuzz(15) == "FizzBuzz"');
  fake = await startFakeAnthropic((req) => {
    if (!systemText(req).includes('You are the test agent')) throw new Error(`unexpected system prompt: ${systemText(req).slice(0, 80)}`);
    const turn = req.body.messages.filter((m) => m.role === 'assistant').length;
    return turn === 0 ? toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: FIXED }) : text('fifteen is FizzBuzz');
  });
  const ctx = baseContext(dir, 'test', { iteration: 2, testsRef: testsCommit, flaggedTests: [WRONG_TEST], failureReportPath: reportPath });
  const revise = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  if (revise.result.outcome !== 'Succeeded') process.stderr.write(revise.stdout + revise.stderr);

  const prompt = messagesText(fake.requests[0]!);
  expect(prompt).toContain(`- ${WRONG_TEST}, which failed at \`assert fizzbuzz(15) == "Fizz"\``);
  // What the implementation returned stays with repair: the test agent writes from the goal alone.
  expect(prompt).not.toContain("'FizzBuzz' == 'Fizz'");
  expectContract(revise);
  expect(revise.result).toMatchObject({ role: 'test', outcome: 'Succeeded' });
  expect(git(dir, '--git-dir', remote, 'show', `${revise.result.commit}:tests/test_fizzbuzz.py`)).toBe(FIXED.trimEnd());
}, 120_000);

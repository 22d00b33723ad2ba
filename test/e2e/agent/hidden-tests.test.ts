// Hidden acceptance tests never reach a model: a real acceptance stage fails on them (real pytest,
// a report full of their names, source and messages), then a repair stage is run with both engines
// (the tool loop and the real Claude Code CLI) as a careless shell might start it: with that report
// at hand. Every request body the fake model server received is searched for the hidden file.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { messagesText, startFakeAnthropic, text, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { ROOT, baseContext, build, makeRemote, pushFiles, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-hidden-0123456789abcdef';
const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
const HIDDEN_FILE = 'test_secret_acceptance.py';
const HIDDEN = `from m import double


def test_secret_zero_doubles_to_zero():
    assert double(0) == 0, "SECRET-MSG-zero-7f3a"


def test_secret_negative_input_is_doubled():
    value = -3  # SECRET-COMMENT-b41c
    assert double(value) == -6, "SECRET-MSG-negative-9d2e"
`;
const HINT = 'The goal covers negative numbers too.';

let fake: FakeAnthropic | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Every piece of the hidden file a leak would carry: each non-trivial line, the test names, the messages. */
function secrets(): string[] {
  // The import is the visible tests' too; every other line is the hidden file's own.
  const lines = HIDDEN.split('\n').map((l) => l.trim()).filter((l) => l.length > 8 && l !== 'from m import double');
  return [...lines, HIDDEN_FILE, 'test_secret_zero_doubles_to_zero', 'test_secret_negative_input_is_doubled', 'SECRET-MSG', 'SECRET-COMMENT'];
}

async function failedAcceptance(dir: string): Promise<{ reportPath: string }> {
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const code = pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'def double(x):\n    return abs(x) * 2 + (1 if x == 0 else 0)\n' });
  const tests = pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'tests/test_m.py': 'from m import double\n\ndef test_two():\n    assert double(2) == 4\n' });
  const hidden = join(dir, 'hidden');
  mkdirSync(hidden, { recursive: true });
  writeFileSync(join(hidden, HIDDEN_FILE), HIDDEN);
  const reportPath = join(dir, 'acceptance-report.json');
  const acc = await runAgent(dir, baseContext(dir, 'acceptance', { codeRef: code, testsRef: tests, reportPath, test: { timeoutSeconds: 60, allowRepairToEditTests: false, acceptanceDir: hidden } }));
  expect(acc.result).toMatchObject({ role: 'acceptance', outcome: 'Failed', tests: { failed: 2, total: 2 } });
  // The report the run agent wrote does carry the secrets: the test below is not vacuous.
  const report = readFileSync(reportPath, 'utf8');
  expect(secrets().filter((s) => report.includes(s)).length).toBeGreaterThan(2);
  return { reportPath };
}

test.each([
  ['sdk', {}],
  ['claude-code', { AUTORUN_CLAUDE_BIN: CLAUDE }],
] as const)('%s: the repair agent learns only that 2 hidden tests failed and the hint; no byte of them in any request', async (engine, extraEnv) => {
  const dir = tempDir('autorun-hidden-');
  const { reportPath } = await failedAcceptance(dir);
  fake = await startFakeAnthropic(() => text('Handled negative numbers as the goal says'));
  const ctx = baseContext(dir, 'repair', { engine, iteration: 2, hiddenFailed: 2, acceptanceHint: HINT, failureReportPath: reportPath });
  const repair = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, ...extraEnv });
  const modelRequests = fake.requests.filter((q) => Array.isArray(q.body.messages) && q.body.messages.length > 0);
  expect(modelRequests.length).toBeGreaterThan(0);
  const prompt = modelRequests.map((q) => messagesText(q)).join('\n');
  expect(prompt).toContain('2 hidden acceptance tests fail');
  expect(prompt).toContain(HINT);
  const bodies = fake.requests.map((q) => JSON.stringify(q.body)).join('\n');
  expect(secrets().filter((s) => bodies.includes(JSON.stringify(s).slice(1, -1)))).toEqual([]);
  expect(repair.result.role).toBe('repair');
}, 120_000);

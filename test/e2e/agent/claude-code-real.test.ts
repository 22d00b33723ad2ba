// The agent's claude-code engine driving the real Claude Code CLI (@anthropic-ai/claude-code, the
// native binary in node_modules/.bin) against the fake Messages API: no recorded stream, so a change
// in what the CLI sends or prints shows up here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assistantTurns } from '../../../operator/src/agent/engines/stream-json.js';
import { costUSD } from '../../../operator/src/agent/pricing.js';
import { apiError, startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../fakes/anthropic-server.js';
import { ROOT, baseContext, build, expectContract, git, makeRemote, runAgent } from './harness.js';
import type { StageRun } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-claude-real-0123456789';
const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
let fake: FakeAnthropic | undefined;
beforeAll(() => {
  if (!existsSync(CLAUDE)) throw new Error(`${CLAUDE} is missing: npm install (the @anthropic-ai/claude-code devDependency and its approved install script)`);
  build();
}, 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

type Line = { event: string; message?: Record<string, unknown> } & Record<string, unknown>;
const transcriptOf = (run: StageRun): Line[] =>
  run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
const claudeEvents = (lines: Line[]): Record<string, unknown>[] => lines.filter((l) => l.event === 'claude').map((l) => l.message!);

test('code stage: the real CLI writes the file through its Write tool; the agent commits and pushes it', async () => {
  const dir = tempDir('autorun-claude-real-');
  const remote = makeRemote(dir, { 'README.md': 'fizzbuzz\n' });
  const ctx = baseContext(dir, 'code', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 5 } });
  const source = 'def fizzbuzz(n):\n    return "FizzBuzz" if n % 15 == 0 else "Fizz" if n % 3 == 0 else "Buzz" if n % 5 == 0 else str(n)\n';
  const u1 = { input_tokens: 1000, output_tokens: 60, cache_read_input_tokens: 400, cache_creation_input_tokens: 200 };
  const u2 = { input_tokens: 1300, output_tokens: 25, cache_read_input_tokens: 500, cache_creation_input_tokens: 0 };
  fake = await startFakeAnthropic([
    toolUse('Write', { file_path: join(ctx.workspace, 'fizzbuzz.py'), content: source }, { text: 'Writing fizzbuzz.py.', usage: u1 }),
    text('Implemented fizzbuzz(n) in fizzbuzz.py.', u2),
  ]);
  const run = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  expect(run.stderr).toBe('');

  // The stage result: committed, pushed, usage summed over both calls and priced.
  const r = run.result;
  expect(r).toMatchObject({ role: 'code', outcome: 'Succeeded' });
  expect(r.summary).toBe(`${r.commit!.slice(0, 8)}: Implemented fizzbuzz(n) in fizzbuzz.py.`);
  expect(r.usage).toMatchObject({ inputTokens: 2300, outputTokens: 85, cacheReadTokens: 900, cacheWriteTokens: 200 });
  // Claude Code prices its calls itself; its figure must match our own price list for the model.
  expect(r.usage!.costUSD).toBeGreaterThan(0);
  expect(r.usage!.costUSD).toBeCloseTo(costUSD('claude-sonnet-4-5', r.usage!), 9);
  expect(git(dir, '--git-dir', remote, 'rev-parse', 'refs/autorun/fizz/code')).toBe(r.commit);
  expect(git(dir, '--git-dir', remote, 'show', `${r.commit}:fizzbuzz.py`) + '\n').toBe(source);
  expect(git(dir, '--git-dir', remote, 'diff-tree', '--no-commit-id', '--name-only', '-r', r.commit!)).toBe('fizzbuzz.py');

  // What the CLI sent: the role's tools only, the key, a tool_result for the Write on the second call.
  expect(fake.requests).toHaveLength(2);
  const offered = fake.requests[0]!.body.tools!.map((t) => t.name).sort();
  expect(offered).toEqual(expect.arrayContaining(['Bash', 'Edit', 'Read', 'Write']));
  expect(offered).not.toContain('WebFetch');
  expect(offered).not.toContain('WebSearch');
  expect(fake.requests[0]!.headers['x-api-key']).toBe(KEY);
  const last = fake.requests[1]!.body.messages.at(-1)!;
  expect(JSON.stringify(last.content)).toMatch(/tool_result.*File created successfully/);

  // The transcript: JSON lines, the CLI's own events among them, one session throughout.
  const lines = transcriptOf(run);
  expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(['context', 'start', 'claude', 'pushed', 'result']));
  const events = claudeEvents(lines);
  expect(events[0]).toMatchObject({ type: 'system', subtype: 'init', permissionMode: 'acceptEdits', model: 'claude-sonnet-4-5' });
  // One assistant event per content block (text, then tool_use), the tool's result, the final text.
  expect(events.map((e) => e.type)).toEqual(['system', 'assistant', 'assistant', 'user', 'assistant', 'result']);
  expect(assistantTurns(events)).toBe(2);
  const result = events.at(-1)!;
  expect(result).toMatchObject({ subtype: 'success', is_error: false, num_turns: 2, total_cost_usd: r.usage!.costUSD });
  const session = events[0]!.session_id as string;
  expect(session).toMatch(/^[0-9a-f-]{36}$/);
  expect(result.session_id).toBe(session);
  expect(fake.requests.map((q) => q.headers['x-claude-code-session-id'])).toEqual([session, session]);
  expect(run.stdout + run.raw).not.toContain(KEY);
  // The CLI's scratch directory (named after the workspace) went to the stage's own TMPDIR, now removed.
  expect(existsSync(join(tmpdir(), `claude-${process.getuid!()}`, ctx.workspace.replace(/[^a-zA-Z0-9]/g, '-')))).toBe(false);
}, 120_000);

test('max turns: error_max_turns is outcome Failed, reason TurnCap, nothing pushed', async () => {
  const dir = tempDir('autorun-claude-real-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const ctx = baseContext(dir, 'code', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 1 } });
  fake = await startFakeAnthropic([toolUse('Write', { file_path: join(ctx.workspace, 'a.py'), content: 'a = 1\n' }), text('never asked for')]);
  const run = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  expect(run.result).toMatchObject({ role: 'code', outcome: 'Failed', reason: 'TurnCap' });
  const events = claudeEvents(transcriptOf(run));
  const result = events.at(-1)!;
  expect(result).toMatchObject({ type: 'result', subtype: 'error_max_turns', is_error: true });
  expect(run.result.summary).toBe(`the model did not finish within 1 turns (session ${result.session_id as string})`);
  expect(run.result.usage).toMatchObject({ inputTokens: 100, outputTokens: 20 });
  expect(fake.requests).toHaveLength(1);
  expect(() => git(dir, '--git-dir', remote, 'rev-parse', '--verify', 'refs/autorun/fizz/code')).toThrow();
}, 120_000);

test('401: the CLI would retry for minutes; the engine stops it at the first retry notice', async () => {
  const dir = tempDir('autorun-claude-real-');
  makeRemote(dir, { 'README.md': 'x\n' });
  // Only the first call is refused: a CLI left to its retry would succeed with the next one, so an
  // Unauthorized result means the engine acted on the first retry notice, however fast the machine.
  fake = await startFakeAnthropic([apiError(401, 'invalid x-api-key'), text('Nothing to change.')]);
  // Stopped, not left to retry for minutes (past this test's timeout).
  const run = await runAgent(dir, baseContext(dir, 'code', { engine: 'claude-code' }), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  expect(run.exitCode).toBe(2);
  expect(run.result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'Unauthorized' });
  expect(run.result.summary).toMatch(/^model API 401 \(Unauthorized\): the API key was rejected/);
  const notices = claudeEvents(transcriptOf(run)).filter((e) => e.subtype === 'api_retry');
  expect(notices[0]).toMatchObject({ attempt: 1, error_status: 401 });
  // The CLI announces each retry before it sends it: no request went out unannounced.
  expect(fake.requests.length).toBeLessThanOrEqual(notices.length + 1);
  expect(run.raw + run.stdout + run.stderr).not.toContain(KEY);
}, 120_000);

test('budget: the stage budget becomes --max-budget-usd; error_max_budget_usd is outcome Failed, reason Budget', async () => {
  const dir = tempDir('autorun-claude-real-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const budgetUSD = 0.000001;
  const ctx = baseContext(dir, 'code', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 5, budgetUSD } });
  // The first call alone (100 input, 20 output tokens) costs far more than the budget.
  fake = await startFakeAnthropic([toolUse('Write', { file_path: join(ctx.workspace, 'a.py'), content: 'a = 1\n' }), text('never asked for')]);
  const run = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  const events = claudeEvents(transcriptOf(run));
  const result = events.at(-1)!;
  expect(result).toMatchObject({ type: 'result', subtype: 'error_max_budget_usd', is_error: true });
  expect(run.result).toMatchObject({ role: 'code', outcome: 'Failed', reason: 'Budget' });
  expect(run.result.summary).toMatch(new RegExp(`^stopped after \\d+ turns: the stage budget of \\$${budgetUSD} is spent \\(session ${result.session_id as string}\\)`));
  // What was spent is still reported: the one call the CLI made before it stopped.
  expect(fake.requests).toHaveLength(1);
  expect(run.result.usage).toMatchObject({ inputTokens: 100, outputTokens: 20 });
  expect(run.result.usage!.costUSD).toBeCloseTo(costUSD('claude-sonnet-4-5', run.result.usage!), 9);
  expect(() => git(dir, '--git-dir', remote, 'rev-parse', '--verify', 'refs/autorun/fizz/code')).toThrow();
}, 120_000);

test('ANTHROPIC_AUTH_TOKEN alone: the CLI sends it as a bearer token, and the stage succeeds', async () => {
  const dir = tempDir('autorun-claude-real-');
  makeRemote(dir, { 'README.md': 'x\n' });
  const token = 'gateway-token-e2e-0123456789';
  fake = await startFakeAnthropic([text('Nothing to change.')]);
  const ctx = baseContext(dir, 'code', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 3 } });
  const run = await runAgent(dir, ctx, { ANTHROPIC_AUTH_TOKEN: token, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  expect(fake.requests.length).toBeGreaterThanOrEqual(1);
  for (const q of fake.requests) {
    expect(q.headers.authorization).toBe(`Bearer ${token}`);
    expect(q.headers['x-api-key']).toBeUndefined();
  }
  expect(claudeEvents(transcriptOf(run)).at(-1)).toMatchObject({ type: 'result', subtype: 'success' });
  expect(run.stdout + run.raw).not.toContain(token);
}, 120_000);

test("test stage: the real CLI's file tools cannot read a sibling workspace (the implementation) or write outside their own", async () => {
  const dir = tempDir('autorun-claude-real-');
  makeRemote(dir, { 'README.md': 'fizzbuzz\n' });
  // The code stage's workspace beside this one, as the local tier lays them out.
  const sibling = join(dir, 'ws-code');
  mkdirSync(sibling);
  const implementation = 'def fizzbuzz(n):  # IMPLEMENTATION-MARKER\n    return str(n)\n';
  writeFileSync(join(sibling, 'fizzbuzz.py'), implementation);
  const ctx = baseContext(dir, 'test', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 6 } });
  const tests = 'from fizzbuzz import fizzbuzz\n\ndef test_fizz():\n    assert fizzbuzz(3) == "Fizz"\n';
  fake = await startFakeAnthropic([
    toolUse('Read', { file_path: join(sibling, 'fizzbuzz.py') }),
    toolUse('Grep', { pattern: 'IMPLEMENTATION-MARKER', path: sibling }),
    toolUse('Write', { file_path: join(sibling, 'test_planted.py'), content: 'x = 1\n' }),
    toolUse('Write', { file_path: join(ctx.workspace, 'test_fizzbuzz.py'), content: tests }),
    text('Wrote test_fizzbuzz.py from the goal.'),
  ]);
  const run = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE });
  expectContract(run);
  expect(run.result).toMatchObject({ role: 'test', outcome: 'Succeeded' });
  expect(fake.requests).toHaveLength(5);
  // Each refused call came back to the model as an error result, with nothing of the sibling's file.
  const results = fake.requests.slice(1).map((q) => JSON.stringify(q.body.messages.at(-1)!.content));
  for (const r of results.slice(0, 3)) expect(r).toMatch(/"is_error":true/);
  expect(results[0]).toMatch(/blocks reads outside the working directories/);
  expect(results[1]).toMatch(/blocks reads outside the working directories/);
  expect(results[2]).toMatch(/outside the working directories.*Write cannot create or change it/);
  expect(JSON.stringify(fake.requests.map((q) => q.body.messages))).not.toContain('return str(n)');
  expect(existsSync(join(sibling, 'test_planted.py'))).toBe(false);
  // Its own workspace it could write.
  expect(results[3]).toMatch(/File created successfully/);
  expect(readFileSync(join(ctx.workspace, 'test_fizzbuzz.py'), 'utf8')).toBe(tests);
}, 120_000);

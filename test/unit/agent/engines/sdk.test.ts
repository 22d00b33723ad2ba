import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sdkEngine } from '../../../../operator/src/agent/engines/sdk.js';
import { withBudget } from '../../../../operator/src/agent/engines/budget.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { apiError, startFakeAnthropic, text, toolResults, toolUse } from '../../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../../fakes/anthropic-server.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

const KEY = 'sk-ant-test-secret-key-0123456789';
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function request(ws: string, m = model(), env: NodeJS.ProcessEnv = { ANTHROPIC_API_KEY: KEY }) {
  const { transcript, lines } = recordingTranscript([KEY]);
  return {
    lines,
    req: {
      system: 'You are a test agent.',
      prompt: 'Write hello.py',
      tools: fileTools(ws, policyFor('code')),
      claudeTools: [],
      model: { ...m, baseURL: fake!.url },
      workspace: ws,
      env,
      transcript,
    },
  };
}

test('runs a streamed tool round trip, caches the stable prefix and counts usage and cost', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([
    toolUse('write_file', { path: 'hello.py', content: 'print("hi")\n' }, { usage: { input_tokens: 1000, output_tokens: 50, cache_creation_input_tokens: 2000 } }),
    text('Wrote hello.py', { input_tokens: 200, output_tokens: 10, cache_read_input_tokens: 2000 }),
  ]);
  const { req } = request(ws);
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote hello.py', turns: 2 });
  expect(readFileSync(join(ws, 'hello.py'), 'utf8')).toBe('print("hi")\n');
  expect(fake.requests).toHaveLength(2);
  const first = fake.requests[0]!.body;
  expect(first.stream).toBe(true);
  expect(first.model).toBe('claude-sonnet-4-6');
  expect(Array.isArray(first.system) && first.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
  expect(first.tools!.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
  expect(first.tools!.map((t) => t.name)).toEqual(['list_files', 'read_file', 'write_file', 'edit_file', 'search']);
  const results = toolResults(fake.requests[1]!);
  expect(results).toHaveLength(1);
  expect(results[0]!.content).toContain('wrote hello.py');
  expect(fake.requests[1]!.headers['x-api-key'] ?? fake.requests[1]!.headers.authorization).toMatch(new RegExp(`^(Bearer )?${KEY}$`));
  expect(res.usage).toEqual({ inputTokens: 1200, outputTokens: 60, cacheReadTokens: 2000, cacheWriteTokens: 2000, costUSD: 0.0036 + 0.0009 + 0.0006 + 0.0075 });
});

test('a refused tool call goes back to the model as an error result', async () => {
  const ws = tempDir();
  mkdirSync(join(ws, 'tests'));
  fake = await startFakeAnthropic([toolUse('write_file', { path: 'tests/test_x.py', content: 'x' }), text('ok')]);
  const res = await sdkEngine(request(ws).req);
  expect(res.outcome).toBe('Succeeded');
  const r = toolResults(fake.requests[1]!)[0]!;
  expect(r.is_error).toBe(true);
  expect(String(r.content)).toMatch(/test file/);
});

test('stops at the turn cap with outcome Failed, reason TurnCap', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic(() => toolUse('list_files', {}));
  const res = await sdkEngine(request(ws, model({ maxTurns: 3 })).req);
  expect(res).toMatchObject({ outcome: 'Failed', reason: 'TurnCap', turns: 3 });
  expect(fake.requests).toHaveLength(3);
});

test('stops when the stage budget is spent', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic(() => toolUse('list_files', {}, { usage: { input_tokens: 100_000, output_tokens: 0 } }));
  const res = await sdkEngine(request(ws, model({ budgetUSD: 0.5 })).req);
  expect(res).toMatchObject({ outcome: 'Failed', reason: 'Budget', turns: 2 });
});

test('retries 429 and 529 honouring retry-after, then succeeds', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([apiError(429, 'slow down', { 'retry-after-ms': '20' }), apiError(529, 'Overloaded', { 'retry-after-ms': '20' }), text('done')]);
  const { req, lines } = request(ws);
  const res = await sdkEngine(req);
  expect(res.outcome).toBe('Succeeded');
  expect(fake.requests).toHaveLength(3);
  // The waits are the server's, not the policy's own backoff (seconds).
  const retries = lines.filter((l) => l.includes('"event":"model-retry"')).map((l) => JSON.parse(l) as { status: number; delayMs: number });
  expect(retries.map((r) => [r.status, r.delayMs])).toEqual([[429, 20], [529, 20]]);
});

test.each([
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [400, 'BadRequest'],
])('%d fails fast without retry: Error %s, no key in the summary', async (status, reason) => {
  const ws = tempDir();
  fake = await startFakeAnthropic(() => apiError(status, 'nope'));
  const { req, lines } = request(ws);
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Error', reason });
  expect(fake.requests).toHaveLength(1);
  expect(res.summary).toContain(String(status));
  expect(res.summary).not.toContain(KEY);
  expect(lines.join('')).not.toContain(KEY);
});

test('an outage of many 529s is ridden out: the SDK makes no retries of its own, the shared policy does', async () => {
  const ws = tempDir();
  // Eight overloaded answers (more than any SDK retry count), each with the server's short wait.
  const outage = Array.from({ length: 8 }, () => apiError(529, 'Overloaded', { 'retry-after-ms': '5' }));
  fake = await startFakeAnthropic([...outage, apiError(503, 'unavailable', { 'retry-after': '0' }), text('done')]);
  const { req, lines } = request(ws);
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'done' });
  expect(fake.requests).toHaveLength(10);
  expect(lines.filter((l) => l.includes('"event":"model-retry"'))).toHaveLength(9);
});

test('an outage longer than the retry window ends ModelUnavailable (the loop retries the stage), one try per logged retry', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic(() => apiError(529, 'Overloaded', { 'retry-after-ms': '5' }));
  const { req, lines } = request(ws, model({ retryWindowSeconds: 0 }));
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable', turns: 0 });
  expect(res.summary).toMatch(/unavailable for the whole retry window \(0s, 1 attempts, last: HTTP 529 Overloaded\)/);
  expect(fake.requests).toHaveLength(1 + lines.filter((l) => l.includes('"event":"model-retry"')).length);
});

test('a connection refused is an outage too', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([text('never')]);
  const url = fake.url;
  await fake.close();
  const { req } = request(ws, model({ retryWindowSeconds: 0 }));
  fake = await startFakeAnthropic([text('unused')]);
  const res = await sdkEngine({ ...req, model: { ...req.model, baseURL: url } });
  expect(res).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
  expect(res.summary).toMatch(/last: no answer/);
});

test('without a credential it fails before calling the model, naming every variable it reads', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([text('never')]);
  const res = await sdkEngine(request(ws, model(), { OPENAI_API_KEY: 'not-for-anthropic' }).req);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  expect(res.summary).toMatch(/^no model credential: set AUTORUN_MODEL_API_KEY, ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN/);
  expect(fake.requests).toHaveLength(0);
});

test.each(['ANTHROPIC_AUTH_TOKEN', 'AUTORUN_MODEL_API_KEY', 'ANTHROPIC_API_KEY'])('%s alone is the one credential sent, whatever else the process env holds', async (name) => {
  const ws = tempDir();
  fake = await startFakeAnthropic([text('done')]);
  // The SDK reads these itself when no credential is passed; the engine's env must be the only source.
  const saved = { key: process.env.ANTHROPIC_API_KEY, token: process.env.ANTHROPIC_AUTH_TOKEN };
  process.env.ANTHROPIC_API_KEY = 'sk-ant-from-the-process-env';
  process.env.ANTHROPIC_AUTH_TOKEN = 'token-from-the-process-env';
  try {
    const res = await sdkEngine(request(ws, model(), { [name]: KEY }).req);
    expect(res.outcome).toBe('Succeeded');
  } finally {
    for (const [k, v] of [['ANTHROPIC_API_KEY', saved.key], ['ANTHROPIC_AUTH_TOKEN', saved.token]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  // SDK 1.x sends a key and a token alike, as a bearer credential.
  const sent = fake.requests[0]!.headers;
  expect({ authorization: sent.authorization, 'x-api-key': sent['x-api-key'] }).toEqual({ authorization: `Bearer ${KEY}`, 'x-api-key': undefined });
});

test('a budget of $0 (the task has spent its money) makes no model call', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([text('never')]);
  const res = await withBudget(sdkEngine)(request(ws, model({ budgetUSD: 0 })).req);
  expect(res).toMatchObject({ outcome: 'Failed', reason: 'Budget', turns: 0, summary: 'not started: the stage budget of $0 is spent' });
  expect(fake.requests).toHaveLength(0);
});

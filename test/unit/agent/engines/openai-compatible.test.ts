import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAICompatibleEngine } from '../../../../operator/src/agent/engines/openai-compatible.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { chatText, chatTool, startFakeOpenAI } from '../../../fakes/openai-server.js';
import type { FakeOpenAI } from '../../../fakes/openai-server.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

let fake: FakeOpenAI | undefined;
afterEach(async () => fake?.close());

function req(ws: string, env: NodeJS.ProcessEnv = {}) {
  return {
    system: 'sys',
    prompt: 'write a.py',
    tools: fileTools(ws, policyFor('code')),
    claudeTools: [],
    model: model({ provider: 'openai-compatible', name: 'Qwen/Qwen2.5-Coder-7B-Instruct', baseURL: fake!.url }),
    workspace: ws,
    env,
    transcript: recordingTranscript().transcript,
  };
}

test('function calling round trip against an OpenAI-compatible server (vLLM shape)', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('Wrote a.py')]);
  const res = await openAICompatibleEngine(req(ws, { AUTORUN_MODEL_API_KEY: 'vllm-token-123456' }));
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote a.py', turns: 2, usage: { inputTokens: 100, outputTokens: 20, costUSD: 0 } });
  expect(readFileSync(join(ws, 'a.py'), 'utf8')).toBe('A = 1\n');
  const [first, second] = fake.requests;
  expect(first!.headers.authorization).toBe('Bearer vllm-token-123456');
  expect(first!.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
  expect((first!.body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toContain('write_file');
  const toolMsg = second!.body.messages.at(-1)!;
  expect(toolMsg.role).toBe('tool');
  expect(toolMsg.content).toMatch(/wrote a.py/);
});

test('retries a 503 with retry-after, fails fast on 401', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([{ kind: 'error', status: 503, message: 'warming up', headers: { 'retry-after-ms': '10' } }, chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('ok')]);
  expect((await openAICompatibleEngine(req(ws))).outcome).toBe('Succeeded');
  await fake.close();
  fake = await startFakeOpenAI(() => ({ kind: 'error', status: 401, message: 'bad token' }));
  const res = await openAICompatibleEngine(req(ws));
  expect(res).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  expect(res.summary).toContain('bad token');
  expect(fake.requests).toHaveLength(1);
});

test('against llama-cpp-python: tool_choice is sent with the tools and no message has content null, so the tools reach the model', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('Wrote a.py')], { llamaCppPython: true });
  const res = await openAICompatibleEngine(req(ws));
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote a.py', turns: 2 });
  for (const q of fake.requests) {
    expect(q.body.tool_choice).toBe('auto');
    expect(q.body.messages.every((m) => typeof m.content === 'string')).toBe(true);
  }
  // The assistant turn that only called a tool went back with empty text, not null.
  expect(fake.requests[1]!.body.messages.find((m) => m.role === 'assistant')).toMatchObject({ content: '', tool_calls: [expect.anything()] });
});

test('a 500 that names an invalid request is not retried, and its whole message reaches the stage result', async () => {
  const ws = tempDir();
  const detail = `1 validation error for ChatCompletionRequest\nmessages.2.content\n  Input should be a valid string ${'x'.repeat(400)} END-OF-MESSAGE`;
  fake = await startFakeOpenAI(() => ({ kind: 'error', status: 500, message: detail }));
  const res = await openAICompatibleEngine(req(ws));
  expect(fake.requests).toHaveLength(1);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'BadRequest' });
  expect(res.summary).toContain('model API 500 (the server rejected the request as invalid; not retried)');
  expect(res.summary).toContain('END-OF-MESSAGE');
});

test('a 400 is not retried and its full message is kept', async () => {
  const ws = tempDir();
  const long = `context length exceeded: ${'y'.repeat(500)} TAIL`;
  fake = await startFakeOpenAI(() => ({ kind: 'error', status: 400, message: long }));
  const res = await openAICompatibleEngine(req(ws));
  expect(fake.requests).toHaveLength(1);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'BadRequest' });
  expect(res.summary).toContain('TAIL');
});

test('a stage whose model never calls a tool fails with NoToolCalls and the likely causes', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatText('```json\n{"name": "write_file"}\n```')]);
  const res = await openAICompatibleEngine(req(ws));
  expect(res).toMatchObject({ outcome: 'Failed', reason: 'NoToolCalls', turns: 1 });
  expect(res.summary).toMatch(/made no tool call in 1 turn/);
  expect(res.summary).toMatch(/--enable-auto-tool-choice/);
});

test('responses are streamed: text and tool-call arguments split over deltas are put together, usage counted', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'b.py', content: 'B = "a longer value"\n' }), { kind: 'message', content: 'Wrote b.py, streamed', usage: { prompt_tokens: 70, completion_tokens: 30 } }]);
  const res = await openAICompatibleEngine(req(ws));
  expect(fake.requests.every((q) => q.body.stream === true)).toBe(true);
  expect(readFileSync(join(ws, 'b.py'), 'utf8')).toBe('B = "a longer value"\n');
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote b.py, streamed', usage: { inputTokens: 120, outputTokens: 40 } });
});

test('max_tokens and the request timeout come from the model settings', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatText('late')], { delayMs: 3000 });
  const r = req(ws);
  const res = await openAICompatibleEngine({ ...r, model: { ...r.model, maxTokens: 321, requestTimeoutSeconds: 1, retryWindowSeconds: 2 } });
  expect(fake.requests[0]!.body.max_tokens).toBe(321);
  // A timed-out request is transient: retried for the pool's window (the shared policy, retry.ts, whose
  // backoff is tested under fake clocks), then a stage the loop retries, its summary naming the setting.
  // How many tries fit in the window depends on the machine's speed, so no count here.
  expect(res).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
  expect(res.summary).toContain('requestTimeoutSeconds');
}, 60_000);

test('a model with no known price says so when a budget applies; a pool price is charged', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('done')]);
  const r = req(ws);
  const unpriced = await openAICompatibleEngine({ ...r, model: { ...r.model, budgetUSD: 1 } });
  expect(unpriced.usage.costUSD).toBe(0);
  expect(unpriced.summary).toContain('no price known for model Qwen/Qwen2.5-Coder-7B-Instruct');
  await fake.close();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('done')]);
  const r2 = req(ws);
  const priced = await openAICompatibleEngine({ ...r2, model: { ...r2.model, budgetUSD: 1, price: { inputUSDPerMTok: 1000, outputUSDPerMTok: 2000 } } });
  // 100 input and 20 output tokens: 0.1 + 0.04 dollars.
  expect(priced.usage.costUSD).toBeCloseTo(0.14, 6);
  expect(priced.summary).not.toContain('no price known');
});

test('a strict stage stops before a call whose worst case (input ≤ bytes, output = max_tokens) does not fit its budget', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI((r) => ({ ...chatTool('list_files', {}), usage: { prompt_tokens: Math.floor(Buffer.byteLength(JSON.stringify(r.body)) / 4), completion_tokens: 300 } }));
  const r = req(ws);
  // $1000/M in, $2000/M out: a call of ~300 output tokens is ~$0.6+; max_tokens 500 makes the worst case ~$1+.
  const m = { ...r.model, maxTurns: 50, maxTokens: 500, budgetUSD: 5, budgetStrict: true, price: { inputUSDPerMTok: 1000, outputUSDPerMTok: 2000 } };
  const res = await openAICompatibleEngine({ ...r, model: m });
  expect(res).toMatchObject({ outcome: 'Failed', reason: 'Budget' });
  expect(res.summary).toContain('the next model call could cost up to');
  expect(res.usage.costUSD).toBeLessThanOrEqual(5);
  expect(fake.requests).toHaveLength(res.turns);
  expect(res.turns).toBeGreaterThan(1);
});

test('toolCalls grammar: every request carries a call schema over the tools and `finished`, a fenced JSON reply is the call, and finished ends the stage', async () => {
  const ws = tempDir();
  const call = (name: string, args: Record<string, unknown>): string => `\`\`\`json\n${JSON.stringify({ name, arguments: args })}\n\`\`\``;
  fake = await startFakeOpenAI([chatText(call('write_file', { path: 'a.py', content: 'A = 1\n' })), chatText(JSON.stringify({ name: 'finished', arguments: { summary: 'wrote a.py' } }))]);
  const r = req(ws);
  const res = await openAICompatibleEngine({ ...r, model: { ...r.model, toolCalls: 'grammar' } });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'wrote a.py', turns: 2 });
  expect(readFileSync(join(ws, 'a.py'), 'utf8')).toBe('A = 1\n');
  const offered = fake.requests.map((q) => {
    const rf = q.body.response_format as { type: string; json_schema: { schema: { anyOf: { properties: { name: { const: string } } }[] } } };
    expect(rf.type).toBe('json_schema');
    expect((q.body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toContain('finished');
    return rf.json_schema.schema.anyOf.map((s) => s.properties.name.const);
  });
  // `finished` is in the schema only once the session has written a file.
  expect(offered[0]).toContain('write_file');
  expect(offered[0]).not.toContain('finished');
  expect(offered[1]).toEqual(expect.arrayContaining(['write_file', 'finished']));
  // The call went back into the conversation as a tool call with its result, as a native one would.
  const second = fake.requests[1]!.body.messages;
  expect(second.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ function: { name: 'write_file' } }] });
  expect(second.at(-1)).toMatchObject({ role: 'tool' });
});

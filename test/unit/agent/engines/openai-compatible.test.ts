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
  fake = await startFakeOpenAI([{ kind: 'error', status: 503, message: 'warming up', headers: { 'retry-after-ms': '10' } }, chatText('ok')]);
  expect((await openAICompatibleEngine(req(ws))).outcome).toBe('Succeeded');
  await fake.close();
  fake = await startFakeOpenAI(() => ({ kind: 'error', status: 401, message: 'bad token' }));
  const res = await openAICompatibleEngine(req(ws));
  expect(res).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  expect(res.summary).toContain('bad token');
  expect(fake.requests).toHaveLength(1);
});

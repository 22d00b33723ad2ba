// The sdk engine on provider vertex: the real @anthropic-ai/vertex-sdk client against the fake's
// Vertex AI paths, with an access token standing in for Workload Identity (ADC needs Google's
// metadata server, which tests never contact).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APIConnectionError } from '@anthropic-ai/sdk';
import { sdkEngine } from '../../../../operator/src/agent/engines/sdk.js';
import { vertexCredentialFailure, vertexSettings } from '../../../../operator/src/agent/engines/vertex.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { apiError, startFakeAnthropic, text, toolResults, toolUse } from '../../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../../fakes/anthropic-server.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

const TOKEN = 'ya29.test-google-access-token-0123456789';
const MODEL = 'claude-sonnet-4-5@20250929';
const VERTEX_ENV = { ANTHROPIC_VERTEX_PROJECT_ID: 'my-proj', CLOUD_ML_REGION: 'europe-west1', AUTORUN_VERTEX_ACCESS_TOKEN: TOKEN };
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function request(ws: string, env: NodeJS.ProcessEnv = VERTEX_ENV) {
  // As in the agent, the transcript redacts the secret values of the env.
  const { transcript, lines } = recordingTranscript([TOKEN]);
  return {
    lines,
    req: {
      system: 'You are a test agent.',
      prompt: 'Write hello.py',
      tools: fileTools(ws, policyFor('code')),
      claudeTools: [],
      // Vertex base URLs end in /v1, like https://europe-west1-aiplatform.googleapis.com/v1.
      model: model({ provider: 'vertex', name: MODEL, baseURL: `${fake!.url}/v1` }),
      workspace: ws,
      env,
      transcript,
    },
  };
}

test('runs a streamed tool round trip on Vertex: project, region and model in the path, Bearer token, usage and cost', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([
    toolUse('write_file', { path: 'hello.py', content: 'print("hi")\n' }, { usage: { input_tokens: 1000, output_tokens: 50, cache_creation_input_tokens: 2000 } }),
    text('Wrote hello.py', { input_tokens: 200, output_tokens: 10, cache_read_input_tokens: 2000 }),
  ]);
  const { req, lines } = request(ws);
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote hello.py', turns: 2 });
  expect(readFileSync(join(ws, 'hello.py'), 'utf8')).toBe('print("hi")\n');
  expect(fake.requests).toHaveLength(2);
  for (const r of fake.requests) {
    expect(r.path).toBe('/v1/projects/my-proj/locations/europe-west1/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict');
    expect(r.vertex).toEqual({ project: 'my-proj', region: 'europe-west1', model: MODEL, method: 'streamRawPredict' });
    expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(r.headers['x-api-key']).toBeUndefined();
    expect(r.headers['anthropic-version']).toBeUndefined();
    // The API version moves from the header into the body (SDK 1.x sends its own dated version).
    expect(r.body.anthropic_version).toMatch(/^(vertex-)?\d{4}-\d{2}-\d{2}$/);
    expect(r.body.model).toBeUndefined();
    expect(r.body.stream).toBe(true);
  }
  // The rest of the loop is the shared one: caching breakpoints and tool results as on the Anthropic API.
  const first = fake.requests[0]!.body;
  expect(first.tools!.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
  expect(toolResults(fake.requests[1]!)[0]!.content).toContain('wrote hello.py');
  expect(res.usage).toEqual({ inputTokens: 1200, outputTokens: 60, cacheReadTokens: 2000, cacheWriteTokens: 2000, costUSD: 0.0036 + 0.0009 + 0.0006 + 0.0075 });
  expect(lines.join('')).not.toContain(TOKEN);
});

test('403 from Vertex fails fast without retry: Error Forbidden, no token in the summary', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic(() => apiError(403, 'Permission aiplatform.endpoints.predict denied on resource'));
  const { req, lines } = request(ws);
  const res = await sdkEngine(req);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'Forbidden', turns: 0 });
  // Fast means no retry at all: one request, no wait logged.
  expect(fake.requests).toHaveLength(1);
  expect(lines.filter((l) => l.includes('"event":"model-retry"'))).toEqual([]);
  expect(res.summary).toContain('aiplatform.endpoints.predict');
  expect(res.summary).not.toContain(TOKEN);
  expect(lines.join('')).not.toContain(TOKEN);
});

test('retries a 429 from Vertex like the Anthropic API, then succeeds', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([apiError(429, 'quota exceeded', { 'retry-after-ms': '20' }), text('done')]);
  const res = await sdkEngine(request(ws).req);
  expect(res).toMatchObject({ outcome: 'Succeeded', turns: 1 });
  expect(fake.requests).toHaveLength(2);
});

test('without a region it fails before calling the model', async () => {
  const ws = tempDir();
  fake = await startFakeAnthropic([text('never')]);
  const res = await sdkEngine(request(ws, { ANTHROPIC_VERTEX_PROJECT_ID: 'my-proj', AUTORUN_VERTEX_ACCESS_TOKEN: TOKEN }).req);
  expect(res).toMatchObject({ outcome: 'Error', reason: 'InvalidConfig' });
  expect(res.summary).toContain('CLOUD_ML_REGION');
  expect(fake.requests).toHaveLength(0);
});

test('settings come from the Pod env; the model baseURL wins over ANTHROPIC_VERTEX_BASE_URL', () => {
  const env = { CLOUD_ML_REGION: 'us-east5', ANTHROPIC_VERTEX_PROJECT_ID: 'p1', ANTHROPIC_VERTEX_BASE_URL: 'http://proxy.internal/v1' };
  expect(vertexSettings(model({ provider: 'vertex' }), env)).toEqual({ region: 'us-east5', projectId: 'p1', baseURL: 'http://proxy.internal/v1' });
  expect(vertexSettings(model({ provider: 'vertex', baseURL: 'http://other/v1' }), env)).toMatchObject({ baseURL: 'http://other/v1' });
  // ADC can supply the project of the Workload Identity service account.
  expect(vertexSettings(model({ provider: 'vertex' }), { CLOUD_ML_REGION: 'global' })).toEqual({ region: 'global' });
});

test('an ADC failure is reported as Unauthorized with its cause, other connection errors are not', () => {
  const adc = new APIConnectionError({ message: 'Failed to acquire Google OAuth credentials.', cause: new Error('Could not load the default credentials.') });
  expect(vertexCredentialFailure(adc)).toEqual({ reason: 'Unauthorized', summary: expect.stringContaining('Could not load the default credentials.') as string });
  expect(vertexCredentialFailure(new APIConnectionError({ message: 'Connection error.' }))).toBeUndefined();
});

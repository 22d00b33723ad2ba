// The budget gate a strict Claude Code stage talks through: the real Anthropic SDK (streaming, as
// Claude Code calls) through the gate to the fake Messages API.
import Anthropic from '@anthropic-ai/sdk';
import { startBudgetGate, usageOfResponse, worstCaseUSD, type BudgetGate } from '../../../../operator/src/agent/engines/budget-gate.js';
import { costUSD } from '../../../../operator/src/agent/pricing.js';
import { billedUSD, startFakeAnthropic, text, type FakeAnthropic } from '../../../fakes/anthropic-server.js';

let fake: FakeAnthropic | undefined;
let gate: BudgetGate | undefined;
afterEach(async () => {
  await gate?.close();
  await fake?.close();
  gate = fake = undefined;
});

const MODEL = 'claude-sonnet-4-5';

test('relays calls and counts what they bill; refuses, before the API sees it, a call whose worst case does not fit', async () => {
  fake = await startFakeAnthropic(() => text('ok', { input_tokens: 2000, output_tokens: 3000 }));
  // Each call bills 2000 × $3/M + 3000 × $15/M = $0.051; max_tokens 4000 makes its worst case ~$0.064.
  gate = await startBudgetGate(fake.url, 0.2);
  const client = new Anthropic({ apiKey: 'sk-ant-unit-gate-0123456789', baseURL: gate.url, maxRetries: 0 });
  const call = () => client.messages.stream({ model: MODEL, max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  let made = 0;
  let refusal: unknown;
  for (let i = 0; i < 10 && !refusal; i++) {
    try {
      await call();
      made++;
    } catch (e) {
      refusal = e;
    }
  }
  expect(refusal).toBeInstanceOf(Anthropic.BadRequestError);
  expect((refusal as Error).message).toMatch(/autorun: the next model call could cost up to \$0\.06\d+ and the stage has \$0\.04\d+ of its \$0\.2 budget left/);
  expect(gate.refused).toMatch(/^the next model call could cost up to/);
  // Three calls fit ($0.153 spent + $0.064 worst > $0.2 stops the fourth), and the fourth never reached the API.
  expect(made).toBe(3);
  expect(fake.requests).toHaveLength(3);
  expect(gate.spentUSD).toBeCloseTo(billedUSD(fake, costUSD), 9);
  expect(gate.spentUSD).toBeLessThanOrEqual(0.2);
});

test('the worst case of a request: its bytes plus the template allowance at the cache-write rate, and max_tokens of output', () => {
  // (1000 + 1000) × $3.75/M + 100 × $15/M
  expect(worstCaseUSD(MODEL, 1000, 100)).toBeCloseTo(0.0075 + 0.0015, 9);
  expect(worstCaseUSD('my-local-model', 10_000, 100_000)).toBe(0);
});

test('usage of a response: a JSON body, or a stream whose message_delta carries the final output count', () => {
  expect(usageOfResponse(JSON.stringify({ usage: { input_tokens: 5, output_tokens: 7 } }))).toEqual({ inputTokens: 5, outputTokens: 7, cacheReadTokens: 0, cacheWriteTokens: 0 });
  const stream = [
    'event: message_start',
    `data: ${JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 4 } } })}`,
    '',
    'event: message_delta',
    `data: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: 42 } })}`,
    '',
  ].join('\n');
  expect(usageOfResponse(stream)).toEqual({ inputTokens: 10, outputTokens: 42, cacheReadTokens: 4, cacheWriteTokens: 0 });
  expect(usageOfResponse('not json, no events')).toBeUndefined();
});

test('asks the API for an uncompressed answer, whatever the client accepts: the gate reads every usage', async () => {
  fake = await startFakeAnthropic(() => text('ok', { input_tokens: 10, output_tokens: 10 }));
  gate = await startBudgetGate(fake.url, 1);
  const res = await fetch(`${gate.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip, br', 'x-api-key': 'k' }, body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
  expect(res.status).toBe(200);
  await res.text();
  expect(fake.requests[0]!.headers['accept-encoding']).toBe('identity');
  expect(gate.spentUSD).toBeCloseTo(costUSD(MODEL, { inputTokens: 10, outputTokens: 10 }), 9);
});

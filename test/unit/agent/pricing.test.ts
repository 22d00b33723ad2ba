import { addUsage, costUSD, emptyUsage, priceOf } from '../../../operator/src/agent/pricing.js';

test('list prices per million tokens, with cache writes at 1.25× and reads at 0.1× input', () => {
  expect(costUSD('claude-sonnet-4-5', { inputTokens: 1_000_000, outputTokens: 0 })).toBe(3);
  expect(costUSD('claude-sonnet-4-5-20250929', { inputTokens: 0, outputTokens: 1_000_000 })).toBe(15);
  expect(costUSD('claude-sonnet-4-5', { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 1_000_000, cacheReadTokens: 1_000_000 })).toBe(3.75 + 0.3);
  expect(costUSD('claude-opus-4-1', { inputTokens: 1000, outputTokens: 1000 })).toBe(0.09);
  expect(costUSD('claude-haiku-4-5', { inputTokens: 1000, outputTokens: 1000 })).toBe(0.006);
});

test('newer models of a family are priced as the family and marked estimated; unknown models cost 0', () => {
  expect(priceOf('claude-sonnet-5-5')).toMatchObject({ known: true, estimated: true, price: { input: 3, output: 15 } });
  expect(priceOf('claude-opus-4-6').price.input).toBe(5);
  expect(priceOf('claude-opus-4-20250514').price.input).toBe(15);
  expect(priceOf('Qwen/Qwen2.5-Coder-7B-Instruct')).toMatchObject({ known: false });
  expect(costUSD('Qwen/Qwen2.5-Coder-7B-Instruct', { inputTokens: 1e6, outputTokens: 1e6 })).toBe(0);
});

test('usage adds up and its cost is recomputed from the totals', () => {
  let u = emptyUsage();
  u = addUsage('claude-sonnet-4-5', u, { inputTokens: 100, outputTokens: 10, cacheWriteTokens: 1000 });
  u = addUsage('claude-sonnet-4-5', u, { inputTokens: 50, outputTokens: 5, cacheReadTokens: 1000 });
  expect(u).toEqual({ inputTokens: 150, outputTokens: 15, cacheReadTokens: 1000, cacheWriteTokens: 1000, costUSD: 0.00045 + 0.000225 + 0.00375 + 0.0003 });
});

// The one price table. Cost of a stage = tokens × the model's price per million tokens; prompt-cache
// writes cost 1.25 × input (5-minute cache) and cache reads 0.1 × input, as Anthropic bills them.
import type { Usage } from '../api/types.js';

export interface Price {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

const claude = (input: number, output: number): Price => ({ input, output, cacheWrite: input * 1.25, cacheRead: input * 0.1 });

/** Published list prices; a pattern matches the alias and its dated ids (claude-sonnet-4-5-20250929). */
export const PRICES: ReadonlyArray<readonly [RegExp, Price]> = [
  [/^claude-opus-4-5(-\d{8})?$/, claude(5, 25)],
  [/^claude-opus-4-1(-\d{8})?$/, claude(15, 75)],
  [/^claude-opus-4(-0|-\d{8})$/, claude(15, 75)],
  [/^claude-sonnet-4-5(-\d{8})?$/, claude(3, 15)],
  [/^claude-sonnet-4(-0|-\d{8})$/, claude(3, 15)],
  [/^claude-3-7-sonnet(-\d{8}|-latest)$/, claude(3, 15)],
  [/^claude-haiku-4-5(-\d{8})?$/, claude(1, 5)],
  [/^claude-3-5-haiku(-\d{8}|-latest)$/, claude(0.8, 4)],
];

/**
 * Models newer than the table are billed at their family's latest known price and marked estimated,
 * so cost limits still bite; anything else (a self-hosted model) costs nothing per token.
 */
const FAMILY: ReadonlyArray<readonly [RegExp, Price]> = [
  [/^claude-opus-/, claude(5, 25)],
  [/^claude-sonnet-/, claude(3, 15)],
  [/^claude-haiku-/, claude(1, 5)],
];

export function priceOf(model: string): { price: Price; known: boolean; estimated: boolean } {
  const id = model.replace(/^anthropic\//, '').replace(/@.*$/, '');
  const exact = PRICES.find(([re]) => re.test(id));
  if (exact) return { price: exact[1], known: true, estimated: false };
  const fam = FAMILY.find(([re]) => re.test(id));
  if (fam) return { price: fam[1], known: true, estimated: true };
  return { price: { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 }, known: false, estimated: false };
}

/** A pool's own price (spec.model.price): cache reads and writes bill as input. */
export function poolPrice(p: { inputUSDPerMTok: number; outputUSDPerMTok: number } | undefined): Price | undefined {
  return p ? { input: p.inputUSDPerMTok, output: p.outputUSDPerMTok, cacheRead: p.inputUSDPerMTok, cacheWrite: p.inputUSDPerMTok } : undefined;
}

/**
 * What a stage says when its model's cost cannot be counted: no table price and no pool price, so
 * the task's maxCostUSD cannot bite. Undefined when the cost is known (or the model is local: $0).
 */
export function unknownPriceNote(model: { provider: string; name: string; price?: unknown }): string | undefined {
  if (model.provider === 'local' || model.price || priceOf(model.name).known) return undefined;
  return `no price known for model ${model.name}: its tokens are counted but cost $0 against maxCostUSD; set the pool's spec.model.price (USD per million input/output tokens) to enforce it`;
}

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** US dollars, rounded to a millionth of a dollar so sums stay stable. */
export function costUSD(model: string, t: TokenCounts, override?: Price): number {
  const price = override ?? priceOf(model).price;
  const micro = t.inputTokens * price.input + t.outputTokens * price.output + (t.cacheReadTokens ?? 0) * price.cacheRead + (t.cacheWriteTokens ?? 0) * price.cacheWrite;
  return Math.round(micro) / 1e6;
}

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 };
}

/** Adds one response's tokens to a running total and recomputes its cost. */
export function addUsage(model: string, total: Usage, t: TokenCounts, price?: Price): Usage {
  const sum = {
    inputTokens: total.inputTokens + t.inputTokens,
    outputTokens: total.outputTokens + t.outputTokens,
    cacheReadTokens: (total.cacheReadTokens ?? 0) + (t.cacheReadTokens ?? 0),
    cacheWriteTokens: (total.cacheWriteTokens ?? 0) + (t.cacheWriteTokens ?? 0),
  };
  return { ...sum, costUSD: costUSD(model, sum, price) };
}

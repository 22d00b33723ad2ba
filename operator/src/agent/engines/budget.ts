// The stage's money, the same for every engine: the tool loops check it after each turn, Claude Code
// gets it as --max-budget-usd, and a stage handed nothing makes no model call at all.
//
// Why the task's cap holds to within one model call (issue #16): stages side by side (code ∥ test)
// split what is left (core/budget.ts), and of each such group only one stage is lenient; the
// others are strict (model.budgetStrict). A lenient stage checks its spend after each call, so it
// passes its share by at most the call that took it over. A strict stage checks *before* each call
// that the call's worst case still fits its share, so it never passes it. The stages that run later
// are handed only what the ones before left (nothing once the cap is passed), so over a whole task
// at most one call ever lands beyond maxCostUSD.
import type { Usage } from '../../api/types.js';
import { emptyUsage, priceOf, type Price, type TokenCounts } from '../pricing.js';
import type { Engine, EngineRequest, EngineResult } from './types.js';

/**
 * Tokens a first request may carry beyond its bytes: the provider's own tool-use system prompt and
 * message framing (Anthropic documents ~350 tokens for tools; chat templates add a few per message).
 * Later calls need no such allowance: the previous call's token count already includes it.
 */
export const TEMPLATE_TOKENS = 1000;
/** Framing tokens of the messages appended since the previous call (role markers, tool-call ids). */
export const FRAME_TOKENS = 64;

/** Whether a stage that set a budget has spent it; no budget is no cap. */
export function overBudget(usage: Usage, budgetUSD: number | undefined): boolean {
  return budgetUSD !== undefined && usage.costUSD >= budgetUSD;
}

/**
 * The worst case of a stage's next model call, from what it is about to send. Input: byte-level BPE
 * tokenizers (Claude's, GPT's, Qwen's) never make more tokens than bytes, so the next call's input is
 * at most the previous call's input tokens plus the bytes appended since (a first call: its bytes
 * plus TEMPLATE_TOKENS), priced at the dearest input rate (a cache write); output: max_tokens.
 */
export class CallBound {
  private prev?: { inputTokens: number; bytes: number };

  constructor(
    private readonly model: string,
    private readonly maxTokens: number,
    private readonly price?: Price,
  ) {}

  inputTokens(bytes: number): number {
    return this.prev ? this.prev.inputTokens + Math.max(0, bytes - this.prev.bytes) + FRAME_TOKENS : bytes + TEMPLATE_TOKENS;
  }

  worstUSD(bytes: number): number {
    const p = this.price ?? priceOf(this.model).price;
    const micro = this.inputTokens(bytes) * Math.max(p.input, p.cacheWrite, p.cacheRead) + this.maxTokens * p.output;
    return Math.ceil(micro) / 1e6;
  }

  /** After a call: what it really took, for the next bound. */
  called(bytes: number, t: TokenCounts): void {
    this.prev = { inputTokens: t.inputTokens + (t.cacheReadTokens ?? 0) + (t.cacheWriteTokens ?? 0), bytes };
  }
}

/** UTF-8 bytes of what a request sends (its JSON), for CallBound. */
export function requestBytes(body: unknown): number {
  return Buffer.byteLength(JSON.stringify(body));
}

/**
 * Why a strict stage must not make its next call (its worst case would pass the stage's budget), or
 * undefined to go ahead. Lenient stages (and stages without a budget) always go ahead.
 */
export function refuseNextCall(model: { budgetUSD?: number; budgetStrict?: boolean }, spent: Usage, worstUSD: number): string | undefined {
  if (!model.budgetStrict || model.budgetUSD === undefined) return undefined;
  if (spent.costUSD + worstUSD <= model.budgetUSD) return undefined;
  return `the next model call could cost up to $${worstUSD.toFixed(4)} and the stage has $${Math.max(0, model.budgetUSD - spent.costUSD).toFixed(4)} of its $${model.budgetUSD} budget left`;
}

/**
 * A stage handed a budget of $0 or less (the task's maxCostUSD is used up) ends Failed/Budget before
 * its engine starts: Claude Code refuses such a --max-budget-usd, and the tool loops would only
 * notice after a first paid turn.
 */
export function withBudget(engine: Engine): Engine {
  return (req: EngineRequest): Promise<EngineResult> => {
    const budget = req.model.budgetUSD;
    if (budget === undefined || budget > 0) return engine(req);
    return Promise.resolve({ outcome: 'Failed', reason: 'Budget', summary: `not started: the stage budget of $${budget} is spent`, finalText: '', usage: emptyUsage(), turns: 0 });
  };
}

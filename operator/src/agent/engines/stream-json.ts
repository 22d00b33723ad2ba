// Claude Code's `--output-format stream-json` (one JSON object per line: system init, assistant and
// user messages, system api_retry notices, then one result object) mapped to an engine result.
// Field names as the real CLI (2.1.x) writes them; test/e2e/agent/claude-code-real.test.ts runs it.
import type { Usage } from '../../api/types.js';
import { costUSD } from '../pricing.js';
import { apiFailure } from './api-errors.js';
import { isTransient } from './retry.js';
import { MODEL_UNAVAILABLE } from '../../core/retryable.js';
import { firstLine } from './first-line.js';
import type { EngineResult } from './types.js';

export interface ClaudeResultEvent {
  type: 'result';
  subtype: string;
  is_error?: boolean;
  num_turns?: number;
  result?: string;
  session_id?: string;
  total_cost_usd?: number;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  /** Per model, the same calls that total_cost_usd covers (usage is all zeros on error_max_budget_usd). */
  modelUsage?: Record<string, { inputTokens?: number; outputTokens?: number; cacheReadInputTokens?: number; cacheCreationInputTokens?: number }>;
  permission_denials?: unknown[];
  /** The HTTP status of the API error that ended the session (null when none). */
  api_error_status?: number | null;
  /** Why an error_* subtype ended the session, e.g. "Reached maximum number of turns (7)". */
  errors?: string[];
}

/** Statuses a retry cannot fix. Claude Code retries even a 401 for minutes, so the engine stops the
 *  session at the first retry notice for one of these instead of waiting out its backoff. */
const HOPELESS = new Set([400, 401, 403, 404, 413]);

/** The status of a `system/api_retry` event that no retry will fix, else undefined. */
export function hopelessRetry(ev: Record<string, unknown>): number | undefined {
  if (ev.type !== 'system' || ev.subtype !== 'api_retry') return undefined;
  const status = ev.error_status;
  return typeof status === 'number' && HOPELESS.has(status) ? status : undefined;
}

/** A `system/api_retry` event for an outage (429, 529, 5xx, no answer), else undefined. */
export function transientRetry(ev: Record<string, unknown>): { status?: number } | undefined {
  if (ev.type !== 'system' || ev.subtype !== 'api_retry') return undefined;
  const status = typeof ev.error_status === 'number' ? ev.error_status : undefined;
  return isTransient({ status }) ? { status } : undefined;
}

/** Splits a stream into parsed objects; lines that are not JSON objects are skipped. */
export function parseStreamJson(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v = JSON.parse(t) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      // a partial or foreign line
    }
  }
  return out;
}

/** Claude Code reports API failures as text in the result; recover the status it names. */
function statusFromText(text: string): number | undefined {
  const m = /\b(?:API Error|status)[:\s]+(\d{3})\b/i.exec(text) ?? /\b(4\d\d|5\d\d)\b/.exec(text);
  if (m) return Number(m[1]);
  if (/invalid api key|authentication|\/login/i.test(text)) return 401;
  if (/overloaded/i.test(text)) return 529;
  if (/rate limit/i.test(text)) return 429;
  return undefined;
}

/** Model responses seen: the CLI prints one assistant event per content block, all with the id of
 *  the message they belong to. */
export function assistantTurns(events: Record<string, unknown>[]): number {
  const ids = new Set<unknown>();
  let anonymous = 0;
  for (const e of events) {
    if (e.type !== 'assistant') continue;
    const id = (e.message as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') ids.add(id);
    else anonymous++;
  }
  return ids.size + anonymous;
}

/** Token counts of the whole session: modelUsage when the CLI gives it (it matches total_cost_usd,
 *  a second model included), else usage. */
function resultTokens(result: ClaudeResultEvent): Omit<Usage, 'costUSD'> {
  const perModel = Object.values(result.modelUsage ?? {});
  if (perModel.length) {
    const sum = (k: 'inputTokens' | 'outputTokens' | 'cacheReadInputTokens' | 'cacheCreationInputTokens'): number => perModel.reduce((n, m) => n + (m[k] ?? 0), 0);
    return { inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens'), cacheReadTokens: sum('cacheReadInputTokens'), cacheWriteTokens: sum('cacheCreationInputTokens') };
  }
  const u = result.usage ?? {};
  return {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
  };
}

/** The caps the session ran under (--max-turns, --max-budget-usd) name themselves in the summary. */
export function mapClaudeResult(events: Record<string, unknown>[], model: string, maxTurns: number, budgetUSD?: number): EngineResult {
  const result = [...events].reverse().find((e) => e.type === 'result') as ClaudeResultEvent | undefined;
  const turnsSeen = assistantTurns(events);
  if (!result) {
    return {
      outcome: 'Error',
      reason: 'EngineCrashed',
      summary: `claude ended without a result after ${turnsSeen} assistant messages`,
      finalText: '',
      usage: { inputTokens: 0, outputTokens: 0, costUSD: 0 },
      turns: turnsSeen,
    };
  }
  const tokens = resultTokens(result);
  // Claude Code prices its own calls (it may use a second, smaller model); trust its total.
  const usage: Usage = { ...tokens, costUSD: typeof result.total_cost_usd === 'number' ? result.total_cost_usd : costUSD(model, tokens) };
  const text = result.result ?? '';
  // Error subtypes carry no result text; they say why in `errors`.
  const why = firstLine(text) || firstLine((result.errors ?? []).join('\n'));
  const turns = result.num_turns ?? turnsSeen;
  const session = result.session_id ? ` (session ${result.session_id})` : '';
  if (result.subtype === 'error_max_turns') {
    return { outcome: 'Failed', reason: 'TurnCap', summary: `the model did not finish within ${maxTurns} turns${session}`, finalText: text, usage, turns };
  }
  if (result.subtype === 'error_max_budget_usd') {
    // The same words as the tool loops' own budget stop, so the stage result reads alike.
    const spent = budgetUSD === undefined ? why || 'the stage budget is spent' : `the stage budget of $${budgetUSD} is spent`;
    return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turns} turns: ${spent}${session}`, finalText: text, usage, turns };
  }
  if (result.subtype === 'error_during_execution') {
    return { outcome: 'Error', reason: 'EngineError', summary: `claude failed during execution${session}: ${why}`.trim(), finalText: text, usage, turns };
  }
  if (result.is_error || result.subtype !== 'success') {
    // 2.1.x names the status; older versions only said it in the text.
    const status = typeof result.api_error_status === 'number' ? result.api_error_status : statusFromText(text);
    const f = apiFailure(status, why);
    // The CLI gave up on an outage after its own retries: the loop retries the stage.
    const unreachable = status === undefined && /connection|ECONNREFUSED|ECONNRESET|timed? ?out/i.test(`${text} ${why}`);
    if ((status !== undefined && isTransient({ status })) || unreachable) {
      return { outcome: 'Error', reason: MODEL_UNAVAILABLE, summary: `the model API stayed unavailable: ${f.summary}${session}`, finalText: text, usage, turns };
    }
    return { outcome: 'Error', reason: f.reason, summary: f.summary, finalText: text, usage, turns };
  }
  return { outcome: 'Succeeded', summary: firstLine(text) || 'the model finished', finalText: text, usage, turns };
}

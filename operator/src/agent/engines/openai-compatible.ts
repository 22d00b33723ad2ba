// The same tool loop over an OpenAI-compatible chat completions endpoint (vLLM, llama.cpp server,
// a gateway), for pools that serve their own model on the L4s. Plain fetch: no extra dependency.
import { addUsage, emptyUsage } from '../pricing.js';
import { apiFailure } from './api-errors.js';
import { overBudget } from './budget.js';
import { executeTool, firstLine } from './sdk.js';
import { modelCredential } from '../credentials.js';
import type { EngineRequest, EngineResult } from './types.js';

export const OPENAI_MAX_RETRIES = 4;
/** Longest wait honoured from a retry-after header; longer waits are the operator's to schedule. */
const MAX_RETRY_WAIT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10 * 60_000;

interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}
interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}
interface ChatResponse {
  choices: { message: ChatMessage; finish_reason: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
}

class HttpFailure extends Error {
  constructor(
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function retryDelayMs(res: Response, attempt: number): number {
  const ms = Number(res.headers.get('retry-after-ms'));
  if (ms > 0) return Math.min(ms, MAX_RETRY_WAIT_MS);
  const s = Number(res.headers.get('retry-after'));
  if (s > 0) return Math.min(s * 1000, MAX_RETRY_WAIT_MS);
  return Math.min(500 * 2 ** attempt, 8000);
}

const retryable = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;

async function chat(url: string, apiKey: string | undefined, body: unknown): Promise<ChatResponse> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      if (attempt < OPENAI_MAX_RETRIES) {
        await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 8000)));
        continue;
      }
      throw new HttpFailure(undefined, (e as Error).message);
    }
    if (res.ok) return (await res.json()) as ChatResponse;
    const text = await res.text();
    if (retryable(res.status) && attempt < OPENAI_MAX_RETRIES) {
      await new Promise((r) => setTimeout(r, retryDelayMs(res, attempt)));
      continue;
    }
    let detail = text.slice(0, 300);
    try {
      const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
      detail = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? detail;
    } catch {
      // not JSON: keep the text
    }
    throw new HttpFailure(res.status, detail);
  }
}

export async function openAICompatibleEngine(req: EngineRequest): Promise<EngineResult> {
  const { model, transcript } = req;
  let usage = emptyUsage();
  if (!model.baseURL) {
    return { outcome: 'Error', reason: 'BadContext', summary: 'provider openai-compatible needs model.baseURL (AUTORUN_MODEL_BASE_URL)', finalText: '', usage, turns: 0 };
  }
  const url = model.baseURL.replace(/\/+$/, '') + '/chat/completions';
  const apiKey = modelCredential(req.env, model.provider)?.value;
  const tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
  const messages: ChatMessage[] = [
    { role: 'system', content: req.system },
    { role: 'user', content: req.prompt },
  ];
  let finalText = '';
  for (let turn = 1; turn <= model.maxTurns; turn++) {
    let res: ChatResponse;
    try {
      res = await chat(url, apiKey, { model: model.name, messages, tools, max_tokens: model.maxTokens ?? 8192 });
    } catch (e) {
      const f = e instanceof HttpFailure ? apiFailure(e.status, e.detail) : apiFailure(undefined, (e as Error).message);
      transcript.log('model-error', { turn, reason: f.reason, summary: f.summary });
      return { outcome: 'Error', reason: f.reason, summary: f.summary, finalText, usage, turns: turn - 1 };
    }
    const choice = res.choices?.[0];
    if (!choice) return { outcome: 'Error', reason: 'BadResponse', summary: 'the model server answered without choices', finalText, usage, turns: turn };
    const cached = res.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    usage = addUsage(model.name, usage, { inputTokens: (res.usage?.prompt_tokens ?? 0) - cached, outputTokens: res.usage?.completion_tokens ?? 0, cacheReadTokens: cached });
    const msg = choice.message;
    if (msg.content) finalText = msg.content;
    const calls = msg.tool_calls ?? [];
    transcript.log('assistant', { turn, finishReason: choice.finish_reason, text: msg.content ?? '', toolCalls: calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments })), costUSD: usage.costUSD });
    messages.push({ role: 'assistant', content: msg.content ?? null, ...(calls.length ? { tool_calls: calls } : {}) });
    if (overBudget(usage, model.budgetUSD)) {
      return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turn} turns: the stage budget of $${model.budgetUSD} is spent`, finalText, usage, turns: turn };
    }
    if (calls.length) {
      for (const c of calls) {
        let input: unknown;
        let r: { text: string; isError: boolean };
        try {
          input = JSON.parse(c.function.arguments || '{}');
          r = await executeTool(req.tools, c.function.name, input);
        } catch {
          r = { text: 'arguments are not valid JSON', isError: true };
        }
        transcript.log('tool-result', { turn, name: c.function.name, isError: r.isError, output: r.text.slice(0, 2000) });
        messages.push({ role: 'tool', tool_call_id: c.id, content: r.isError ? `error: ${r.text}` : r.text });
      }
      continue;
    }
    if (choice.finish_reason === 'length') {
      messages.push({ role: 'user', content: 'Your reply was cut off at the token limit. Continue, in smaller steps.' });
      continue;
    }
    return { outcome: 'Succeeded', summary: firstLine(finalText) || 'the model finished', finalText, usage, turns: turn };
  }
  return { outcome: 'Failed', reason: 'TurnCap', summary: `the model did not finish within ${model.maxTurns} turns`, finalText, usage, turns: model.maxTurns };
}

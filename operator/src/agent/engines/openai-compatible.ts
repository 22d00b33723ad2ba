// The tool loop over an OpenAI-compatible chat completions endpoint (vLLM, llama.cpp's llama-server,
// llama-cpp-python, a gateway), for pools that serve their own model. Plain fetch, streamed.
// What real servers need, learnt against them: tool_choice sent with the tools (llama-cpp-python
// drops the tools from the prompt without it), assistant content never null (llama-cpp-python 0.3
// answers that with a 500 validation error), and a 500 that names an invalid request is not retried.
import { apiFailure, type ApiFailure } from './api-errors.js';
import { requestBytes } from './budget.js';
import { callModel, ModelCallError, modelCallFailure, retryAfterMs, type CallFailure } from './retry.js';
import { modelCredential } from '../credentials.js';
import { poolPrice, unknownPriceNote } from '../pricing.js';
import { finishedTool, toolLoop, type ModelTurn, type ProviderAdapter, type ToolCall } from './loop.js';
import type { ToolSpec } from '../tools/types.js';
import type { EngineRequest, EngineResult } from './types.js';

/** Longest wait honoured from a retry-after header; longer waits are the operator's to schedule. */
export const DEFAULT_REQUEST_TIMEOUT_S = 600;
export const DEFAULT_MAX_TOKENS = 4096;

interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}
interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
}
interface Completion {
  text: string;
  calls: WireToolCall[];
  finishReason: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
}

export class HttpFailure extends Error {
  constructor(
    readonly status: number | undefined,
    readonly detail: string,
    readonly retryAfterMs?: number,
  ) {
    super(detail);
  }
}

/**
 * A 5xx whose message says the request itself is malformed: llama-cpp-python and FastAPI servers
 * answer a schema violation with 500 and a pydantic/validation message. Retrying cannot help.
 */
export function saysInvalidRequest(detail: string): boolean {
  return /validation error|validationerror|invalid (request|value|type|input)|input should be|field required|unprocessable|is not valid under|jsondecodeerror/i.test(detail);
}

/** What a failed request says about itself, for the shared retry policy (retry.ts): a 5xx that
 * names the request as invalid is the request's fault, so it counts as a 400 and is not retried. */
export function callFailureOf(e: unknown): CallFailure {
  const f = e instanceof HttpFailure ? e : new HttpFailure(undefined, (e as Error).message);
  const status = f.status !== undefined && f.status >= 500 && saysInvalidRequest(f.detail) ? 400 : f.status;
  return { status, retryAfterMs: f.retryAfterMs, detail: f.detail };
}

function errorDetail(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string; detail?: unknown };
    const m = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? (j.detail !== undefined ? JSON.stringify(j.detail) : undefined);
    if (m) return m;
  } catch {
    // not JSON: the text itself
  }
  return text.trim() || '(empty body)';
}

/** Reads a streamed (server-sent events) completion; a server that ignored `stream` answers JSON, read as well. */
async function readCompletion(res: Response, onDelta: (chars: number) => void): Promise<Completion> {
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const j = (await res.json()) as { choices?: { message?: { content?: string | null; tool_calls?: WireToolCall[] }; finish_reason?: string }[]; usage?: Completion['usage'] };
    const c = j.choices?.[0];
    if (!c) throw new HttpFailure(res.status, 'the model server answered without choices');
    return { text: c.message?.content ?? '', calls: c.message?.tool_calls ?? [], finishReason: c.finish_reason ?? 'stop', usage: j.usage };
  }
  const out: Completion = { text: '', calls: [], finishReason: 'stop' };
  const decoder = new TextDecoder();
  let buf = '';
  let sawChoice = false;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') continue;
      const ev = JSON.parse(data) as {
        choices?: { delta?: { content?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] }; finish_reason?: string | null }[];
        usage?: Completion['usage'];
        error?: { message?: string };
      };
      if (ev.error) throw new HttpFailure(500, ev.error.message ?? JSON.stringify(ev.error));
      if (ev.usage) out.usage = ev.usage;
      const c = ev.choices?.[0];
      if (!c) continue;
      sawChoice = true;
      if (c.delta?.content) {
        out.text += c.delta.content;
        onDelta(c.delta.content.length);
      }
      for (const d of c.delta?.tool_calls ?? []) {
        const call = (out.calls[d.index] ??= { id: d.id ?? `call_${d.index}`, type: 'function', function: { name: '', arguments: '' } });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.function.name += d.function.name;
        if (d.function?.arguments) {
          call.function.arguments += d.function.arguments;
          onDelta(d.function.arguments.length);
        }
      }
      if (c.finish_reason) out.finishReason = c.finish_reason;
    }
  }
  if (!sawChoice) throw new HttpFailure(res.status, 'the model server streamed no choices');
  out.calls = out.calls.filter(Boolean);
  return out;
}

async function chatOnce(url: string, apiKey: string | undefined, body: unknown, timeoutMs: number, onDelta: (chars: number) => void): Promise<Completion> {
  let res: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream, application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw new HttpFailure(res.status, errorDetail(await res.text()), retryAfterMs(res.headers));
    return await readCompletion(res, onDelta);
  } catch (e) {
    if (e instanceof HttpFailure) throw e;
    if (signal.aborted) throw new HttpFailure(408, `no complete answer within ${Math.round(timeoutMs / 1000)} s (the pool's spec.model.requestTimeoutSeconds)`);
    throw new HttpFailure(undefined, (e as Error).message);
  }
}

/** The stage result of a call that failed for good: the server's full message, however long. */
export function failureOf(f: HttpFailure): ApiFailure {
  const status = f.status !== undefined && f.status >= 500 && saysInvalidRequest(f.detail) ? 400 : f.status;
  const base = apiFailure(status, undefined);
  const shown = status !== f.status ? `model API ${f.status} (the server rejected the request as invalid; not retried)` : base.summary;
  return { reason: base.reason, summary: `${shown}: ${f.detail.replace(/\s+/g, ' ').slice(0, 4000)}` };
}

/**
 * toolCalls: grammar. The schema every reply must match: one call, {"name": a tool, "arguments":
 * its input}. llama-server turns a response_format schema into a grammar from the first token (and
 * accepts it wrapped in a ```json fence, as small models write calls), which its tool-call parser
 * never does for a model that does not emit the template's own call markers.
 */
export function callSchema(tools: readonly ToolSpec[]): Record<string, unknown> {
  return {
    anyOf: tools.map((t) => ({
      type: 'object',
      properties: { name: { const: t.name }, arguments: t.inputSchema },
      required: ['name', 'arguments'],
      additionalProperties: false,
    })),
  };
}

/** A grammar-constrained reply: the call it holds; none when it was cut off or is not a call. */
export function callOfReply(text: string, known: readonly string[]): { name: string; input: unknown } | undefined {
  const body = text.trim().replace(/^```(?:json)?\s*/, '').replace(/\s*```$/, '');
  try {
    const j = JSON.parse(body) as { name?: unknown; arguments?: unknown };
    if (typeof j.name === 'string' && known.includes(j.name)) return { name: j.name, input: j.arguments ?? {} };
  } catch {
    // cut off at max_tokens, or a server that ignored response_format
  }
  return undefined;
}

export async function openAICompatibleEngine(req: EngineRequest): Promise<EngineResult> {
  const { model, transcript } = req;
  if (!model.baseURL) {
    return { outcome: 'Error', reason: 'BadContext', summary: 'provider openai-compatible needs model.baseURL (AUTORUN_MODEL_BASE_URL)', finalText: '', usage: { inputTokens: 0, outputTokens: 0, costUSD: 0 }, turns: 0 };
  }
  const url = model.baseURL.replace(/\/+$/, '') + '/chat/completions';
  const apiKey = modelCredential(req.env, model.provider)?.value;
  const timeoutMs = (model.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
  const priceNote = unknownPriceNote(model);
  if (priceNote) transcript.log('warning', { message: priceNote });
  const grammar = model.toolCalls === 'grammar';
  // Under a grammar every turn is a call, so the model needs a call that ends the session.
  const offered = grammar ? [...req.tools, finishedTool()] : req.tools;
  const tools = offered.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
  let calls = 0;
  const messages: ChatMessage[] = [
    { role: 'system', content: req.system },
    { role: 'user', content: req.prompt },
  ];
  const adapter: ProviderAdapter = {
    noToolCallCauses:
      'the server does not turn this model\'s output into tool calls (vLLM needs --enable-auto-tool-choice and a --tool-call-parser for the model; llama-server needs --jinja and a template the model follows; llama-cpp-python needs chat_format chatml-function-calling or a model-specific one), or the model cannot do function calling; the local provider constrains a small model\'s calls with a grammar instead.',
    async next(turn, avoid): Promise<ModelTurn | ApiFailure> {
      // Greedy decoding repeats itself exactly: a call just made twice alike is not on offer this turn.
      const choice = grammar ? offered.filter((t) => !avoid.includes(t.name)) : offered;
      let streamed = 0;
      let c: Completion;
      try {
        c = await callModel(
          () =>
            chatOnce(
              url,
              apiKey,
              {
                model: model.name,
                messages,
                ...(tools.length ? { tools, tool_choice: 'auto' } : {}),
                // The tools stay in the request so that the server's chat template describes them.
                ...(grammar ? { response_format: { type: 'json_schema', json_schema: { name: 'tool_call', strict: true, schema: callSchema(choice) } } } : {}),
                max_tokens: model.maxTokens ?? DEFAULT_MAX_TOKENS,
                stream: true,
                stream_options: { include_usage: true },
              },
              timeoutMs,
              (n) => {
                // Progress of a slow model, every 2,000 characters.
                if (Math.floor((streamed + n) / 2000) > Math.floor(streamed / 2000)) transcript.log('progress', { turn, chars: streamed + n });
                streamed += n;
              },
            ),
          callFailureOf,
          { windowSeconds: model.retryWindowSeconds, transcript, turn },
        );
      } catch (e) {
        if (e instanceof ModelCallError && e.transient) return modelCallFailure(e);
        const cause = e instanceof ModelCallError ? e.cause : e;
        return failureOf(cause instanceof HttpFailure ? cause : new HttpFailure(undefined, (cause as Error).message));
      }
      if (grammar && !c.calls.length) {
        const call = callOfReply(c.text, choice.map((t) => t.name));
        const usage = { inputTokens: (c.usage?.prompt_tokens ?? 0) - (c.usage?.prompt_tokens_details?.cached_tokens ?? 0), outputTokens: c.usage?.completion_tokens ?? 0, cacheReadTokens: c.usage?.prompt_tokens_details?.cached_tokens ?? 0 };
        if (call) return { text: '', calls: [{ id: `call_${++calls}`, ...call }], stop: 'tool_calls', usage };
        return { text: c.text, calls: [], stop: c.finishReason === 'length' ? 'max_tokens' : 'end', usage };
      }
      const toolCalls: ToolCall[] = c.calls.map((w) => {
        try {
          return { id: w.id, name: w.function.name, input: JSON.parse(w.function.arguments || '{}') as unknown };
        } catch {
          return { id: w.id, name: w.function.name, input: {}, badArguments: `the arguments of ${w.function.name} are not valid JSON: ${w.function.arguments.slice(0, 200)}` };
        }
      });
      const cached = c.usage?.prompt_tokens_details?.cached_tokens ?? 0;
      return {
        text: c.text,
        calls: toolCalls,
        stop: toolCalls.length ? 'tool_calls' : c.finishReason === 'length' ? 'max_tokens' : 'end',
        usage: { inputTokens: (c.usage?.prompt_tokens ?? 0) - cached, outputTokens: c.usage?.completion_tokens ?? 0, cacheReadTokens: cached },
      };
    },
    record(t, results) {
      const wire = t.calls.map((c): WireToolCall => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input ?? {}) } }));
      messages.push({ role: 'assistant', content: t.text, ...(wire.length ? { tool_calls: wire } : {}) });
      for (const r of results) messages.push({ role: 'tool', tool_call_id: r.call.id, content: r.isError ? `error: ${r.text}` : r.text });
    },
    say(text) {
      messages.push({ role: 'user', content: text });
    },
    requestBytes: () => requestBytes({ messages, tools }),
  };
  const res = await toolLoop(req, adapter, { price: poolPrice(model.price), maxTokens: model.maxTokens ?? DEFAULT_MAX_TOKENS, finishTool: grammar });
  return priceNote && model.budgetUSD !== undefined ? { ...res, summary: `${res.summary} (${priceNote})` } : res;
}

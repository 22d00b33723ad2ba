// The Anthropic Messages API (and Vertex AI, the same API behind Google's endpoint) as a provider of
// the shared tool loop (loop.ts): the adapter streams each turn with the SDK, keeps the conversation
// in the API's shape, and places the prompt-cache breakpoints.
import Anthropic from '@anthropic-ai/sdk';
import { emptyUsage, priceOf } from '../pricing.js';
import { apiFailure } from './api-errors.js';
import type { ApiFailure } from './api-errors.js';
import { modelCredential, noCredential } from '../credentials.js';
import { toolLoop, type ModelTurn, type ProviderAdapter } from './loop.js';
import { callModel, ModelCallError, modelCallFailure, retryAfterMs, type CallFailure } from './retry.js';
import type { EngineRequest, EngineResult } from './types.js';
import { vertexClient, vertexCredentialFailure, vertexSettings } from './vertex.js';

type MessageParam = Anthropic.MessageParam;
type ContentBlockParam = Anthropic.ContentBlockParam;
/** What the adapter needs of a client; Anthropic and AnthropicVertex both provide it. */
export type MessagesClient = { messages: Pick<Anthropic['messages'], 'stream'> };

/**
 * The SDK's own retries are off: every engine rides out an outage with the same policy (retry.ts),
 * for as long as the pool's modelRetryWindow allows.
 */
export const MODEL_MAX_RETRIES = 0;
const DEFAULT_MAX_TOKENS = 8192;

const ephemeral = { type: 'ephemeral' as const };

/** Moves the conversation cache breakpoint to the newest user message (at most 4 breakpoints in all). */
function markCacheTail(messages: MessageParam[]): void {
  for (const m of messages) {
    if (Array.isArray(m.content)) for (const b of m.content) delete (b as { cache_control?: unknown }).cache_control;
  }
  const last = messages[messages.length - 1];
  if (last && Array.isArray(last.content) && last.content.length) {
    (last.content[last.content.length - 1] as { cache_control?: unknown }).cache_control = ephemeral;
  }
}

/** The one part that differs per provider: vertex is the same Messages API behind another client. */
function modelClient(req: EngineRequest): MessagesClient | ApiFailure {
  const { model, env } = req;
  if (model.provider === 'vertex') {
    const s = vertexSettings(model, env);
    return 'reason' in s ? s : vertexClient(s, env, MODEL_MAX_RETRIES);
  }
  const cred = modelCredential(env, model.provider);
  if (!cred) return { reason: 'Unauthorized', summary: noCredential(model.provider) };
  // A credential passed in code is the client's only one: nothing else is read from the environment.
  const auth = cred.kind === 'authToken' ? { authToken: cred.value } : { apiKey: cred.value };
  return new Anthropic({ ...auth, baseURL: model.baseURL || env.ANTHROPIC_BASE_URL || undefined, maxRetries: MODEL_MAX_RETRIES });
}

/** What a failed SDK call says about itself, for the retry policy. */
function callFailureOf(e: unknown): CallFailure {
  // No Google token is not an outage: the credential will not appear by waiting.
  if (vertexCredentialFailure(e)) return { status: 401, detail: (e as Error).message };
  if (e instanceof Anthropic.APIError && e.status !== undefined) {
    return { status: e.status, retryAfterMs: retryAfterMs(e.headers ?? undefined), detail: e.apiMessage ?? e.message };
  }
  return { detail: (e as Error).message };
}

/** A Message of the API as a turn of the loop. */
export function turnOf(msg: Anthropic.Message): ModelTurn {
  const text = msg.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
  const calls = msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input }));
  const u = msg.usage;
  return {
    text,
    calls,
    stop: msg.stop_reason === 'max_tokens' ? 'max_tokens' : calls.length ? 'tool_calls' : 'end',
    usage: { inputTokens: u.input_tokens, outputTokens: u.output_tokens, cacheReadTokens: u.cache_read_input_tokens ?? 0, cacheWriteTokens: u.cache_creation_input_tokens ?? 0 },
    log: { stopReason: msg.stop_reason, usage: u },
  };
}

/**
 * The conversation in the Messages API's shape. Breakpoints: one after the tools (with the system
 * prompt, the same every turn: one breakpoint caches both), one on the system prompt, and one that
 * moves to the newest user message each turn, so each turn reads the previous one from the cache.
 */
export function anthropicAdapter(client: MessagesClient, req: EngineRequest): ProviderAdapter {
  const { model, transcript } = req;
  const tools: Anthropic.Tool[] = req.tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema as Anthropic.Tool.InputSchema,
    ...(i === req.tools.length - 1 ? { cache_control: ephemeral } : {}),
  }));
  const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: req.system, cache_control: ephemeral }];
  const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: req.prompt }] }];
  // The assistant content exactly as it came (thinking blocks and their signatures included).
  let lastContent: ContentBlockParam[] = [];
  return {
    async next(turn): Promise<ModelTurn | ApiFailure> {
      markCacheTail(messages);
      let msg: Anthropic.Message;
      try {
        msg = await callModel(
          () => client.messages.stream({ model: model.name, max_tokens: model.maxTokens ?? DEFAULT_MAX_TOKENS, system, tools, messages }).finalMessage(),
          callFailureOf,
          { windowSeconds: model.retryWindowSeconds, transcript, turn },
        );
      } catch (e) {
        return vertexCredentialFailure(e instanceof ModelCallError ? e.cause : e) ?? (e instanceof ModelCallError ? modelCallFailure(e) : apiFailure(undefined, (e as Error).message));
      }
      lastContent = msg.content as ContentBlockParam[];
      return turnOf(msg);
    },
    record(_turn, results) {
      messages.push({ role: 'assistant', content: lastContent });
      if (results.length) {
        messages.push({
          role: 'user',
          content: results.map((r): Anthropic.ToolResultBlockParam => ({ type: 'tool_result', tool_use_id: r.call.id, content: r.text, ...(r.isError ? { is_error: true } : {}) })),
        });
      }
    },
    say(text) {
      messages.push({ role: 'user', content: [{ type: 'text', text }] });
    },
  };
}

export async function sdkEngine(req: EngineRequest): Promise<EngineResult> {
  const client = modelClient(req);
  if (!('messages' in client)) return { outcome: 'Error', reason: client.reason, summary: client.summary, finalText: '', usage: emptyUsage(), turns: 0 };
  if (!priceOf(req.model.name).known) req.transcript.log('warning', { message: `no price known for model ${req.model.name}; its cost counts as 0` });
  return toolLoop(req, anthropicAdapter(client, req), { frontier: true });
}

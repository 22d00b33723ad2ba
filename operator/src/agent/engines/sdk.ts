// The built-in tool loop on the Anthropic Messages API: stream each turn, run the tools the model
// asks for, send the results back, until the model ends its turn or a cap is reached.
import Anthropic from '@anthropic-ai/sdk';
import { addUsage, emptyUsage, priceOf } from '../pricing.js';
import { ToolError } from '../tools/types.js';
import type { ToolSpec } from '../tools/types.js';
import { apiFailure } from './api-errors.js';
import type { ApiFailure } from './api-errors.js';
import { modelCredential, noCredential } from '../credentials.js';
import { CallBound, overBudget, refuseNextCall, requestBytes } from './budget.js';
import { noteSpend } from '../spend.js';
import { callModel, ModelCallError, modelCallFailure, retryAfterMs, type CallFailure } from './retry.js';
import type { EngineRequest, EngineResult } from './types.js';
import { vertexClient, vertexCredentialFailure, vertexSettings } from './vertex.js';

type MessageParam = Anthropic.MessageParam;
type ContentBlockParam = Anthropic.ContentBlockParam;
/** What the loop needs of a client; Anthropic and AnthropicVertex both provide it. */
type MessagesClient = { messages: Pick<Anthropic['messages'], 'stream'> };

/**
 * The SDK's own retries are off: every engine rides out an outage with the same policy (retry.ts),
 * for as long as the pool's modelRetryWindow allows.
 */
export const MODEL_MAX_RETRIES = 0;
const DEFAULT_MAX_TOKENS = 8192;
/** Most characters of one tool result sent back to the model. */
const MAX_TOOL_RESULT = 60_000;

const ephemeral = { type: 'ephemeral' as const };

export async function executeTool(tools: ToolSpec[], name: string, input: unknown): Promise<{ text: string; isError: boolean }> {
  const tool = tools.find((t) => t.name === name);
  if (!tool) return { text: `unknown tool ${name}`, isError: true };
  try {
    const text = await tool.run((input && typeof input === 'object' ? input : {}) as Record<string, unknown>);
    return { text: text.length > MAX_TOOL_RESULT ? text.slice(0, MAX_TOOL_RESULT) + '\n[truncated]' : text, isError: false };
  } catch (e) {
    if (e instanceof ToolError) return { text: e.message, isError: true };
    return { text: `tool failed: ${(e as Error).message}`, isError: true };
  }
}

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

export async function sdkEngine(req: EngineRequest): Promise<EngineResult> {
  const { model, transcript } = req;
  let usage = emptyUsage();
  const made = modelClient(req);
  if (!('messages' in made)) return { outcome: 'Error', reason: made.reason, summary: made.summary, finalText: '', usage, turns: 0 };
  const client = made;
  if (!priceOf(model.name).known) transcript.log('warning', { message: `no price known for model ${model.name}; its cost counts as 0` });
  const tools: Anthropic.Tool[] = req.tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema as Anthropic.Tool.InputSchema,
    // The tools and system prompt are the same every turn: one breakpoint after them caches both.
    ...(i === req.tools.length - 1 ? { cache_control: ephemeral } : {}),
  }));
  const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: req.system, cache_control: ephemeral }];
  const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: req.prompt }] }];
  let finalText = '';
  const maxTokens = model.maxTokens ?? DEFAULT_MAX_TOKENS;
  const bound = new CallBound(model.name, maxTokens);
  for (let turn = 1; turn <= model.maxTurns; turn++) {
    markCacheTail(messages);
    const bytes = requestBytes({ system, tools, messages });
    const refused = refuseNextCall(model, usage, bound.worstUSD(bytes));
    if (refused) {
      transcript.log('budget', { turn, refused });
      return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turn - 1} turns: ${refused}`, finalText, usage, turns: turn - 1 };
    }
    let msg: Anthropic.Message;
    try {
      msg = await callModel(
        () => client.messages.stream({ model: model.name, max_tokens: maxTokens, system, tools, messages }).finalMessage(),
        callFailureOf,
        { windowSeconds: model.retryWindowSeconds, transcript, turn },
      );
    } catch (e) {
      const f =
        vertexCredentialFailure(e instanceof ModelCallError ? e.cause : e) ??
        (e instanceof ModelCallError ? modelCallFailure(e) : apiFailure(undefined, (e as Error).message));
      transcript.log('model-error', { turn, reason: f.reason, summary: f.summary });
      return { outcome: 'Error', reason: f.reason, summary: f.summary, finalText, usage, turns: turn - 1 };
    }
    const u = msg.usage;
    const counts = { inputTokens: u.input_tokens, outputTokens: u.output_tokens, cacheReadTokens: u.cache_read_input_tokens ?? 0, cacheWriteTokens: u.cache_creation_input_tokens ?? 0 };
    bound.called(bytes, counts);
    usage = addUsage(model.name, usage, counts);
    noteSpend(usage);
    const text = msg.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
    if (text) finalText = text;
    const toolUses = msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    transcript.log('assistant', { turn, stopReason: msg.stop_reason, text, toolCalls: toolUses.map((t) => ({ name: t.name, input: t.input })), usage: u, costUSD: usage.costUSD });
    messages.push({ role: 'assistant', content: msg.content as ContentBlockParam[] });
    if (overBudget(usage, model.budgetUSD)) {
      return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turn} turns: the stage budget of $${model.budgetUSD} is spent`, finalText, usage, turns: turn };
    }
    if (msg.stop_reason === 'tool_use' && toolUses.length) {
      const results: Anthropic.ToolResultBlockParam[] = [];
      for (const tu of toolUses) {
        const r = await executeTool(req.tools, tu.name, tu.input);
        transcript.log('tool-result', { turn, name: tu.name, isError: r.isError, output: r.text.slice(0, 2000) });
        results.push({ type: 'tool_result', tool_use_id: tu.id, content: r.text, ...(r.isError ? { is_error: true } : {}) });
      }
      messages.push({ role: 'user', content: results });
      continue;
    }
    if (msg.stop_reason === 'max_tokens') {
      messages.push({ role: 'user', content: [{ type: 'text', text: 'Your reply was cut off at the token limit. Continue, in smaller steps.' }] });
      continue;
    }
    return { outcome: 'Succeeded', summary: firstLine(finalText) || 'the model finished', finalText, usage, turns: turn };
  }
  return { outcome: 'Failed', reason: 'TurnCap', summary: `the model did not finish within ${model.maxTurns} turns`, finalText, usage, turns: model.maxTurns };
}

export function firstLine(s: string): string {
  return s.trim().split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? '';
}

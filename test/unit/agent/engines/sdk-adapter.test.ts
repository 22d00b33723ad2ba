// The Anthropic adapter of the shared tool loop, on a scripted client: the conversation it keeps in
// the Messages API's shape, where the cache breakpoints go, and how an API message becomes a turn.
import type Anthropic from '@anthropic-ai/sdk';
import { toolLoop } from '../../../../operator/src/agent/engines/loop.js';
import { anthropicAdapter, turnOf, type MessagesClient } from '../../../../operator/src/agent/engines/sdk.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

type Params = Anthropic.MessageStreamParams;

function message(content: Anthropic.ContentBlock[], stop: Anthropic.Message['stop_reason'], usage: Partial<Anthropic.Usage> = {}): Anthropic.Message {
  return { id: 'msg', type: 'message', role: 'assistant', model: 'm', content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5, ...usage } as Anthropic.Usage } as Anthropic.Message;
}
const use = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input }) as Anthropic.ToolUseBlock;
const say = (text: string) => ({ type: 'text', text, citations: null }) as Anthropic.TextBlock;

/** A client that answers from a script and keeps a copy of every request as it was sent. */
function scriptedClient(answers: Anthropic.Message[]): { client: MessagesClient; sent: Params[] } {
  const sent: Params[] = [];
  const client = {
    messages: {
      stream: (p: Params) => {
        sent.push(structuredClone(p));
        const next = answers.shift();
        return { finalMessage: async () => next ?? message([say('script ended')], 'end_turn') };
      },
    },
  } as unknown as MessagesClient;
  return { client, sent };
}

function request(ws: string) {
  return { system: 'sys', prompt: 'write a.py', tools: fileTools(ws, policyFor('code')), claudeTools: [], model: model(), workspace: ws, env: {}, transcript: recordingTranscript().transcript };
}

/** Where the cache_control marks are in a request: tools, system, and message/block positions. */
function breakpoints(p: Params): string[] {
  const at: string[] = [];
  p.tools?.forEach((t, i) => 'cache_control' in t && t.cache_control && at.push(`tool ${i}`));
  (p.system as Anthropic.TextBlockParam[]).forEach((b, i) => b.cache_control && at.push(`system ${i}`));
  p.messages.forEach((m, i) => Array.isArray(m.content) && m.content.forEach((b, j) => (b as { cache_control?: unknown }).cache_control && at.push(`message ${i} block ${j}`)));
  return at;
}

test('the conversation: assistant content as it came, tool results with errors marked, and one moving cache breakpoint', async () => {
  const ws = tempDir();
  const thinking = { type: 'thinking', thinking: 'plan', signature: 'sig' } as Anthropic.ThinkingBlock;
  const { client, sent } = scriptedClient([
    message([thinking, say('writing'), use('t1', 'write_file', { path: 'a.py', content: 'A = 1\n' }), use('t2', 'read_file', {})], 'tool_use'),
    message([say('Wrote a.py')], 'end_turn'),
  ]);
  const req = request(ws);
  const res = await toolLoop(req, anthropicAdapter(client, req), { frontier: true });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Wrote a.py', turns: 2 });
  expect(sent).toHaveLength(2);
  expect(breakpoints(sent[0]!)).toEqual([`tool ${req.tools.length - 1}`, 'system 0', 'message 0 block 0']);
  const [, assistant, results] = sent[1]!.messages;
  expect(assistant).toEqual({ role: 'assistant', content: [thinking, say('writing'), use('t1', 'write_file', { path: 'a.py', content: 'A = 1\n' }), use('t2', 'read_file', {})] });
  expect(results!.role).toBe('user');
  const blocks = results!.content as Anthropic.ToolResultBlockParam[];
  expect(blocks.map((b) => [b.tool_use_id, b.is_error ?? false])).toEqual([['t1', false], ['t2', true]]);
  expect(blocks[1]!.content).toBe('invalid arguments for read_file: path: required');
  // The first message's breakpoint moved to the newest user message: still four at most.
  expect(breakpoints(sent[1]!)).toEqual([`tool ${req.tools.length - 1}`, 'system 0', 'message 2 block 1']);
});

test('a reply cut off at max_tokens is continued with a nudge in a user message', async () => {
  const ws = tempDir();
  const { client, sent } = scriptedClient([message([say('half')], 'max_tokens'), message([say('done')], 'end_turn')]);
  const req = request(ws);
  await toolLoop(req, anthropicAdapter(client, req), { frontier: true });
  expect(sent[1]!.messages.slice(1)).toEqual([
    { role: 'assistant', content: [say('half')] },
    { role: 'user', content: [{ type: 'text', text: 'Your reply was cut off at the token limit. Continue, in smaller steps.', cache_control: { type: 'ephemeral' } }] },
  ]);
});

test('a Message as a turn: text, calls, stop and all four usage counts', () => {
  const t = turnOf(message([say('a'), use('x', 'list_files', {}), say('b')], 'tool_use', { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 100, cache_creation_input_tokens: 50 }));
  expect(t).toMatchObject({ text: 'a\nb', calls: [{ id: 'x', name: 'list_files', input: {} }], stop: 'tool_calls', usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 100, cacheWriteTokens: 50 } });
  expect(t.log).toMatchObject({ stopReason: 'tool_use' });
  // A call cut off mid-way still gets its result (the API refuses a tool_use left without one).
  expect(turnOf(message([use('y', 'write_file', { path: 'a' })], 'max_tokens')).stop).toBe('max_tokens');
  expect(turnOf(message([say('done')], 'end_turn')).stop).toBe('end');
});

test('Claude is taken at its word; a self-served model that never calls a tool is diagnosed', async () => {
  const ws = tempDir();
  const req = request(ws);
  const frontier = scriptedClient([message([say('Nothing to change.')], 'end_turn')]);
  expect(await toolLoop(req, anthropicAdapter(frontier.client, req), { frontier: true })).toMatchObject({ outcome: 'Succeeded', summary: 'Nothing to change.' });
  const small = scriptedClient([message([say('Nothing to change.')], 'end_turn')]);
  expect(await toolLoop(req, anthropicAdapter(small.client, req))).toMatchObject({ outcome: 'Failed', reason: 'NoToolCalls' });
});

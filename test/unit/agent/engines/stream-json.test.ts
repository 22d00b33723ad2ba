// Claude Code headless stream-json, as recorded from `claude -p --output-format stream-json --verbose`.
import { hopelessRetry, mapClaudeResult, parseStreamJson, transientRetry } from '../../../../operator/src/agent/engines/stream-json.js';

const init = '{"type":"system","subtype":"init","cwd":"/workspace","session_id":"5f1c","tools":["Bash","Edit","Read","Write"],"model":"claude-sonnet-4-5","permissionMode":"acceptEdits"}';
const assistant = '{"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_1","name":"Write","input":{"file_path":"/workspace/a.py","content":"x=1\\n"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5}},"session_id":"5f1c"}';
const user = '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"File created successfully at: /workspace/a.py"}]},"session_id":"5f1c"}';
const result = (fields: string): string =>
  `{"type":"result","duration_ms":2310,"duration_api_ms":2100,"num_turns":2,"session_id":"5f1c","total_cost_usd":0.0123,"usage":{"input_tokens":1200,"cache_creation_input_tokens":3000,"cache_read_input_tokens":9000,"output_tokens":340},"permission_denials":[],${fields}}`;

test('success: cost, tokens and the final text', () => {
  const events = parseStreamJson([init, assistant, user, result('"subtype":"success","is_error":false,"result":"Wrote a.py\\nmore"')].join('\n') + '\nnot json\n');
  expect(events).toHaveLength(4);
  expect(mapClaudeResult(events, 'claude-sonnet-4-5', 10)).toEqual({
    outcome: 'Succeeded',
    summary: 'Wrote a.py',
    finalText: 'Wrote a.py\nmore',
    usage: { inputTokens: 1200, outputTokens: 340, cacheReadTokens: 9000, cacheWriteTokens: 3000, costUSD: 0.0123 },
    turns: 2,
  });
});

test('error_max_turns is the turn cap', () => {
  const r = mapClaudeResult(parseStreamJson([init, result('"subtype":"error_max_turns","is_error":true')].join('\n')), 'm', 7);
  expect(r).toMatchObject({ outcome: 'Failed', reason: 'TurnCap' });
  expect(r.summary).toContain('7 turns');
  expect(r.summary).toContain('5f1c');
});

test('error_max_budget_usd is the budget cap, in the words of the tool loops', () => {
  // As 2.1.x writes it when --max-budget-usd is reached: is_error, no result text, the cap in errors.
  const events = parseStreamJson(result('"subtype":"error_max_budget_usd","is_error":true,"stop_reason":"tool_use","errors":["Reached maximum budget ($0.01)"]'));
  expect(mapClaudeResult(events, 'm', 7, 0.01)).toEqual({
    outcome: 'Failed',
    reason: 'Budget',
    summary: 'stopped after 2 turns: the stage budget of $0.01 is spent (session 5f1c)',
    finalText: '',
    usage: { inputTokens: 1200, outputTokens: 340, cacheReadTokens: 9000, cacheWriteTokens: 3000, costUSD: 0.0123 },
    turns: 2,
  });
  // Without the stage's figure, the CLI's own words say it.
  expect(mapClaudeResult(events, 'm', 7).summary).toBe('stopped after 2 turns: Reached maximum budget ($0.01) (session 5f1c)');
});

test('tokens come from modelUsage when given: 2.1.x zeroes usage on error_max_budget_usd', () => {
  // Trimmed from the real CLI's budget stop (test/e2e/agent/claude-code-real.test.ts).
  const line =
    '{"type":"result","subtype":"error_max_budget_usd","is_error":true,"num_turns":1,"session_id":"1b70","total_cost_usd":0.0006,' +
    '"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},' +
    '"modelUsage":{"claude-sonnet-4-5":{"inputTokens":100,"outputTokens":20,"cacheReadInputTokens":7,"cacheCreationInputTokens":3,"costUSD":0.0005},' +
    '"claude-haiku-4-5":{"inputTokens":10,"outputTokens":2,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.0001}},' +
    '"terminal_reason":"budget_exhausted","errors":["Reached maximum budget ($0.000001)"]}';
  expect(mapClaudeResult(parseStreamJson(line), 'claude-sonnet-4-5', 5, 0.000001)).toMatchObject({
    outcome: 'Failed',
    reason: 'Budget',
    summary: 'stopped after 1 turns: the stage budget of $0.000001 is spent (session 1b70)',
    usage: { inputTokens: 110, outputTokens: 22, cacheReadTokens: 7, cacheWriteTokens: 3, costUSD: 0.0006 },
  });
});

test('error_during_execution is an engine error', () => {
  expect(mapClaudeResult(parseStreamJson(result('"subtype":"error_during_execution","is_error":true')), 'm', 7)).toMatchObject({ outcome: 'Error', reason: 'EngineError' });
});

test('API failures reported as text map to reasons', () => {
  const r401 = mapClaudeResult(parseStreamJson(result('"subtype":"success","is_error":true,"result":"Invalid API key · Please run /login"')), 'm', 7);
  expect(r401).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  const r529 = mapClaudeResult(parseStreamJson(result('"subtype":"success","is_error":true,"result":"API Error: 529 {\\"type\\":\\"error\\",\\"error\\":{\\"type\\":\\"overloaded_error\\"}}"')), 'm', 7);
  // An outage the CLI gave up on is the loop's to retry, not the task's end.
  expect(r529).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
  expect(r529.summary).toMatch(/529 \(Overloaded\)/);
});

test.each([429, 500, 502, 503, 504, 529])('api_error_status %d is an outage: ModelUnavailable', (status) => {
  const r = mapClaudeResult(parseStreamJson(result(`"subtype":"success","is_error":true,"api_error_status":${status},"result":"API Error: ${status}"`)), 'm', 7);
  expect(r).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
});

test('a connection failure the CLI reports as text is an outage', () => {
  const r = mapClaudeResult(parseStreamJson(result('"subtype":"success","is_error":true,"result":"API Error: Connection error."')), 'm', 7);
  expect(r).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
});

test('retry notices for outages are transient; for refusals they are not', () => {
  const retry = (status: number | null) => ({ type: 'system', subtype: 'api_retry', attempt: 1, error_status: status });
  expect(transientRetry(retry(529))).toEqual({ status: 529 });
  expect(transientRetry(retry(null))).toEqual({ status: undefined });
  expect(transientRetry(retry(401))).toBeUndefined();
  expect(transientRetry({ type: 'assistant' })).toBeUndefined();
});

test('no result line: the CLI crashed', () => {
  expect(mapClaudeResult(parseStreamJson([init, assistant].join('\n')), 'm', 7)).toMatchObject({ outcome: 'Error', reason: 'EngineCrashed', turns: 1 });
});

test('2.1.x: the status comes from api_error_status, the reason for error subtypes from errors', () => {
  const r403 = mapClaudeResult(parseStreamJson(result('"subtype":"success","is_error":true,"api_error_status":403,"result":"Your organization cannot use this model"')), 'm', 7);
  expect(r403).toMatchObject({ outcome: 'Error', reason: 'Forbidden' });
  expect(r403.summary).toMatch(/^model API 403 \(Forbidden\).*cannot use this model/);
  const failed = mapClaudeResult(parseStreamJson(result('"subtype":"error_during_execution","is_error":true,"errors":["tool crashed"]')), 'm', 7);
  expect(failed.summary).toMatch(/during execution \(session 5f1c\): tool crashed/);
});

test('retry notices for statuses no retry fixes are hopeless; 429 and 529 are not', () => {
  const retry = (status: number) => ({ type: 'system', subtype: 'api_retry', attempt: 1, error_status: status });
  expect(hopelessRetry(retry(401))).toBe(401);
  expect(hopelessRetry(retry(400))).toBe(400);
  expect(hopelessRetry(retry(429))).toBeUndefined();
  expect(hopelessRetry(retry(529))).toBeUndefined();
  expect(hopelessRetry({ type: 'system', subtype: 'init' })).toBeUndefined();
});

test('turns count model responses, not the one assistant event per content block the CLI prints', () => {
  const block = (id: string, type: string) => `{"type":"assistant","message":{"id":"${id}","type":"message","role":"assistant","content":[{"type":"${type}"}]},"session_id":"5f1c"}`;
  const r = mapClaudeResult(parseStreamJson([init, block('msg_1', 'text'), block('msg_1', 'tool_use'), user, block('msg_2', 'text')].join('\n')), 'm', 7);
  expect(r).toMatchObject({ reason: 'EngineCrashed', turns: 2 });
  expect(r.summary).toContain('after 2 assistant messages');
});

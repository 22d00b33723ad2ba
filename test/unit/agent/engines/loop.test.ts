// The shared tool loop with a scripted provider: what `finished` is refused for, and the grammar's
// view of the tools the local engine builds.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTestCommand, toolLoop, type ModelTurn, type ProviderAdapter, type ToolResult } from '../../../../operator/src/agent/engines/loop.js';
import { fencedBody, grammarSchema, offeredFunctions, sampling, wholeLines } from '../../../../operator/src/agent/engines/local.js';
import { flagTestTool, runCommandTool } from '../../../../operator/src/agent/tools/command-tools.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

const call = (name: string, input: Record<string, unknown>): ModelTurn => ({ text: '', calls: [{ id: name, name, input }], stop: 'tool_calls', usage: { inputTokens: 10, outputTokens: 5 } });

function scripted(turns: ModelTurn[]): { adapter: ProviderAdapter; results: ToolResult[][]; avoided: string[][] } {
  const results: ToolResult[][] = [];
  const avoided: string[][] = [];
  return {
    results,
    avoided,
    adapter: {
      next: async (_turn, avoid) => (avoided.push(avoid), turns.shift() ?? { reason: 'BadResponse', summary: 'script ended' }),
      record: (_t, r) => void results.push(r),
      say: () => {},
    },
  };
}

function request(ws: string) {
  return { system: 's', prompt: 'p', tools: [...fileTools(ws, policyFor('code')), runCommandTool(ws, process.env)], claudeTools: [], model: model({ provider: 'local', name: 'm', maxTurns: 12 }), workspace: ws, env: {}, transcript: recordingTranscript().transcript };
}

test('finished is refused before any file is written, and while the last test run fails; taken once the tests pass', async () => {
  const ws = tempDir();
  const { adapter, results } = scripted([
    call('finished', { summary: 'too early' }),
    call('write_file', { path: 'f.py', content: 'def f():\n    return 1\n' }),
    call('write_file', { path: 'check_f.py', content: 'from f import f\ndef test_f():\n    assert f() == 2\n' }),
    call('run_command', { command: 'python3 -m pytest -q check_f.py' }),
    call('finished', { summary: 'done, tests fail' }),
    call('write_file', { path: 'f.py', content: 'def f():\n    return 2  # fixed (another size: no stale .pyc)\n' }),
    call('run_command', { command: 'python3 -m pytest -q check_f.py' }),
    call('finished', { summary: 'f returns 2; tests pass' }),
  ]);
  const res = await toolLoop(request(ws), adapter, { finishTool: true });
  expect(results[0]![0]).toMatchObject({ isError: true, text: expect.stringContaining('not written or changed any file') });
  expect(results[4]![0]).toMatchObject({ isError: true, text: expect.stringContaining('your last test run `python3 -m pytest -q check_f.py` failed (exit code 1)') });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'f returns 2; tests pass', turns: 8, usage: { inputTokens: 80, outputTokens: 40 } });
  expect(readFileSync(join(ws, 'f.py'), 'utf8')).toContain('return 2');
});

test('a failing run answered by flagging a test lets finished through: repair judged the test wrong', async () => {
  const ws = tempDir();
  writeFileSync(join(ws, 'f.py'), 'def f():\n    return 1\n');
  writeFileSync(join(ws, 'check_f.py'), 'from f import f\ndef test_f():\n    assert f() == 2\n');
  const flagged = new Map<string, string>();
  const { adapter, results } = scripted([
    call('write_file', { path: 'f.py', content: 'def f():\n    return 1  # as the goal says\n' }),
    call('run_command', { command: 'python3 -m pytest -q check_f.py' }),
    call('finished', { summary: 'the code is right' }),
    call('flag_test', { name: 'test_f', reason: 'the goal says f returns 1' }),
    call('finished', { summary: 'flagged test_f' }),
  ]);
  const req = request(ws);
  const res = await toolLoop({ ...req, tools: [...req.tools, flagTestTool(flagged)] }, adapter, { finishTool: true });
  expect(results[2]![0]).toMatchObject({ isError: true, text: expect.stringContaining('your last test run') });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'flagged test_f', turns: 5 });
  expect([...flagged.keys()]).toEqual(['test_f']);
});

test("a role that judges its own finish is not judged again by the model's failing run", async () => {
  const ws = tempDir();
  let asked = 0;
  const { adapter, results } = scripted([
    call('write_file', { path: 'f.py', content: 'def f():\n    return 1\n' }),
    call('write_file', { path: 'check_f.py', content: 'from f import f\ndef test_f():\n    assert f() == 2\n' }),
    call('run_command', { command: 'python3 -m pytest -q check_f.py' }),
    call('finished', { summary: 'the role says it is done' }),
  ]);
  const res = await toolLoop({ ...request(ws), unfinished: () => (asked++, undefined) }, adapter, { finishTool: true });
  expect(results[3]![0]).toEqual(expect.objectContaining({ isError: false, text: 'finished' }));
  expect(asked).toBe(1);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'the role says it is done' });
});

test('finished is not offered before the session wrote a file; a model that calls it anyway is believed after three refusals', async () => {
  const ws = tempDir();
  const { adapter, avoided } = scripted([call('finished', { summary: 'a' }), call('finished', { summary: 'b' }), call('finished', { summary: 'c' }), call('finished', { summary: 'd' })]);
  expect(await toolLoop(request(ws), adapter, { finishTool: true })).toMatchObject({ outcome: 'Succeeded', summary: 'd', turns: 4 });
  // A grammar-constrained provider is asked every turn without finished on offer: nothing is written yet.
  expect(avoided).toEqual([['finished'], ['finished'], ['finished'], ['finished']]);
});

test('test commands are recognised; the grammar keeps only the required properties', () => {
  expect(['python -m pytest -q', 'npx jest', 'go test ./...', 'npm test'].every(isTestCommand)).toBe(true);
  expect(isTestCommand('python3 fizzbuzz.py')).toBe(false);
  const tools = [...fileTools(tempDir(), policyFor('code')), runCommandTool('/tmp', {})];
  expect(grammarSchema(tools.find((t) => t.name === 'run_command')!)).toEqual({ type: 'object', properties: { command: { type: 'string' } } });
  // write_file's content is asked for as text after the call (TEXT_PARAMS), not in the grammar's JSON.
  expect(grammarSchema(tools.find((t) => t.name === 'write_file')!)).toEqual({ type: 'object', properties: { path: { type: 'string' } } });
  expect(grammarSchema(tools.find((t) => t.name === 'edit_file')!)).toEqual({ type: 'object', properties: { path: { type: 'string' }, old_string: { type: 'string' }, new_string: { type: 'string' } } });
});

test('a call repeated with the same input gets its answer with a nudge to move on', async () => {
  const ws = tempDir();
  const { adapter, results, avoided } = scripted([call('list_files', {}), call('list_files', {}), call('write_file', { path: 'a.py', content: 'A = 1\n' }), call('finished', { summary: 'ok' })]);
  await toolLoop(request(ws), adapter, { finishTool: true });
  expect(results[0]![0]!.text).not.toContain('exact call');
  expect(results[1]![0]!.text).toContain('You made this exact call before');
  // The turn after the repeat is asked without the repeated tool, and only that turn.
  expect(avoided).toEqual([['finished'], ['finished'], ['list_files', 'finished'], []]);
});

test('calls alternating between two answers the model already has: both tools are left out until it writes', async () => {
  const ws = tempDir();
  const readme = { path: 'README.md' };
  const { adapter, results, avoided } = scripted([
    call('write_file', { path: 'README.md', content: '# r\n' }),
    call('list_files', {}),
    call('read_file', readme),
    call('list_files', {}),
    call('read_file', readme),
    call('write_file', { path: 'a.py', content: 'A = 1\n' }),
    call('list_files', {}),
    call('finished', { summary: 'ok' }),
  ]);
  await toolLoop(request(ws), adapter, { finishTool: true });
  expect(results.map((r) => r[0]!.text.includes('exact call before'))).toEqual([false, false, false, true, true, false, false, false]);
  expect(avoided).toEqual([['finished'], [], [], [], ['list_files'], ['list_files', 'read_file'], [], []]);
});

test("finished is refused while the role's own check says the work is missing, with that reason", async () => {
  const ws = tempDir();
  let tests = false;
  const { adapter, results } = scripted([
    call('write_file', { path: 'tests/test_a.py', content: '<|insert_test_code|>' }),
    call('finished', { summary: 'wrote tests' }),
    call('write_file', { path: 'tests/test_a.py', content: 'def test_a():\n    assert True\n' }),
    call('finished', { summary: 'wrote a test' }),
  ]);
  const unfinished = (): string | undefined => {
    tests = readFileSync(join(ws, 'tests/test_a.py'), 'utf8').includes('def test_');
    return tests ? undefined : 'tests/test_a.py defines no test.';
  };
  const res = await toolLoop({ ...request(ws), tools: fileTools(ws, policyFor('test')), unfinished }, adapter, { finishTool: true });
  expect(results[1]![0]).toMatchObject({ isError: true, text: 'Not finished: tests/test_a.py defines no test. Do it with the tools, then call finished.' });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'wrote a test', turns: 4 });
  expect(tests).toBe(true);
});

test('the check may be asynchronous (repair runs the tests): finished waits for it', async () => {
  const ws = tempDir();
  const { adapter, results } = scripted([
    call('write_file', { path: 'a.py', content: 'A = None\n' }),
    call('finished', { summary: 'fixed' }),
    call('write_file', { path: 'a.py', content: 'A = 1\n' }),
    call('finished', { summary: 'fixed again' }),
  ]);
  const unfinished = async (): Promise<string | undefined> => {
    await new Promise((r) => setImmediate(r));
    return readFileSync(join(ws, 'a.py'), 'utf8').includes('None') ? 'the tests fail after your change.' : undefined;
  };
  const res = await toolLoop({ ...request(ws), tools: fileTools(ws, policyFor('repair')), unfinished }, adapter, { finishTool: true });
  expect(results[1]![0]).toMatchObject({ isError: true, text: 'Not finished: the tests fail after your change. Do it with the tools, then call finished.' });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'fixed again', turns: 4 });
});

test('a file sent as text is the body of its first fenced block, or the whole reply without one', () => {
  expect(fencedBody('Here it is:\n```python\nimport pytest\n\ndef test_a():\n    assert True\n```\nDone.')).toBe('import pytest\n\ndef test_a():\n    assert True\n');
  expect(fencedBody('def f():\n    return 1')).toBe('def f():\n    return 1\n');
  // Cut off at the token limit before the closing fence: what came is the file.
  expect(fencedBody('```\nA = 1\nB = 2')).toBe('A = 1\nB = 2\n');
  expect(fencedBody('')).toBe('');
  // ... and its partial last line is dropped, so the lines written whole still parse.
  expect(wholeLines(fencedBody('```python\ndef test_a():\n    assert f(1) == 1\n    assert f([8, 7,'))).toBe('def test_a():\n    assert f(1) == 1\n');
  expect(wholeLines('A = 1\n')).toBe('A = 1\n');
});

test('a first attempt decodes greedily; a retry and a retake (fresh start) sample, seeded so runs repeat', () => {
  expect(sampling(0)).toEqual({ temperature: 0, seed: 0 });
  expect(sampling(2)).toMatchObject({ seed: 2 });
  expect(sampling(2).temperature).toBeGreaterThan(0);
  expect(sampling(0, true).temperature).toBeGreaterThan(0);
  expect(sampling(0, true)).toEqual(sampling(0, true));
  expect(sampling(0, true).seed).not.toBe(sampling(1, true).seed);
  expect(sampling(1, true).seed).not.toBe(sampling(1).seed);
  // A fresh start's takes are sampled apart (roles/takes.ts).
  expect(new Set([0, 1, 2].map((take) => sampling(0, true, take).seed)).size).toBe(3);
  expect(sampling(0, true, 0)).toEqual(sampling(0, true));
});

test('the same write again is flagged and its tool left out of the next turn', async () => {
  const ws = tempDir();
  const same = call('write_file', { path: 'a.py', content: 'A = 1\n' });
  const { adapter, results, avoided } = scripted([same, { ...same }, call('finished', { summary: 'ok' })]);
  await toolLoop(request(ws), adapter, { finishTool: true });
  expect(results[0]![0]!.text).toBe('wrote a.py (6 bytes)');
  expect(results[1]![0]!.text).toContain('That is exactly what you wrote before');
  expect(avoided).toEqual([['finished'], [], ['write_file']]);
});

test('the local engine offers every function but those to avoid (a repeated call, the one cut off last turn), never none', () => {
  const fns = { read_file: { description: 'r' }, edit_file: { description: 'e' }, finished: { description: 'f' } };
  expect(Object.keys(offeredFunctions(fns, []))).toEqual(['read_file', 'edit_file', 'finished']);
  expect(Object.keys(offeredFunctions(fns, ['edit_file']))).toEqual(['read_file', 'finished']);
  expect(Object.keys(offeredFunctions(fns, ['read_file', 'edit_file', 'finished']))).toEqual(['read_file', 'edit_file', 'finished']);
});

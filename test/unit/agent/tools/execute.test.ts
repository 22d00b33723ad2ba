// A tool call is checked against the tool's JSON schema before the tool runs: the model gets back an
// error naming the argument, and nothing happens in the workspace.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommandTool } from '../../../../operator/src/agent/tools/command-tools.js';
import { executeTool } from '../../../../operator/src/agent/tools/execute.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { tempDir } from '../helpers.js';

function tools(ws: string) {
  return [...fileTools(ws, policyFor('code')), runCommandTool(ws, {})];
}

test('a missing required argument is named, and the tool does not run', async () => {
  const ws = tempDir();
  const r = await executeTool(tools(ws), 'write_file', { path: 'a.py' });
  expect(r).toEqual({ isError: true, text: 'invalid arguments for write_file: content: required' });
  expect(existsSync(join(ws, 'a.py'))).toBe(false);
});

test('every wrong argument is named with what its schema wants', async () => {
  const ws = tempDir();
  const r = await executeTool(tools(ws), 'run_command', { command: 42, timeout_seconds: 'ten' });
  expect(r.isError).toBe(true);
  expect(r.text).toBe('invalid arguments for run_command: command: must be string; timeout_seconds: must be number');
});

test('arguments that are not an object are refused as such; none at all mean the defaults', async () => {
  const ws = tempDir();
  expect(await executeTool(tools(ws), 'read_file', 'a.py')).toEqual({ isError: true, text: 'invalid arguments for read_file: (the arguments): must be object' });
  expect(await executeTool(tools(ws), 'list_files', undefined)).toMatchObject({ isError: false });
});

test('valid arguments run the tool; an unknown tool is an error naming it', async () => {
  const ws = tempDir();
  expect(await executeTool(tools(ws), 'write_file', { path: 'a.py', content: 'A = 1\n' })).toMatchObject({ isError: false, text: expect.stringContaining('wrote a.py') });
  expect(readFileSync(join(ws, 'a.py'), 'utf8')).toBe('A = 1\n');
  expect(await executeTool(tools(ws), 'delete_everything', {})).toEqual({ isError: true, text: 'unknown tool delete_everything' });
});

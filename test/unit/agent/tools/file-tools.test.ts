import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { confine, isTestPath } from '../../../../operator/src/agent/tools/paths.js';
import { ToolError } from '../../../../operator/src/agent/tools/types.js';
import type { ToolSpec } from '../../../../operator/src/agent/tools/types.js';
import { tempDir } from '../helpers.js';

function workspace(): string {
  const ws = tempDir();
  mkdirSync(join(ws, 'tests'));
  mkdirSync(join(ws, '.git'));
  writeFileSync(join(ws, 'impl.py'), 'def f():\n    return 1\n');
  writeFileSync(join(ws, 'tests', 'test_impl.py'), 'from impl import f\n');
  writeFileSync(join(ws, 'README.md'), '# r\n');
  return ws;
}
const tool = (tools: ToolSpec[], name: string): ToolSpec => tools.find((t) => t.name === name)!;

test.each(['../outside.txt', '/etc/passwd', 'tests/../../x', '.git/config', '.git'])('refuses %s', (p) => {
  const ws = workspace();
  expect(() => confine(ws, p)).toThrow(ToolError);
});

test('a symlink cannot lead out of the workspace, for reading or for writing through it', async () => {
  const ws = workspace();
  const outside = tempDir();
  writeFileSync(join(outside, 'secret'), 'x');
  symlinkSync(outside, join(ws, 'link'));
  const tools = fileTools(ws, policyFor('code'));
  await expect(tool(tools, 'read_file').run({ path: 'link/secret' })).rejects.toThrow(/outside the workspace/);
  await expect(tool(tools, 'write_file').run({ path: 'link/new.py', content: 'x' })).rejects.toThrow(/outside the workspace/);
});

test('absolute paths inside the workspace are fine', () => {
  const ws = workspace();
  expect(confine(ws, join(ws, 'impl.py')).rel).toBe('impl.py');
});

test('test paths across languages', () => {
  for (const p of ['tests/test_a.py', 'test_a.py', 'pkg/a_test.py', 'conftest.py', 'a_test.go', 'src/a.test.ts', '__tests__/a.js', 'spec/x.spec.js', 'testdata/in.txt']) expect(isTestPath(p)).toBe(true);
  for (const p of ['a.py', 'testing.py', 'src/contest.js', 'latest/a.go', 'attest.py']) expect(isTestPath(p)).toBe(false);
});

test('code may not write tests', async () => {
  const ws = workspace();
  const tools = fileTools(ws, policyFor('code'));
  await expect(tool(tools, 'write_file').run({ path: 'tests/test_new.py', content: 'x' })).rejects.toThrow(/test file/);
  await expect(tool(tools, 'edit_file').run({ path: 'tests/test_impl.py', old_string: 'impl', new_string: 'x' })).rejects.toThrow(/test file/);
  expect(await tool(tools, 'write_file').run({ path: 'pkg/new.py', content: 'y = 2\n' })).toMatch(/wrote pkg\/new.py/);
  expect(readFileSync(join(ws, 'pkg/new.py'), 'utf8')).toBe('y = 2\n');
});

test('test may not read the implementation, not even through search, and writes only tests', async () => {
  const ws = workspace();
  const tools = fileTools(ws, policyFor('test'));
  await expect(tool(tools, 'read_file').run({ path: 'impl.py' })).rejects.toThrow(/may not read the implementation/);
  expect(await tool(tools, 'read_file').run({ path: 'README.md' })).toBe('# r\n');
  expect(await tool(tools, 'search').run({ pattern: 'return|impl' })).toBe('tests/test_impl.py:1: from impl import f');
  await expect(tool(tools, 'write_file').run({ path: 'impl.py', content: 'x' })).rejects.toThrow(/only write tests/);
  expect(await tool(tools, 'write_file').run({ path: 'tests/test_more.py', content: 'x' })).toMatch(/wrote/);
});

test('repair edits tests only when the task allows it', async () => {
  const ws = workspace();
  await expect(tool(fileTools(ws, policyFor('repair')), 'write_file').run({ path: 'tests/test_impl.py', content: 'x' })).rejects.toThrow(/flag_test/);
  expect(await tool(fileTools(ws, policyFor('repair', true)), 'write_file').run({ path: 'tests/test_impl.py', content: 'x' })).toMatch(/wrote/);
});

test('edit_file wants exactly one occurrence; list_files skips .git', async () => {
  const ws = workspace();
  const tools = fileTools(ws, policyFor('code'));
  writeFileSync(join(ws, 'dup.py'), 'a\na\n');
  await expect(tool(tools, 'edit_file').run({ path: 'dup.py', old_string: 'a', new_string: 'b' })).rejects.toThrow(/2 times/);
  await tool(tools, 'edit_file').run({ path: 'impl.py', old_string: 'return 1', new_string: 'return 2' });
  expect(readFileSync(join(ws, 'impl.py'), 'utf8')).toContain('return 2');
  writeFileSync(join(ws, '.git', 'HEAD'), 'x');
  expect((await tool(tools, 'list_files').run({})).split('\n')).toEqual(['README.md', 'dup.py', 'impl.py', 'tests/test_impl.py']);
});

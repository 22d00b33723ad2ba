import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, parseArgs } from '../../../operator/src/agent/main.js';
import { flagsFromText, ownsPath } from '../../../operator/src/agent/roles/llm-role.js';
import { tempDir } from './helpers.js';

test('arguments', () => {
  expect(parseArgs(['--role', 'run', '--phase=checkout', '--context', '/c.json'])).toEqual({ role: 'run', phase: 'checkout', context: '/c.json', help: false });
  expect(() => parseArgs(['--phase', 'sideways'])).toThrow(/--phase/);
  expect(() => parseArgs(['--bogus'])).toThrow(/unknown argument/);
});

test('a bad context still yields a valid Error result and exit 2', async () => {
  const dir = tempDir();
  const term = join(dir, 'term');
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(['--role', 'code'], { AUTORUN_TERMINATION_PATH: term, AUTORUN_TASK: 'Not_A_Name', AUTORUN_REPO_URL: '/x', AUTORUN_GOAL: 'g' });
  } finally {
    process.stdout.write = write;
  }
  expect(code).toBe(2);
  expect(JSON.parse(readFileSync(term, 'utf8'))).toMatchObject({ role: 'code', outcome: 'Error', reason: 'BadContext' });
});

test('ownership at commit time, and FLAG_TEST lines', () => {
  expect(ownsPath('code', 'tests/test_a.py', false)).toBe(false);
  expect(ownsPath('code', 'a.py', false)).toBe(true);
  expect(ownsPath('test', 'a.py', false)).toBe(false);
  expect(ownsPath('repair', 'tests/test_a.py', false)).toBe(false);
  expect(ownsPath('repair', 'tests/test_a.py', true)).toBe(true);
  expect(flagsFromText('Fixed it.\nFLAG_TEST: tests/t.py::test_zero - zero is not positive\n  FLAG_TEST: b::c')).toEqual(['tests/t.py::test_zero', 'b::c']);
});

// The handed code comes back from the stage's own repository: changed and deleted implementation
// files are written back, a symlink the model put in a file's place is replaced (nothing is written
// through it), and tests and files the model added are left alone.
import { expect, test } from '@jest/globals';
import { lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Git } from '../../../../operator/src/agent/git.js';
import { handedCode } from '../../../../operator/src/agent/roles/handed-code.js';
import { makeRemote } from '../../../e2e/agent/harness.js';
import { tempDir } from '../helpers.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

test('changed, deleted and symlinked implementation files come back as handed; tests and new files stay', async () => {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'solution.py': 'def f():\n    return 1\n', 'util.py': 'X = 1\n', 'lib.py': 'Y = 2\n', 'tests/test_f.py': 'def test_f(): pass\n' });
  const ws = join(dir, 'ws');
  const git = new Git(ws, GIT_ENV, join(dir, 'repo.git'));
  await git.clone(remote);
  const start = await git.base('main');
  await git.checkout(start);
  const outside = join(dir, 'outside.txt');
  writeFileSync(outside, 'not the workspace\n');

  writeFileSync(join(ws, 'solution.py'), 'def f():\n    return None\n');
  rmSync(join(ws, 'util.py'));
  rmSync(join(ws, 'lib.py'));
  symlinkSync(outside, join(ws, 'lib.py'));
  writeFileSync(join(ws, 'tests/test_f.py'), 'changed by the model\n');
  writeFileSync(join(ws, 'helper.py'), 'new\n');

  const handed = handedCode(git, start);
  expect((await handed.restore()).sort()).toEqual(['lib.py', 'solution.py', 'util.py']);
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe('def f():\n    return 1\n');
  expect(readFileSync(join(ws, 'util.py'), 'utf8')).toBe('X = 1\n');
  expect(lstatSync(join(ws, 'lib.py')).isSymbolicLink()).toBe(false);
  expect(readFileSync(join(ws, 'lib.py'), 'utf8')).toBe('Y = 2\n');
  expect(readFileSync(outside, 'utf8')).toBe('not the workspace\n');
  expect(readFileSync(join(ws, 'tests/test_f.py'), 'utf8')).toBe('changed by the model\n');
  expect(readFileSync(join(ws, 'helper.py'), 'utf8')).toBe('new\n');
  expect(await handed.content('solution.py')).toBe('def f():\n    return 1\n');
  expect(await handed.content('missing.py')).toBeUndefined();
  // Nothing changed since: nothing to put back.
  expect(await handed.restore()).toEqual([]);
});

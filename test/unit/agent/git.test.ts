// The git scheme on a real bare remote: deterministic merges of code and tests, the synthetic base
// of an empty repository, and credentials kept out of messages.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Git, GitError, scrubUrl } from '../../../operator/src/agent/git.js';
import { tempDir } from './helpers.js';

const sh = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();

async function clone(remote: string): Promise<Git> {
  const g = new Git(join(tempDir(), 'ws'), { PATH: process.env.PATH, HOME: process.env.HOME });
  await g.clone(remote);
  return g;
}

/** The same clone, committing at a given time (git's own dates, instead of waiting for the clock). */
function at(g: Git, epochSeconds: number): Git {
  const date = `@${epochSeconds} +0000`;
  return new Git(g.dir, { PATH: process.env.PATH, HOME: process.env.HOME, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
}

async function commitFile(g: Git, base: string, file: string, ref: string): Promise<string> {
  await g.checkout(base);
  writeFileSync(join(g.dir, file), file);
  const c = (await g.commit([file], `add ${file}`))!;
  await g.push([{ commit: c, ref }]);
  return c;
}

test('two clones compute the same merge(code, tests) commit, and the order of work does not matter', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const a = await clone(remote);
  const base = await a.base(undefined); // empty remote: synthetic base
  // Dates that differ, so the merge's date is shown to be the later one.
  const code = await commitFile(at(a, 1_700_000_000), base, 'impl.py', 'refs/autorun/t/code');
  const tests = await commitFile(at(a, 1_700_000_100), base, 'test_impl.py', 'refs/autorun/t/tests');
  const m1 = await a.mergeCodeAndTests(code, tests);
  const b = await clone(remote);
  expect(await b.base(undefined)).toBe(base);
  const m2 = await b.mergeCodeAndTests((await b.fetch('refs/autorun/t/code'))!, (await b.fetch('refs/autorun/t/tests'))!);
  expect(m2).toBe(m1);
  expect(sh(b.dir, 'log', '-1', '--format=%an %ct %s', m2)).toBe(`autorun ${sh(b.dir, 'log', '-1', '--format=%ct', tests)} autorun: merge code and tests`);
  // A commit on top of the merge already contains the tests: merging again is a no-op.
  writeFileSync(join(b.dir, 'impl.py'), 'fixed');
  const fix = (await b.commit(['impl.py'], 'fix'))!;
  expect(await b.mergeCodeAndTests(fix, tests)).toBe(fix);
});

test('changed paths include new, modified and deleted files; discard restores them', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const g = await clone(remote);
  await commitFile(g, await g.base(undefined), 'a.py', 'refs/heads/main');
  writeFileSync(join(g.dir, 'a.py'), 'changed');
  writeFileSync(join(g.dir, 'b.py'), 'new');
  expect((await g.changedPaths()).sort()).toEqual(['a.py', 'b.py']);
  await g.discard(['a.py', 'b.py']);
  expect(await g.changedPaths()).toEqual([]);
});

test('credentials in URLs never reach messages', () => {
  expect(scrubUrl('fatal: unable to access https://x-access-token:ghp_abc@github.com/o/r.git/')).toBe('fatal: unable to access https://***@github.com/o/r.git/');
});

test('a missing base ref is a clear error', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const g = await clone(remote);
  await commitFile(g, await g.base(undefined), 'a.py', 'refs/heads/main');
  const g2 = await clone(remote);
  await expect(g2.base('release-9')).rejects.toThrow(/base ref release-9 not found/);
  expect(await g2.base('main')).toMatch(/^[0-9a-f]{40}$/);
});

test('a ref pushed by a parallel stage between a failed fetch and the check is fetched, not an error', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const a = await clone(remote);
  const main = await commitFile(a, await a.base(undefined), 'a.py', 'refs/heads/main');
  // A git that lets its first fetch fail as it would, then lets the other stage's push land.
  const bin = join(dir, 'bin');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\ncase " $* " in *" fetch "*) if [ ! -e "${dir}/raced" ]; then touch "${dir}/raced"; "${real}" "$@"; rc=$?; "${real}" --git-dir="${remote}" update-ref refs/autorun/t/code ${main}; exit $rc; fi;; esac\nexec "${real}" "$@"\n`,
    { mode: 0o755 },
  );
  const b = new Git(join(dir, 'b'), { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME });
  await b.clone(remote);
  expect(await b.fetch('refs/autorun/t/code')).toBe(main);
  expect(existsSync(join(dir, 'raced'))).toBe(true);
});

test('a remote gone after the clone is an error with git\'s message, not a missing ref or an empty repository', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const g = await clone(remote);
  await commitFile(g, await g.base(undefined), 'a.py', 'refs/heads/main');
  const h = await clone(remote);
  sh(h.dir, 'remote', 'set-url', 'origin', join(dir, 'gone.git'));
  sh(h.dir, 'update-ref', '-d', 'refs/remotes/origin/HEAD');
  await expect(h.fetch('refs/autorun/t/code')).rejects.toThrow(/gone\.git' does not appear to be a git repository/);
  await expect(h.base(undefined)).rejects.toThrow(/git ls-remote .* failed: fatal: '.*gone\.git' does not appear to be a git repository/);
});

// A ref or URL that looks like an option must reach git as an operand: `git fetch origin
// --upload-pack=CMD` runs CMD (git parses options after operands), so every call puts `--` or
// `--end-of-options` in front of what came from the task.
test('a base ref or URL that looks like an option is an operand, never an option git runs', async () => {
  const dir = tempDir();
  const remote = join(dir, 'r.git');
  sh(dir, 'init', '--quiet', '--bare', remote);
  const g = await clone(remote);
  await commitFile(g, await g.base(undefined), 'a.py', 'refs/heads/main');
  const planted = join(dir, 'planted');
  const g2 = await clone(remote);
  await expect(g2.base(`--upload-pack=touch ${planted}; git-upload-pack`)).rejects.toThrow(/not found/);
  expect(existsSync(planted)).toBe(false);
  const g3 = new Git(join(tempDir(), 'ws'), { PATH: process.env.PATH, HOME: process.env.HOME });
  await expect(g3.clone(`--upload-pack=touch ${planted}; git-upload-pack ${remote}`)).rejects.toThrow(GitError);
  expect(existsSync(planted)).toBe(false);
  await expect(g2.checkout('--orphan')).rejects.toThrow(/not a commit id/);
});

// The stage workspace as a real kubelet makes it (an emptyDir owned by root, the stage running as
// 65532: git sees a repository owned by someone else), and git failures that are not "not found".
// GIT_TEST_ASSUME_DIFFERENT_OWNER is git's own switch for its ownership check: the check runs
// exactly as in the Pod, whoever runs the test. The remote is a git daemon, as the Pod's is, so the
// switch stays on the stage's side. test/integration/realnode shows the same on a kubelet.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../fakes/anthropic-server.js';
import { startGitDaemon } from '../../fakes/git-daemon.js';
import type { GitDaemon } from '../../fakes/git-daemon.js';
import { baseContext, build, expectContract, git, makeRemote, pushFiles, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const OWNED_BY_ANOTHER_USER = { GIT_TEST_ASSUME_DIFFERENT_OWNER: '1' };
let fake: FakeAnthropic | undefined;
let daemon: GitDaemon | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  await daemon?.close();
  fake = undefined;
  daemon = undefined;
});

/** The remote under dir (makeRemote's remote.git) as a Pod reaches it: over git://. */
async function served(dir: string): Promise<{ url: string; baseRef: string }> {
  daemon = await startGitDaemon(dir);
  return { url: `${daemon.url}remote.git`, baseRef: 'main' };
}

function pythonProject(dir: string): string {
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'def one():\n    return 1\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'tests/test_m.py': 'from m import one\n\ndef test_one():\n    assert one() == 1\n' });
  return remote;
}

test('the run role checks out and tests in a workspace git would distrust', async () => {
  const dir = tempDir('autorun-gitws-');
  pythonProject(dir);
  const r = await runAgent(dir, baseContext(dir, 'run', { repository: await served(dir) }), OWNED_BY_ANOTHER_USER);
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'run', outcome: 'Succeeded', tests: { passed: 1, failed: 0, total: 1 } });
}, 60_000);

test('the code role builds on the repository in a workspace git would distrust, not on an empty one', async () => {
  const dir = tempDir('autorun-gitws-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const main = git(dir, '--git-dir', remote, 'rev-parse', 'refs/heads/main');
  fake = await startFakeAnthropic([toolUse('write_file', { path: 'fizzbuzz.py', content: 'x = 1\n' }), text('done')]);
  const r = await runAgent(dir, baseContext(dir, 'code', { repository: await served(dir) }), { ...OWNED_BY_ANOTHER_USER, ANTHROPIC_API_KEY: 'sk-ant-e2e-abcdefghijklmnop', ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Succeeded' });
  expect(git(dir, '--git-dir', remote, 'rev-parse', `${r.result.commit!}^`)).toBe(main);
}, 60_000);

test("a fetch that fails for another reason than a missing ref reports git's own error", async () => {
  const dir = tempDir('autorun-gitws-');
  const remote = pythonProject(dir);
  // The code ref's commit object gone from the remote: the ref is there, git cannot send it.
  const commit = git(dir, '--git-dir', remote, 'rev-parse', 'refs/autorun/fizz/code');
  rmSync(join(remote, 'objects', commit.slice(0, 2), commit.slice(2)));
  const r = await runAgent(dir, baseContext(dir, 'run'));
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'run', outcome: 'Error', reason: 'GitFailed' });
  expect(r.result.summary).toMatch(/git fetch origin refs\/autorun\/fizz\/code failed: .*(bad object|unable to read|did not send all necessary objects|upload-pack)/i);
  expect(r.result.summary).not.toMatch(/not found/);
}, 60_000);

test('a ref the remote lacks is still "not found", with the ref named', async () => {
  const dir = tempDir('autorun-gitws-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'def one():\n    return 1\n' });
  const r = await runAgent(dir, baseContext(dir, 'run'));
  expect(r.result).toMatchObject({ role: 'run', outcome: 'Error', reason: 'GitFailed', summary: 'refs/autorun/fizz/tests not found in the repository' });
}, 60_000);

test('the code role reports an unreachable remote after the clone instead of starting from an empty repository', async () => {
  const dir = tempDir('autorun-gitws-');
  makeRemote(dir, { 'README.md': 'x\n' });
  const ctx = baseContext(dir, 'code', { repository: { url: join(dir, 'remote.git'), baseRef: undefined } });
  // Cloned once (as a stage retried in the same workspace finds it), then the remote is gone.
  git(dir, 'clone', '--quiet', '--no-checkout', join(dir, 'remote.git'), ctx.workspace);
  git(ctx.workspace, 'remote', 'set-url', 'origin', join(dir, 'gone.git'));
  git(ctx.workspace, 'update-ref', '-d', 'refs/remotes/origin/HEAD');
  fake = await startFakeAnthropic([text('done')]);
  const r = await runAgent(dir, ctx, { ANTHROPIC_API_KEY: 'sk-ant-e2e-abcdefghijklmnop', ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'GitFailed' });
  expect(r.result.summary).toMatch(/gone\.git.*does not appear to be a git repository/);
  expect(fake.requests).toHaveLength(0);
  expect(readdirSync(ctx.workspace)).toEqual(['.git']);
}, 60_000);

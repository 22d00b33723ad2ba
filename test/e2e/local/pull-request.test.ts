// `autorun run` opening a pull request: the built CLI, real git and pytest, the fake model, and the
// publish stage as its own process calling the fake GitHub API through @octokit/rest. Run twice (the
// state wiped in between, as a person starting over would): one pull request, updated, not two.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { FakeGitHub } from '../../fakes/github-server.js';
import { build, cliEnv, CORRECT, git, readState, runCli, scratch, scriptFor, taskYaml, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

const dirs: string[] = [];
let fake: FakeAnthropic | undefined;
let gh: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  await gh?.stop();
  fake = gh = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A bare remote with one commit on main, as a team's repository would be. */
function remote(dir: string): string {
  const bare = join(dir, 'remote.git');
  const work = join(dir, 'seed');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(dir, 'init', '--quiet', '--initial-branch=main', work);
  git(work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'initial');
  git(work, 'push', '--quiet', bare, 'main');
  return bare;
}

function prTask(apiURL: string, draft = false): string {
  return taskYaml(
    'published',
    `  repository:
    url: ./remote.git
    pullRequest:
      provider: github
      apiURL: ${apiURL}
      repository: acme/fizzbuzz
      draft: ${draft}
`,
  );
}

test('a passing task opens one draft pull request; the same task run again updates it', async () => {
  gh = new FakeGitHub('acme/fizzbuzz');
  const apiURL = await gh.start();
  const w = scratch(prTask(apiURL, true));
  dirs.push(w.dir);
  const bare = remote(w.dir);
  fake = await startFakeAnthropic(scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT }).script);
  const env = cliEnv(fake.url, { AUTORUN_PR_TOKEN: gh.validToken });

  const first = await runCli(['run', 'task.yaml'], w.dir, env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const url = 'https://github.test/acme/fizzbuzz/pull/1';
  expect(first.stdout).toContain(`published: tests passed (5/5) in iteration 1; pull request ${url}; branch autorun/published at`);
  const state = readState(w.dir, 'published') as ReturnType<typeof readState> & { status: { result?: { pullRequestURL?: string } } };
  expect(state.status.result?.pullRequestURL).toBe(url);
  expect(state.stages.map((s) => s.name)).toEqual(['published-i1-code-a0', 'published-i1-test-a0', 'published-i1-run-a0', 'published-i1-publish-a0']);

  const pulls = gh.pulls('acme/fizzbuzz');
  expect(pulls).toHaveLength(1);
  expect(pulls[0]).toMatchObject({ number: 1, head: 'autorun/published', base: 'main', draft: true, title: 'Implement fizzbuzz(n) in fizzbuzz.py: "Fizz" for multiples of 3…' });
  expect(pulls[0]!.body).toContain('- **Tests:** 5/5 passed');
  expect(pulls[0]!.body).toContain('- **Iterations:** 1 of at most 5');
  expect(pulls[0]!.body).toMatch(/- \*\*Cost:\*\* \$\d+\.\d\d \(models \$\d+\.\d\d\)/);
  expect(pulls[0]!.body).toContain('| published-i1-run-a0 | Succeeded | 5/5 |');
  // The branch the pull request names is the one the agents pushed, with the tested code on it.
  expect(git(w.dir, '--git-dir', bare, 'show', 'autorun/published:fizzbuzz.py')).toBe(CORRECT.trimEnd());
  // The publish stage authenticated every request with the token it alone was given.
  expect(gh.calls.every((c) => c.headers.authorization === `token ${gh!.validToken}`)).toBe(true);

  const status = await runCli(['status'], w.dir, env);
  expect(status.stdout).toContain(`published: branch autorun/published at`);
  expect(status.stdout).toContain(`, pull request ${url}`);

  rmSync(join(w.dir, '.autorun', 'state', 'published.json'));
  rmSync(join(w.dir, '.autorun', 'published'), { recursive: true });
  const again = await runCli(['run', 'task.yaml'], w.dir, env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`pull request ${url}`);
  expect(gh.pulls('acme/fizzbuzz')).toHaveLength(1);
  expect(gh.writes()).toEqual(['POST /repos/acme/fizzbuzz/pulls', 'PATCH /repos/acme/fizzbuzz/pulls/1']);
}, 180_000);

test('no token: nothing starts, and the message says which variable to set', async () => {
  const w = scratch(prTask('http://127.0.0.1:9'));
  dirs.push(w.dir);
  remote(w.dir);
  const r = await runCli(['run', 'task.yaml'], w.dir, cliEnv('http://127.0.0.1:9', { GITHUB_TOKEN: '', GH_TOKEN: '' }));
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('task.yaml: document 1 (CodingTask published): spec.repository.pullRequest: no github token: set AUTORUN_PR_TOKEN or GITHUB_TOKEN or GH_TOKEN');
});

// The publish role with the real @octokit/rest and @gitbeaker/rest clients on the wire, against the
// fake GitHub and GitLab APIs on loopback: a request opened once, updated (not duplicated) on a
// re-run, drafts, the token refused, a server error, and how the repository is named.
import { afterEach, describe, expect, test } from '@jest/globals';
import { completeContext, type AgentContext } from '../../../../operator/src/agent/context.js';
import { publishRole, repositoryPath } from '../../../../operator/src/agent/roles/publish-role.js';
import { FakeGitHub } from '../../../fakes/github-server.js';
import { FakeGitLab } from '../../../fakes/gitlab-server.js';
import { recordingTranscript } from '../helpers.js';

let servers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

function ctx(pr: Partial<NonNullable<AgentContext['pullRequest']>>, url = '/srv/git/fizzbuzz.git'): AgentContext {
  return completeContext({
    task: 'fizzbuzz',
    role: 'publish',
    repository: { url, baseRef: 'main' },
    codeRef: 'abc123',
    pullRequest: { provider: 'github', title: 'Implement fizzbuzz', body: 'tests 10/10', ...pr },
  });
}

describe('GitHub through @octokit/rest', () => {
  test('opens a draft pull request once, then updates the same one on a re-run', async () => {
    const gh = new FakeGitHub('acme/fizzbuzz');
    servers.push(gh);
    const apiURL = await gh.start();
    const env = { AUTORUN_PR_TOKEN: gh.validToken };
    const { transcript, lines } = recordingTranscript([gh.validToken]);

    const first = await publishRole(ctx({ apiURL, repository: 'acme/fizzbuzz', draft: true }), env, transcript);
    expect(first).toMatchObject({ role: 'publish', outcome: 'Succeeded', pullRequestURL: 'https://github.test/acme/fizzbuzz/pull/1', commit: 'abc123' });
    expect(first.summary).toBe('opened pull request #1: https://github.test/acme/fizzbuzz/pull/1');
    expect(gh.pulls('acme/fizzbuzz')).toEqual([{ number: 1, state: 'open', title: 'Implement fizzbuzz', body: 'tests 10/10', head: 'autorun/fizzbuzz', base: 'main', draft: true }]);
    // Looked up by the branch first, with the owner-qualified head GitHub's filter needs.
    expect(gh.calls[0]).toMatchObject({ method: 'GET', path: '/repos/acme/fizzbuzz/pulls', query: { head: 'acme:autorun/fizzbuzz', base: 'main', state: 'open' } });

    const again = await publishRole(ctx({ apiURL, repository: 'acme/fizzbuzz', body: 'tests 11/11 after a re-run' }), env, transcript);
    expect(again).toMatchObject({ outcome: 'Succeeded', pullRequestURL: 'https://github.test/acme/fizzbuzz/pull/1' });
    expect(again.summary).toMatch(/^updated pull request #1/);
    expect(gh.pulls('acme/fizzbuzz')).toHaveLength(1);
    expect(gh.pulls('acme/fizzbuzz')[0]!.body).toBe('tests 11/11 after a re-run');
    expect(gh.writes()).toEqual(['POST /repos/acme/fizzbuzz/pulls', 'PATCH /repos/acme/fizzbuzz/pulls/1']);
    expect(lines.join('')).not.toContain(gh.validToken);
  });

  test('the owner/name comes from an https or scp-style clone URL when spec.repository.pullRequest.repository is unset', async () => {
    const gh = new FakeGitHub('acme/widgets');
    servers.push(gh);
    const apiURL = await gh.start();
    const r = await publishRole(ctx({ apiURL }, 'git@github.com:acme/widgets.git'), { GITHUB_TOKEN: gh.validToken }, recordingTranscript().transcript);
    expect(r).toMatchObject({ outcome: 'Succeeded', pullRequestURL: 'https://github.test/acme/widgets/pull/1' });
  });

  test('a refused token is an Error (retrying cannot help) that names the fix and not the token', async () => {
    const gh = new FakeGitHub('acme/fizzbuzz');
    servers.push(gh);
    const apiURL = await gh.start();
    const r = await publishRole(ctx({ apiURL, repository: 'acme/fizzbuzz' }), { AUTORUN_PR_TOKEN: 'ghp_wrongwrongwrongwrongwrongwrong00' }, recordingTranscript().transcript);
    expect(r).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
    expect(r.summary).toMatch(/token was refused \(401\).*credentials Secret/);
    expect(r.summary).not.toContain('ghp_wrong');
  });

  test('an unknown repository is an Error; a server error is a Failed attempt, to be retried', async () => {
    const gh = new FakeGitHub('acme/fizzbuzz');
    servers.push(gh);
    const apiURL = await gh.start();
    const env = { AUTORUN_PR_TOKEN: gh.validToken };
    const missing = await publishRole(ctx({ apiURL, repository: 'acme/nope' }), env, recordingTranscript().transcript);
    expect(missing).toMatchObject({ outcome: 'Error', reason: 'RepositoryNotFound' });
    gh.failNext.push({ status: 500, body: { message: 'Server Error' } });
    const flaky = await publishRole(ctx({ apiURL, repository: 'acme/fizzbuzz' }), env, recordingTranscript().transcript);
    expect(flaky).toMatchObject({ outcome: 'Failed', reason: 'PublishFailed' });
    expect(flaky.summary).toMatch(/HTTP 500/);
    expect(gh.pulls('acme/fizzbuzz')).toEqual([]);
  });

  test('without a token it says where to put one', async () => {
    const r = await publishRole(ctx({ apiURL: 'http://127.0.0.1:9', repository: 'acme/fizzbuzz' }), {}, recordingTranscript().transcript);
    expect(r).toMatchObject({ outcome: 'Error', reason: 'NoCredentials' });
    expect(r.summary).toMatch(/spec\.repository\.pullRequest\.credentialsSecretRef.*AUTORUN_PR_TOKEN or GITHUB_TOKEN or GH_TOKEN/);
  });
});

describe('GitLab through @gitbeaker/rest', () => {
  test('opens a draft merge request in a nested project once, then updates it on a re-run', async () => {
    const gl = new FakeGitLab('acme/platform/fizzbuzz');
    servers.push(gl);
    const apiURL = await gl.start();
    const env = { GITLAB_TOKEN: gl.validToken };
    const pr = { provider: 'gitlab' as const, apiURL, draft: true };

    const first = await publishRole(ctx(pr, 'https://gitlab.example.com/acme/platform/fizzbuzz.git'), env, recordingTranscript().transcript);
    expect(first).toMatchObject({ outcome: 'Succeeded', pullRequestURL: 'https://gitlab.test/acme/platform/fizzbuzz/-/merge_requests/1' });
    expect(first.summary).toMatch(/^opened merge request #1/);
    expect(gl.mergeRequests('acme/platform/fizzbuzz')).toEqual([
      { iid: 1, state: 'opened', title: 'Draft: Implement fizzbuzz', description: 'tests 10/10', source_branch: 'autorun/fizzbuzz', target_branch: 'main' },
    ]);
    expect(gl.calls[0]).toMatchObject({ method: 'GET', path: '/api/v4/projects/acme%2Fplatform%2Ffizzbuzz/merge_requests', query: { source_branch: 'autorun/fizzbuzz', state: 'opened' } });

    const again = await publishRole(ctx({ ...pr, body: 'tests 11/11' }, 'https://gitlab.example.com/acme/platform/fizzbuzz.git'), env, recordingTranscript().transcript);
    expect(again.summary).toMatch(/^updated merge request #1/);
    expect(gl.mergeRequests('acme/platform/fizzbuzz')).toHaveLength(1);
    expect(gl.mergeRequests('acme/platform/fizzbuzz')[0]).toMatchObject({ title: 'Draft: Implement fizzbuzz', description: 'tests 11/11' });
    expect(gl.writes()).toEqual(['POST /api/v4/projects/acme%2Fplatform%2Ffizzbuzz/merge_requests', 'PUT /api/v4/projects/acme%2Fplatform%2Ffizzbuzz/merge_requests/1']);
  });

  test('a refused token is an Error', async () => {
    const gl = new FakeGitLab('acme/fizzbuzz');
    servers.push(gl);
    const apiURL = await gl.start();
    const r = await publishRole(ctx({ provider: 'gitlab', apiURL, repository: 'acme/fizzbuzz' }), { AUTORUN_PR_TOKEN: 'glpat-wrongwrongwrongwrong0' }, recordingTranscript().transcript);
    expect(r).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  });
});

test.each([
  ['https://github.com/acme/fizzbuzz.git', 'acme/fizzbuzz'],
  ['https://github.com/acme/fizzbuzz', 'acme/fizzbuzz'],
  ['ssh://git@gitlab.com/group/sub/project.git', 'group/sub/project'],
  ['git@github.com:acme/fizzbuzz.git', 'acme/fizzbuzz'],
  ['/srv/git/fizzbuzz.git', undefined],
  ['https://github.com/fizzbuzz', undefined],
])('repositoryPath(%s) = %s', (url, path) => {
  expect(repositoryPath(url)).toBe(path);
});

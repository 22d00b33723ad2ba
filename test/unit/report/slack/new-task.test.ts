import { newTaskSpec, parsePullRequestSettings } from '../../../../operator/src/report/slack/new-task.js';

test('SLACK_PULL_REQUEST: a JSON object, or a clear error naming the variable', () => {
  expect(parsePullRequestSettings(undefined)).toBeUndefined();
  expect(parsePullRequestSettings('  ')).toBeUndefined();
  expect(parsePullRequestSettings('{"provider":"gitlab","credentialsSecretRef":{"name":"gl"}}')).toEqual({ provider: 'gitlab', credentialsSecretRef: { name: 'gl' } });
  expect(() => parsePullRequestSettings('provider: github')).toThrow(/^SLACK_PULL_REQUEST: not JSON/);
  expect(() => parsePullRequestSettings('["github"]')).toThrow('SLACK_PULL_REQUEST: must be a JSON object like spec.repository.pullRequest');
});

test('a task from Slack gets the pull request settings only when it names a repository', () => {
  const pr = { provider: 'github' as const, credentialsSecretRef: { name: 'github-pr' } };
  expect(newTaskSpec({ goal: 'g', repository: 'https://github.com/a/b.git', pool: 'p' }, pr)).toEqual({ goal: 'g', pool: 'p', repository: { url: 'https://github.com/a/b.git', pullRequest: pr } });
  expect(newTaskSpec({ goal: 'g' }, pr)).toEqual({ goal: 'g' });
  expect(newTaskSpec({ goal: 'g', repository: 'https://github.com/a/b.git' }, undefined)).toEqual({ goal: 'g', repository: { url: 'https://github.com/a/b.git' } });
});

// What a task created from Slack (`/autorun new`) gets beyond the fields a person types: the pull
// request settings the team configured once (SLACK_PULL_REQUEST, the chart's slack.pullRequest), so
// that a task started in Slack ends with a pull request without anyone writing a manifest.
import type { CodingTask } from '../../api/types.js';
import type { NewTask } from './control.js';

export type PullRequestSettings = NonNullable<NonNullable<CodingTask['spec']['repository']>['pullRequest']>;

/** SLACK_PULL_REQUEST's JSON; the CodingTask's own validation checks its fields when a task is made. */
export function parsePullRequestSettings(raw: string | undefined): PullRequestSettings | undefined {
  if (!raw?.trim()) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`SLACK_PULL_REQUEST: not JSON (${(e as Error).message}); expected e.g. {"provider":"github","credentialsSecretRef":{"name":"github-pr"}}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('SLACK_PULL_REQUEST: must be a JSON object like spec.repository.pullRequest');
  return v as PullRequestSettings;
}

/** The spec of a task from Slack: the typed fields, and the team's pull request settings when it names a repository. */
export function newTaskSpec(t: NewTask, pullRequest: PullRequestSettings | undefined): CodingTask['spec'] {
  const repository = t.repository ? { url: t.repository, ...(pullRequest ? { pullRequest } : {}) } : undefined;
  return { goal: t.goal, ...(t.pool ? { pool: t.pool } : {}), ...(repository ? { repository } : {}) } as CodingTask['spec'];
}

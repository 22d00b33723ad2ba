// The view of a task every reporter (Slack, terminal) renders: derived from status only, so nothing
// secret can leak into a report — the spec's goal text is the one free-form field and it is the
// user's own words.
import type { CodingTaskStatus } from '../api/types.js';


export interface TaskSummary {
  namespace: string;
  name: string;
  goal: string;
  phase: string;
  reason?: string;
  message?: string;
  iteration: number;
  tests?: string;
  cost?: string;
  branch?: string;
  commit?: string;
  pullRequestURL?: string;
  /** A Slack user group to mention when the task needs input (spec.escalation.notifyUserGroup). */
  notifyUserGroup?: string;
}

export function summarize(namespace: string, name: string, goal: string, status: CodingTaskStatus | undefined, notifyUserGroup?: string): TaskSummary {
  return {
    namespace,
    name,
    goal,
    phase: status?.phase ?? 'Pending',
    reason: status?.reason,
    message: status?.message,
    iteration: status?.iteration ?? 0,
    tests: status?.tests?.summary,
    cost: status?.cost?.summary,
    branch: status?.result?.branch,
    commit: status?.result?.commit,
    pullRequestURL: status?.result?.pullRequestURL,
    ...(notifyUserGroup ? { notifyUserGroup } : {}),
  };
}

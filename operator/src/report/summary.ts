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
}

export function summarize(namespace: string, name: string, goal: string, status: CodingTaskStatus | undefined): TaskSummary {
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
  };
}

// Tokens that must never be posted even if a user pastes one into a goal or an agent echoes one.
const SECRET_PATTERNS = [/sk-ant-[A-Za-z0-9_-]{8,}/g, /xox[abprs]-[A-Za-z0-9-]{8,}/g, /gh[pousr]_[A-Za-z0-9]{20,}/g, /AIza[0-9A-Za-z_-]{30,}/g];

export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, re) => t.replace(re, '[redacted]'), text);
}

// Who may act on which namespaces from Slack: a mapping of Slack user IDs (U…) and user-group IDs
// (S…) to namespaces ("*" for all), from SLACK_ACCESS (JSON; the chart's slack.access values).
// Everyone else gets an ephemeral refusal. Group membership is read with usergroups.users.list and
// kept for a minute, so removing someone from a group takes effect without a restart.
import type { App } from '@slack/bolt';

export interface AccessConfig {
  users?: Record<string, string[]>;
  userGroups?: Record<string, string[]>;
}

export class AccessError extends Error {}

/** Parses and checks SLACK_ACCESS; an error names the bad entry. */
export function parseAccess(text: string | undefined): AccessConfig {
  if (!text?.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AccessError(`SLACK_ACCESS is not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new AccessError('SLACK_ACCESS must be an object {"users": {...}, "userGroups": {...}}');
  const out: AccessConfig = {};
  for (const [key, re] of [['users', /^[UW][A-Z0-9]+$/], ['userGroups', /^S[A-Z0-9]+$/]] as const) {
    const m = (v as Record<string, unknown>)[key];
    if (m === undefined) continue;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new AccessError(`SLACK_ACCESS.${key} must map IDs to lists of namespaces`);
    for (const [id, ns] of Object.entries(m)) {
      if (!re.test(id)) throw new AccessError(`SLACK_ACCESS.${key}: ${JSON.stringify(id)} is not a Slack ${key === 'users' ? 'user ID (U…)' : 'user group ID (S…)'}`);
      if (!Array.isArray(ns) || ns.some((n) => typeof n !== 'string' || !/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.test(n))) {
        throw new AccessError(`SLACK_ACCESS.${key}.${id} must be a list of namespace names or "*"`);
      }
    }
    out[key] = m as Record<string, string[]>;
  }
  for (const k of Object.keys(v)) if (k !== 'users' && k !== 'userGroups') throw new AccessError(`SLACK_ACCESS: unknown key ${JSON.stringify(k)} (users, userGroups)`);
  return out;
}

const GROUP_TTL_MS = 60_000;

export class Access {
  private readonly groups = new Map<string, { at: number; members: Set<string> }>();

  constructor(
    private readonly config: AccessConfig,
    private readonly client: Pick<App['client'], 'usergroups'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The namespaces the user may act on ("*" among them for all). */
  async namespaces(user: string): Promise<Set<string>> {
    const out = new Set(this.config.users?.[user] ?? []);
    for (const [group, ns] of Object.entries(this.config.userGroups ?? {})) {
      if ((await this.members(group)).has(user)) for (const n of ns) out.add(n);
    }
    return out;
  }

  async allows(user: string, namespace: string): Promise<boolean> {
    const ns = await this.namespaces(user);
    return ns.has('*') || ns.has(namespace);
  }

  private async members(group: string): Promise<Set<string>> {
    const hit = this.groups.get(group);
    if (hit && this.now() - hit.at < GROUP_TTL_MS) return hit.members;
    const res = await this.client.usergroups.users.list({ usergroup: group });
    const members = new Set(res.users ?? []);
    this.groups.set(group, { at: this.now(), members });
    return members;
  }
}

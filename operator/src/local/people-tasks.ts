// The two controls that change which tasks the local tier runs, rather than how: `/autorun new`
// (a task created from Slack, run by the running `autorun run` like one from its files) and Retry
// (a failed task started again from iteration 1, in place: the local tier's tasks are keyed by name,
// so a retry keeps the name, the state file and the Slack thread). Both are checked as the files
// are — the CodingTask schema, the pool, the repository, the model credential — and refused with
// a message naming the field otherwise.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { API_VERSION, type AgentPool, type CodingTask } from '../api/types.js';
import { formatFieldError, validate } from '../api/validate.js';
import type { NewTask } from '../report/slack/control.js';
import { newTaskSpec, type PullRequestSettings } from '../report/slack/new-task.js';
import { PR_TOKEN_ENV, PR_TOKEN_FALLBACKS } from '../agent/credentials.js';
import { missingCredentials, resolvePools } from './pools.js';
import { checkLocalRemote, ensureFreshRepository, resolveRepositoryUrl } from './repo.js';
import type { LocalTask } from './runner.js';
import { STATE_VERSION, withPeople, type PeopleSpec, type StateDir, type TaskState } from './state.js';

export interface LocalTaskFactory {
  /** The pools of the files given to `autorun run` (the built-in default is added when named). */
  pools: AgentPool[];
  dir: StateDir;
  /** A relative repository path is taken from here (where `autorun run` was started). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  now?: () => Date;
  /** SLACK_PULL_REQUEST: what a new task with a repository gets as spec.repository.pullRequest. */
  pullRequest?: PullRequestSettings;
}

/** A CodingTask from Slack's fields, validated, with its pool and remote; added to `local`. */
export function createLocalTask(f: LocalTaskFactory, local: LocalTask[], namespace: string, t: NewTask, by: string): LocalTask {
  const taken = (n: string) => local.some((x) => x.state.task.metadata.name === n) || f.dir.load(n) !== undefined;
  const name = t.name ?? freshName(taken);
  if (taken(name)) throw new Error(`metadata.name: a task ${name} exists already in this run's state (${f.dir.root})`);
  const object = {
    apiVersion: API_VERSION,
    kind: 'CodingTask',
    metadata: { name, namespace },
    spec: newTaskSpec(t, f.pullRequest),
  };
  const r = validate('CodingTask', object);
  if (!r.ok) throw new Error(r.errors.map(formatFieldError).join('; '));
  const task = r.object;
  const { byTask, problems } = resolvePools([task], f.pools, f.env);
  if (problems.length) throw new Error(problems.join('; ').replace(/is not in the given files/, 'is not in the files given to `autorun run`'));
  const pool = byTask.get(name)!;
  const noKey = missingCredentials([pool], f.env);
  if (noKey) throw new Error(noKey.split('\n')[0]!);
  const pr = task.spec.repository?.pullRequest;
  const tokenVars = pr ? [PR_TOKEN_ENV, ...PR_TOKEN_FALLBACKS[pr.provider]] : [];
  if (pr && !tokenVars.some((v) => f.env[v])) throw new Error(`spec.repository.pullRequest (SLACK_PULL_REQUEST): no ${pr.provider} token: set ${tokenVars.join(' or ')} where autorun run runs`);
  const repositoryUrl = remoteOf(f, task);
  const now = (f.now ?? (() => new Date()))().toISOString();
  const state: TaskState = {
    version: STATE_VERSION,
    task: { ...task, metadata: { ...task.metadata, generation: 1, creationTimestamp: now } },
    pool: pool.metadata.name,
    source: `slack (${by})`,
    createdAt: now,
    status: {},
    stages: [],
    updatedAt: now,
    fromSlack: { repositoryUrl },
  };
  f.dir.save(state);
  const created: LocalTask = { state, pool, repositoryUrl, order: local.length };
  local.push(created);
  return created;
}

/** The repository a task from Slack works in: the URL or path given, else a fresh one in the state dir. */
function remoteOf(f: LocalTaskFactory, task: CodingTask): string {
  const name = task.metadata.name;
  if (task.spec.repository) {
    const url = resolveRepositoryUrl(task.spec.repository.url, join(f.cwd, 'slack'));
    const bad = checkLocalRemote(url);
    if (bad) throw new Error(`spec.repository.url: ${bad}`);
    return url;
  }
  const repo = f.dir.repoDir(name);
  ensureFreshRepository(repo, name, task.spec.goal, 'main');
  return repo;
}

function freshName(taken: (n: string) => boolean): string {
  for (;;) {
    const n = `slack-${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!taken(n)) return n;
  }
}

/**
 * Starts a failed task again from iteration 1 with the people's changes it had, the hint added as
 * guidance, and stop/suspend lifted. The stages of the failed run move to <task>/retries/<n>/ (a
 * stage result left in place would be taken as the new run's: stage names restart at i1).
 */
export function restartLocalTask(dir: StateDir, t: LocalTask, hint: string | undefined, now: Date): number {
  const s = t.state;
  const name = s.task.metadata.name;
  if (s.status.phase !== 'Failed') throw new Error(`${name} is ${s.status.phase ?? 'Pending'}: only a failed task can be retried`);
  const n = (s.retries ?? 0) + 1;
  const stages = join(dir.taskDir(name), 'stages');
  if (existsSync(stages)) {
    const to = join(dir.taskDir(name), 'retries', String(n));
    mkdirSync(to, { recursive: true });
    renameSync(stages, join(to, 'stages'));
  }
  const before: PeopleSpec = s.people ?? {};
  const people: PeopleSpec = { ...before, stop: false, suspend: false, ...(hint ? { guidance: [...(before.guidance ?? []), hint] } : {}) };
  const base = unapplyPeople(s.task.spec, before);
  const at = now.toISOString();
  t.state = {
    ...s,
    task: { ...s.task, spec: withPeople(base, people), metadata: { ...s.task.metadata, generation: (s.task.metadata.generation ?? 1) + 1, creationTimestamp: at } },
    people,
    status: {},
    stages: [],
    createdAt: at,
    updatedAt: at,
    retries: n,
  };
  dir.save(t.state);
  return n;
}

/** The spec before `people` was applied (withPeople's inverse for the fields it touches). */
export function unapplyPeople(spec: CodingTask['spec'], people: PeopleSpec): CodingTask['spec'] {
  const out: Record<string, unknown> = { ...spec };
  const g = people.guidance?.length ?? 0;
  if (g) out.guidance = (spec.guidance ?? []).slice(0, (spec.guidance?.length ?? 0) - g);
  const n = people.grants?.length ?? 0;
  if (n && spec.escalation) out.escalation = { ...spec.escalation, grants: (spec.escalation.grants ?? []).slice(0, (spec.escalation.grants?.length ?? 0) - n) };
  return out as unknown as CodingTask['spec'];
}

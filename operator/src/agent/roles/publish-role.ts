// The publish role: opens the pull request (GitHub, through @octokit/rest) or merge request
// (GitLab, through @gitbeaker/rest) from the task branch into the base, or updates the one already
// open for that branch, so a re-run never duplicates it. It is the only stage that holds the PR
// token (AUTORUN_PR_TOKEN: a secretKeyRef in its Pod, the user's environment locally), and it runs
// no git and no generated code: the branch was pushed by the earlier stages.
import { Octokit } from '@octokit/rest';
import { Gitlab } from '@gitbeaker/rest';
import type { StageResult } from '../../api/types.js';
import type { AgentContext, PullRequestProvider } from '../context.js';
import { stageRefs } from '../context.js';
import { PR_TOKEN_ENV, PR_TOKEN_FALLBACKS } from '../credentials.js';
import type { Transcript } from '../transcript.js';


const DEFAULT_API: Record<PullRequestProvider, string> = { github: 'https://api.github.com', gitlab: 'https://gitlab.com' };
/** GitLab marks a draft by its title. */
const GITLAB_DRAFT = 'Draft: ';

export interface PullRequestRef {
  url: string;
  number: number;
  action: 'opened' | 'updated';
}

export interface PublishRequest {
  provider: PullRequestProvider;
  apiURL: string;
  token: string;
  repository: string;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

/** owner/name (or a GitLab project path) from a clone URL: https://host/a/b(.git), ssh://…, git@host:a/b.git. */
export function repositoryPath(url: string): string | undefined {
  const m = /^(?:https?|ssh):\/\/[^/]+\/(.+?)(?:\.git)?\/?$/.exec(url) ?? /^[^@/:]+@[^:/]+:(.+?)(?:\.git)?\/?$/.exec(url);
  const path = m?.[1];
  return path && path.includes('/') ? path : undefined;
}

export class PublishError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    /** Outcome Error (retrying cannot help: bad token, no such repository) or Failed (retry). */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

function httpStatus(e: unknown): number | undefined {
  const err = e as { status?: number; cause?: { response?: { status?: number } } };
  return err.status ?? err.cause?.response?.status;
}

function classify(e: unknown, what: string): PublishError {
  const status = httpStatus(e);
  const msg = (e as Error).message || String(e);
  if (status === 401) return new PublishError(`${what}: the token was refused (401): check the pull-request credentials Secret`, 'Unauthorized', true);
  if (status === 403) return new PublishError(`${what}: the token may not do this (403): it needs pull-request write access to the repository`, 'Forbidden', true);
  if (status === 404) return new PublishError(`${what}: repository not found (404) or not visible to the token`, 'RepositoryNotFound', true);
  if (status === 422 || status === 409) return new PublishError(`${what}: rejected (${status}): ${msg}`, 'Rejected', true);
  return new PublishError(`${what}: ${status ? `HTTP ${status}: ` : ''}${msg}`, 'PublishFailed', false);
}

const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function github(r: PublishRequest): Promise<PullRequestRef> {
  const [owner, repo] = r.repository.split('/') as [string, string];
  // Octokit logs failed requests to the console; the transcript records the outcome instead.
  const gh = new Octokit({ auth: r.token, baseUrl: r.apiURL.replace(/\/$/, ''), userAgent: 'autorun', log: QUIET });
  const open = await gh.rest.pulls.list({ owner, repo, head: `${owner}:${r.head}`, base: r.base, state: 'open', per_page: 1 });
  const existing = open.data[0];
  if (existing) {
    const { data } = await gh.rest.pulls.update({ owner, repo, pull_number: existing.number, title: r.title, body: r.body });
    return { url: data.html_url, number: data.number, action: 'updated' };
  }
  const { data } = await gh.rest.pulls.create({ owner, repo, head: r.head, base: r.base, title: r.title, body: r.body, draft: r.draft });
  return { url: data.html_url, number: data.number, action: 'opened' };
}

async function gitlab(r: PublishRequest): Promise<PullRequestRef> {
  const api = new Gitlab({ host: r.apiURL.replace(/\/$/, ''), token: r.token });
  const title = r.draft && !r.title.startsWith(GITLAB_DRAFT) ? `${GITLAB_DRAFT}${r.title}` : r.title;
  const open = await api.MergeRequests.all({ projectId: r.repository, sourceBranch: r.head, targetBranch: r.base, state: 'opened', perPage: 1, maxPages: 1 });
  const existing = open[0];
  if (existing) {
    // An existing draft stays a draft unless the person took the prefix off; ours is kept as asked.
    const data = await api.MergeRequests.edit(r.repository, existing.iid, { title, description: r.body });
    return { url: data.web_url, number: data.iid, action: 'updated' };
  }
  const data = await api.MergeRequests.create(r.repository, r.head, r.base, title, { description: r.body });
  return { url: data.web_url, number: data.iid, action: 'opened' };
}

/** Opens or updates the request; throws PublishError. */
export async function publish(r: PublishRequest): Promise<PullRequestRef> {
  const what = `${r.provider === 'github' ? 'pull request' : 'merge request'} ${r.repository} ${r.head} → ${r.base}`;
  try {
    return await (r.provider === 'github' ? github(r) : gitlab(r));
  } catch (e) {
    throw e instanceof PublishError ? e : classify(e, what);
  }
}

export function publishRequest(ctx: AgentContext, env: NodeJS.ProcessEnv): PublishRequest {
  const pr = ctx.pullRequest;
  if (!pr) throw new PublishError('the publish stage has no pull request settings (AUTORUN_PR_PROVIDER)', 'BadContext', true);
  const names = [PR_TOKEN_ENV, ...PR_TOKEN_FALLBACKS[pr.provider]];
  const token = names.map((n) => env[n]).find((v) => v);
  if (!token) {
    throw new PublishError(`no token for the ${pr.provider} API: set spec.repository.pullRequest.credentialsSecretRef (cluster) or ${names.join(' or ')} (local)`, 'NoCredentials', true);
  }
  const repository = pr.repository ?? repositoryPath(ctx.repository.url);
  if (!repository) {
    throw new PublishError(`cannot tell the repository from ${ctx.repository.url}: set spec.repository.pullRequest.repository (owner/name)`, 'BadContext', true);
  }
  if (pr.provider === 'github' && repository.split('/').length !== 2) {
    throw new PublishError(`spec.repository.pullRequest.repository must be owner/name on GitHub, got ${repository}`, 'BadContext', true);
  }
  return {
    provider: pr.provider,
    apiURL: pr.apiURL ?? DEFAULT_API[pr.provider],
    token,
    repository,
    head: stageRefs(ctx).branch,
    base: ctx.repository.baseRef ?? 'main',
    title: pr.title,
    body: pr.body,
    draft: pr.draft ?? false,
  };
}

export async function publishRole(ctx: AgentContext, env: NodeJS.ProcessEnv, transcript: Transcript): Promise<StageResult> {
  try {
    const req = publishRequest(ctx, env);
    transcript.log('publish', { provider: req.provider, apiURL: req.apiURL, repository: req.repository, head: req.head, base: req.base, draft: req.draft });
    const pr = await publish(req);
    transcript.log('published', { ...pr });
    const kind = req.provider === 'github' ? 'pull request' : 'merge request';
    return { role: 'publish', outcome: 'Succeeded', summary: `${pr.action} ${kind} #${pr.number}: ${pr.url}`, pullRequestURL: pr.url, ...(ctx.codeRef ? { commit: ctx.codeRef } : {}) };
  } catch (e) {
    const err = e instanceof PublishError ? e : new PublishError((e as Error).message, 'PublishFailed', false);
    return { role: 'publish', outcome: err.permanent ? 'Error' : 'Failed', reason: err.reason, summary: err.message };
  }
}

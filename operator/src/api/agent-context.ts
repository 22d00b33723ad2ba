// The hand-over contract of one stage: everything the agent program needs, handed over by the
// operator (Pod env / mounted JSON file) or the local tier (process env). Here in api/ because both
// shells write it and the agent reads it; one interface and one env mapping, so
// `contextFromEnv(contextToEnv(c))` round-trips. Pure: the agent's file reading is agent/context.ts.
import { poolDefaults } from './pool-roles.js';
import type { Role } from './types.js';

export type Language = 'python' | 'javascript' | 'typescript' | 'go' | 'other';
export type Provider = 'anthropic' | 'vertex' | 'openai-compatible' | 'local';
export const PROVIDERS: readonly Provider[] = ['anthropic', 'vertex', 'openai-compatible', 'local'];
export type EngineName = 'sdk' | 'claude-code';
export const ROLES: readonly Role[] = ['code', 'test', 'run', 'repair', 'acceptance', 'publish'];
export type PullRequestProvider = 'github' | 'gitlab';

export interface AgentContext {
  /** CodingTask name; names the stage refs refs/autorun/<task>/{code,tests}. */
  task: string;
  role: Role;
  /** Loop iteration, from 1 (commit messages say which). */
  iteration: number;
  /** Retry number of this stage after an infrastructure failure, from 0. */
  attempt: number;
  /** spec.goal: what to build, in plain language. */
  goal: string;
  language: Language;
  repository: {
    /** Clone URL: https://, ssh://, file:// or a local path. */
    url: string;
    /** Branch, tag or commit to start from; the remote's default branch when unset. */
    baseRef?: string;
    /** Task branch that carries the merged code + tests; defaults to autorun/<task>. */
    branch?: string;
  };
  /** Commit or ref of the code; defaults to refs/autorun/<task>/code. */
  codeRef?: string;
  /** Commit or ref of the tests; defaults to refs/autorun/<task>/tests. */
  testsRef?: string;
  /** Failing test names of the last run (repair). */
  failing?: string[];
  /** Summaries of previous repair attempts, oldest first (repair). */
  previousAttempts?: string[];
  /** Repair after hidden acceptance tests failed: how many (nothing else of them is ever given). */
  hiddenFailed?: number;
  /** The task author's hint for that case (spec.test.acceptance.hint). */
  acceptanceHint?: string;
  /** Repair after the test command hung (killed at its timeout). */
  testsHung?: boolean;
  /** The test that was running when it was killed, when known. */
  hungTest?: string;
  /** JSON FailureReport file written by the last run stage (repair). */
  failureReportPath?: string;
  /** Tests the repair agent flagged as wrong (test role revises exactly these). */
  flaggedTests?: string[];
  /** Code role after a stall: start again from the goal and the existing tests. */
  freshStart?: boolean;
  /** Hints from people (spec.guidance), for repair and a fresh start. */
  guidance?: string[];
  test: {
    /** Shell command that runs the tests; detected from the language when unset. */
    command?: string;
    /** Seconds one test run may take before its process group is killed. */
    timeoutSeconds: number;
    allowRepairToEditTests: boolean;
    /** Directory of hidden acceptance test files (acceptance role). */
    acceptanceDir?: string;
    /** Command for the acceptance tests; defaults to the detected command over the hidden tests. */
    acceptanceCommand?: string;
  };
  model: {
    provider: Provider;
    name: string;
    /** API endpoint (a proxy, a fake server, or the openai-compatible server). */
    baseURL?: string;
    maxTurns: number;
    /** Most US dollars this stage may spend on the model; the loop stops with reason Budget. */
    budgetUSD?: number;
    /**
     * The stage runs beside another that may pass its share by one call: it checks before each call
     * that the call's worst case fits (engines/budget.ts), so the task passes its cap by one call at most.
     */
    budgetStrict?: boolean;
    /** max_tokens per model response. */
    maxTokens?: number;
    /** Seconds of model outage (429, 529, 5xx, no answer) a stage rides out; the pool's spec.modelRetryWindow. */
    retryWindowSeconds?: number;
    /** Seconds one model request may take (openai-compatible). */
    requestTimeoutSeconds?: number;
    /** openai-compatible: native (the server parses calls) or grammar (a JSON schema makes every turn one call). */
    toolCalls?: 'native' | 'grammar';
    /** The pool's price when the built-in table has none (a self-hosted or gateway model). */
    price?: { inputUSDPerMTok: number; outputUSDPerMTok: number };
  };
  engine: EngineName;
  /** Directory the agent clones into (an emptyDir in a Pod). */
  workspace: string;
  /** Where the StageResult JSON goes (the kubelet reads /dev/termination-log). */
  terminationPath: string;
  /** Where the run role writes the full failure report (JSON). */
  reportPath?: string;
  /** Publish only: where and what to open (spec.repository.pullRequest and the core's text). */
  pullRequest?: {
    provider: PullRequestProvider;
    /** API base URL; the provider's public API when unset. */
    apiURL?: string;
    /** owner/name or the GitLab project path; derived from repository.url when unset. */
    repository?: string;
    draft?: boolean;
    title: string;
    body: string;
  };
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list';
interface Field {
  env: string;
  path: string;
  kind: Kind;
}

/** The env variables, one per context field. Lists are JSON arrays. */
export const CONTEXT_ENV: readonly Field[] = [
  { env: 'AUTORUN_TASK', path: 'task', kind: 'string' },
  { env: 'AUTORUN_ROLE', path: 'role', kind: 'string' },
  { env: 'AUTORUN_ITERATION', path: 'iteration', kind: 'int' },
  { env: 'AUTORUN_ATTEMPT', path: 'attempt', kind: 'int' },
  { env: 'AUTORUN_GOAL', path: 'goal', kind: 'string' },
  { env: 'AUTORUN_LANGUAGE', path: 'language', kind: 'string' },
  { env: 'AUTORUN_REPO_URL', path: 'repository.url', kind: 'string' },
  { env: 'AUTORUN_BASE_REF', path: 'repository.baseRef', kind: 'string' },
  { env: 'AUTORUN_BRANCH', path: 'repository.branch', kind: 'string' },
  { env: 'AUTORUN_CODE_REF', path: 'codeRef', kind: 'string' },
  { env: 'AUTORUN_TESTS_REF', path: 'testsRef', kind: 'string' },
  { env: 'AUTORUN_FAILING', path: 'failing', kind: 'list' },
  { env: 'AUTORUN_PREVIOUS_ATTEMPTS', path: 'previousAttempts', kind: 'list' },
  { env: 'AUTORUN_FAILURE_REPORT', path: 'failureReportPath', kind: 'string' },
  { env: 'AUTORUN_HIDDEN_FAILED', path: 'hiddenFailed', kind: 'int' },
  { env: 'AUTORUN_TESTS_HUNG', path: 'testsHung', kind: 'bool' },
  { env: 'AUTORUN_HUNG_TEST', path: 'hungTest', kind: 'string' },
  { env: 'AUTORUN_ACCEPTANCE_HINT', path: 'acceptanceHint', kind: 'string' },
  { env: 'AUTORUN_FLAGGED_TESTS', path: 'flaggedTests', kind: 'list' },
  { env: 'AUTORUN_FRESH_START', path: 'freshStart', kind: 'bool' },
  { env: 'AUTORUN_GUIDANCE', path: 'guidance', kind: 'list' },
  { env: 'AUTORUN_TEST_COMMAND', path: 'test.command', kind: 'string' },
  { env: 'AUTORUN_TEST_TIMEOUT_SECONDS', path: 'test.timeoutSeconds', kind: 'int' },
  { env: 'AUTORUN_ALLOW_REPAIR_TO_EDIT_TESTS', path: 'test.allowRepairToEditTests', kind: 'bool' },
  { env: 'AUTORUN_ACCEPTANCE_DIR', path: 'test.acceptanceDir', kind: 'string' },
  { env: 'AUTORUN_ACCEPTANCE_COMMAND', path: 'test.acceptanceCommand', kind: 'string' },
  { env: 'AUTORUN_MODEL_PROVIDER', path: 'model.provider', kind: 'string' },
  { env: 'AUTORUN_MODEL_NAME', path: 'model.name', kind: 'string' },
  { env: 'AUTORUN_MODEL_BASE_URL', path: 'model.baseURL', kind: 'string' },
  { env: 'AUTORUN_MAX_TURNS', path: 'model.maxTurns', kind: 'int' },
  { env: 'AUTORUN_BUDGET_USD', path: 'model.budgetUSD', kind: 'number' },
  { env: 'AUTORUN_BUDGET_STRICT', path: 'model.budgetStrict', kind: 'bool' },
  { env: 'AUTORUN_MAX_TOKENS', path: 'model.maxTokens', kind: 'int' },
  { env: 'AUTORUN_MODEL_RETRY_WINDOW_SECONDS', path: 'model.retryWindowSeconds', kind: 'int' },
  { env: 'AUTORUN_MODEL_REQUEST_TIMEOUT_SECONDS', path: 'model.requestTimeoutSeconds', kind: 'int' },
  { env: 'AUTORUN_MODEL_TOOL_CALLS', path: 'model.toolCalls', kind: 'string' },
  { env: 'AUTORUN_MODEL_PRICE_INPUT', path: 'model.price.inputUSDPerMTok', kind: 'number' },
  { env: 'AUTORUN_MODEL_PRICE_OUTPUT', path: 'model.price.outputUSDPerMTok', kind: 'number' },
  { env: 'AUTORUN_ENGINE', path: 'engine', kind: 'string' },
  { env: 'AUTORUN_WORKSPACE', path: 'workspace', kind: 'string' },
  { env: 'AUTORUN_TERMINATION_PATH', path: 'terminationPath', kind: 'string' },
  { env: 'AUTORUN_REPORT_PATH', path: 'reportPath', kind: 'string' },
  { env: 'AUTORUN_PR_PROVIDER', path: 'pullRequest.provider', kind: 'string' },
  { env: 'AUTORUN_PR_API_URL', path: 'pullRequest.apiURL', kind: 'string' },
  { env: 'AUTORUN_PR_REPOSITORY', path: 'pullRequest.repository', kind: 'string' },
  { env: 'AUTORUN_PR_DRAFT', path: 'pullRequest.draft', kind: 'bool' },
  { env: 'AUTORUN_PR_TITLE', path: 'pullRequest.title', kind: 'string' },
  { env: 'AUTORUN_PR_BODY', path: 'pullRequest.body', kind: 'string' },
];

/** Names the mounted JSON file (an AgentContext, possibly partial) read before the env. */
export const CONTEXT_FILE_ENV = 'AUTORUN_CONTEXT_FILE';

/**
 * Where an LLM stage's agent keeps its repository, outside the work tree the model's commands can
 * write (git.ts says why): the local tier's stage directory (covered in the command sandbox); an LLM
 * Pod's private /tmp when unset.
 */
export const GIT_DIR_ENV = 'AUTORUN_GIT_DIR';

export const CONTEXT_DEFAULTS = {
  iteration: 1,
  attempt: 0,
  language: 'python' as Language,
  testTimeoutSeconds: 600,
  workspace: '/workspace',
  terminationPath: '/dev/termination-log',
};

export class ContextError extends Error {}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** The env a shell sets for a stage (Pod env or child process env). Unset fields are left out. */
export function contextToEnv(ctx: AgentContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of CONTEXT_ENV) {
    const v = getPath(ctx, f.path);
    if (v === undefined || v === null) continue;
    env[f.env] = f.kind === 'list' ? JSON.stringify(v) : String(v);
  }
  return env;
}

function parseValue(f: Field, raw: string): unknown {
  switch (f.kind) {
    case 'string':
      return raw;
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new ContextError(`${f.env} must be an integer, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ContextError(`${f.env} must be a number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool':
      if (!/^(true|false|1|0)$/i.test(raw)) throw new ContextError(`${f.env} must be true or false`);
      return /^(true|1)$/i.test(raw);
    case 'list': {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        throw new ContextError(`${f.env} must be a JSON array of strings`);
      }
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ContextError(`${f.env} must be a JSON array of strings`);
      return v;
    }
  }
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ContextError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Applies defaults and checks the fields every role needs. */
export function completeContext(partial: Record<string, unknown>): AgentContext {
  const p = structuredClone(partial) as Record<string, unknown> & Partial<AgentContext>;
  const need = (path: string): void => {
    const v = getPath(p, path);
    if (v === undefined || v === '') throw new ContextError(`missing ${path} (env ${CONTEXT_ENV.find((f) => f.path === path)?.env})`);
  };
  need('task');
  need('role');
  need('repository.url');
  const role = oneOf('role', p.role, ROLES);
  if (role === 'code' || role === 'test' || role === 'repair') need('goal');
  if (role === 'publish') {
    need('pullRequest.provider');
    need('pullRequest.title');
    oneOf('pullRequest.provider', getPath(p, 'pullRequest.provider'), ['github', 'gitlab'] as const);
    setPath(p, 'pullRequest.body', getPath(p, 'pullRequest.body') ?? '');
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(String(p.task))) throw new ContextError(`task ${JSON.stringify(p.task)} is not a Kubernetes object name`);
  const test = (p.test ?? {}) as Partial<AgentContext['test']>;
  const model = (p.model ?? {}) as Partial<AgentContext['model']>;
  return {
    ...(p as AgentContext),
    role,
    iteration: p.iteration ?? CONTEXT_DEFAULTS.iteration,
    attempt: p.attempt ?? CONTEXT_DEFAULTS.attempt,
    goal: p.goal ?? '',
    language: oneOf('language', p.language ?? CONTEXT_DEFAULTS.language, ['python', 'javascript', 'typescript', 'go', 'other'] as const),
    test: {
      ...test,
      timeoutSeconds: test.timeoutSeconds ?? CONTEXT_DEFAULTS.testTimeoutSeconds,
      allowRepairToEditTests: test.allowRepairToEditTests ?? false,
    },
    model: {
      ...model,
      provider: oneOf('model.provider', model.provider ?? poolDefaults().modelProvider, PROVIDERS),
      name: model.name ?? poolDefaults().modelName,
      maxTurns: model.maxTurns ?? poolDefaults().llm.maxTurns,
    },
    engine: oneOf('engine', p.engine ?? poolDefaults().llm.engine, ['sdk', 'claude-code'] as const),
    workspace: p.workspace ?? CONTEXT_DEFAULTS.workspace,
    terminationPath: p.terminationPath ?? CONTEXT_DEFAULTS.terminationPath,
  };
}

/** Reads the raw (not yet completed) fields from env; env values override `base` (a context file). */
export function rawContextFromEnv(env: NodeJS.ProcessEnv, base: Record<string, unknown> = {}): Record<string, unknown> {
  const out = structuredClone(base);
  for (const f of CONTEXT_ENV) {
    const raw = env[f.env];
    if (raw === undefined || raw === '') continue;
    setPath(out, f.path, parseValue(f, raw));
  }
  return out;
}

export function contextFromEnv(env: NodeJS.ProcessEnv): AgentContext {
  return completeContext(rawContextFromEnv(env));
}


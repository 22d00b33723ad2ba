import { contextFromEnv } from '../../../operator/src/agent/context.js';
import { vertexSettings } from '../../../operator/src/agent/engines/vertex.js';
import { buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { validate } from '../../../operator/src/api/validate.js';
import type { AgentPool, CodingTask } from '../../../operator/src/api/types.js';
import { defaultPool } from '../../../operator/src/local/pools.js';
import { stageEnv, type StageEnvInput } from '../../../operator/src/local/stage-env.js';
import { STAGE_MARKER_ENV } from '../../../operator/src/local/stage-process.js';
import { StateDir } from '../../../operator/src/local/state.js';

function task(spec: Record<string, unknown> = {}): CodingTask {
  const r = validate('CodingTask', { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name: 'fizzbuzz' }, spec: { goal: 'fizzbuzz', ...spec } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

const parent = {
  PATH: '/usr/bin',
  HOME: '/home/me',
  ANTHROPIC_API_KEY: 'sk-ant-secret-0123456789',
  GITHUB_TOKEN: 'ghp_secret',
  AUTORUN_CODE_REF: 'stale-from-the-parent',
  AUTORUN_CONTEXT_FILE: '/etc/stale.json',
};

function input(role: 'code' | 'run' | 'repair' | 'acceptance', extra: Partial<StageEnvInput> = {}, pool: AgentPool = defaultPool({ AUTORUN_MODEL_PROVIDER: 'anthropic' })): StageEnvInput {
  const files = new StateDir('/state').stageFiles('fizzbuzz', `fizzbuzz-i2-${role}-a0`);
  return { task: task({ limits: { maxIterations: 3 } }), pool, key: { iteration: 2, role, attempt: 0 }, context: {}, files, repositoryUrl: '/state/fizzbuzz/repo', marker: 'm', ...extra };
}

describe('stageEnv', () => {
  test('the agent reads back the context the local tier meant', () => {
    const i = input('repair', { context: { codeRef: 'c1', testsRef: 't1', failing: ['tests/test_f.py::test_15'], previousAttempts: [], budgetUSD: 4.5 }, failureReportPath: '/r.json' });
    const ctx = contextFromEnv(stageEnv(i, parent));
    expect(ctx).toMatchObject({
      task: 'fizzbuzz',
      role: 'repair',
      iteration: 2,
      attempt: 0,
      goal: 'fizzbuzz',
      language: 'python',
      repository: { url: '/state/fizzbuzz/repo' },
      codeRef: 'c1',
      testsRef: 't1',
      failing: ['tests/test_f.py::test_15'],
      failureReportPath: '/r.json',
      model: { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 50, budgetUSD: 4.5 },
      engine: 'sdk',
      workspace: '/state/fizzbuzz/stages/fizzbuzz-i2-repair-a0/workspace',
      terminationPath: '/state/fizzbuzz/stages/fizzbuzz-i2-repair-a0/result.json',
    });
    expect(ctx.reportPath).toBeUndefined();
    // No repository in the spec: the agent starts from the fresh repository's default branch.
    expect(ctx.repository.baseRef).toBeUndefined();
  });

  test('LLM roles keep the API key; no stale AUTORUN_* variable leaks in', () => {
    const env = stageEnv(input('code'), parent);
    expect(env.ANTHROPIC_API_KEY).toBe(parent.ANTHROPIC_API_KEY);
    expect(env.AUTORUN_CODE_REF).toBeUndefined();
    expect(env.AUTORUN_CONTEXT_FILE).toBeUndefined();
    expect(env[STAGE_MARKER_ENV]).toBe('m');
  });

  test('only the publish stage gets AUTORUN_PR_TOKEN, with where and what to open; run stages no token at all', () => {
    const tokens = { ...parent, AUTORUN_PR_TOKEN: 'ghp_pr0123456789abcdef0123456789', GITLAB_TOKEN: 'glpat-0123456789abcdefghij' };
    for (const role of ['code', 'repair'] as const) expect(stageEnv(input(role), tokens).AUTORUN_PR_TOKEN).toBeUndefined();
    for (const role of ['run', 'acceptance'] as const) {
      const env = stageEnv(input(role), tokens);
      expect(['AUTORUN_PR_TOKEN', 'GITHUB_TOKEN', 'GITLAB_TOKEN'].filter((k) => k in env)).toEqual([]);
    }
    const t = task({ repository: { url: '/srv/fizzbuzz.git', pullRequest: { provider: 'github', repository: 'acme/fizzbuzz', apiURL: 'http://127.0.0.1:9' } } });
    const env = stageEnv({ ...input('code'), task: t, key: { iteration: 2, role: 'publish', attempt: 0 }, context: { pullRequest: { title: 'T', body: 'B' } } }, tokens);
    expect(env.AUTORUN_PR_TOKEN).toBe(tokens.AUTORUN_PR_TOKEN);
    expect(env.GITHUB_TOKEN).toBe(parent.GITHUB_TOKEN);
    expect(contextFromEnv(env).pullRequest).toEqual({ provider: 'github', repository: 'acme/fizzbuzz', apiURL: 'http://127.0.0.1:9', draft: false, title: 'T', body: 'B' });
  });

  test('every stage\'s command sandbox covers the state directory (the sibling stages and other tasks)', () => {
    for (const role of ['code', 'run'] as const) expect(stageEnv(input(role, { stateRoot: '/state' }), parent).AUTORUN_SANDBOX_HIDE).toBe('/state');
    expect(stageEnv(input('code'), parent).AUTORUN_SANDBOX_HIDE).toBeUndefined();
  });

  test('no stage gets the Slack settings: the run reports to Slack itself', () => {
    const slack = { ...parent, SLACK_BOT_TOKEN: 'xoxb-0123456789-abcdef', SLACK_CHANNEL: 'C1', SLACK_API_URL: 'http://127.0.0.1:9/api/' };
    for (const role of ['code', 'repair', 'run'] as const) expect(Object.keys(stageEnv(input(role), slack)).filter((k) => k.startsWith('SLACK_'))).toEqual([]);
  });

  test('run and acceptance execute generated code: no secret at all', () => {
    for (const role of ['run', 'acceptance'] as const) {
      const env = stageEnv(input(role, { acceptanceDir: '/state/fizzbuzz/acceptance' }), parent);
      expect(env.ANTHROPIC_API_KEY).toBeUndefined();
      expect(env.GITHUB_TOKEN).toBeUndefined();
      expect(env.PATH).toBe('/usr/bin');
      expect(env.AUTORUN_REPORT_PATH).toBe(`/state/fizzbuzz/stages/fizzbuzz-i2-${role}-a0/failure-report.json`);
    }
    expect(stageEnv(input('acceptance', { acceptanceDir: '/acc' }), parent).AUTORUN_ACCEPTANCE_DIR).toBe('/acc');
    expect(stageEnv(input('run', { acceptanceDir: '/acc' }), parent).AUTORUN_ACCEPTANCE_DIR).toBeUndefined();
  });

  test('GPU devices: the given ones, none (empty) for a stage without, untouched on a machine without GPUs', () => {
    expect(stageEnv(input('run', { devices: ['1'] }), parent).CUDA_VISIBLE_DEVICES).toBe('1');
    expect(stageEnv(input('code', { devices: [] }), parent).CUDA_VISIBLE_DEVICES).toBe('');
    expect(stageEnv(input('code'), { ...parent, CUDA_VISIBLE_DEVICES: '0' }).CUDA_VISIBLE_DEVICES).toBe('0');
  });

  test('pool settings: engine, model, role env literals', () => {
    const base = defaultPool({ AUTORUN_MODEL_PROVIDER: 'anthropic' });
    const pool = {
      ...base,
      spec: {
        ...base.spec,
        model: { provider: 'openai-compatible', name: 'qwen', baseURL: 'http://127.0.0.1:8000/v1' },
        roles: { ...base.spec.roles, code: { ...base.spec.roles!.code, engine: 'claude-code', maxTurns: 7, env: [{ name: 'FOO', value: 'bar' }] } },
      },
    } as AgentPool;
    const env = stageEnv(input('code', {}, pool), parent);
    expect(env.FOO).toBe('bar');
    expect(contextFromEnv(env)).toMatchObject({ engine: 'claude-code', model: { provider: 'openai-compatible', name: 'qwen', baseURL: 'http://127.0.0.1:8000/v1', maxTurns: 7 } });
  });

  describe('a Vertex pool', () => {
    const vertexPool = (): AgentPool => {
      const r = validate('AgentPool', {
        apiVersion: 'autorun.dev/v1alpha1',
        kind: 'AgentPool',
        metadata: { name: 'vx' },
        spec: { model: { provider: 'vertex', name: 'claude-sonnet-4-5@20250929', vertex: { projectID: 'proj-1', region: 'us-east5' } } },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.object;
    };

    test('its region and project reach the LLM stages under the names the agent reads, over ours', () => {
      const env = stageEnv(input('code', {}, vertexPool()), { ...parent, CLOUD_ML_REGION: 'europe-west4', ANTHROPIC_VERTEX_PROJECT_ID: 'someone-else' });
      expect(env.CLOUD_ML_REGION).toBe('us-east5');
      expect(env.ANTHROPIC_VERTEX_PROJECT_ID).toBe('proj-1');
      const ctx = contextFromEnv(env);
      expect(ctx.model.provider).toBe('vertex');
      // What the engines make of it: the agent side of the same variables.
      expect(vertexSettings(ctx.model, env)).toEqual({ region: 'us-east5', projectId: 'proj-1' });
    });

    test('a stage that runs generated code gets none of it, as its Pod gets none', () => {
      for (const role of ['run', 'acceptance'] as const) {
        const env = stageEnv(input(role, {}, vertexPool()), parent);
        expect(env.CLOUD_ML_REGION).toBeUndefined();
        expect(env.ANTHROPIC_VERTEX_PROJECT_ID).toBeUndefined();
      }
    });

    test('the local stage and the Pod carry the same Vertex variables', () => {
      const pool = vertexPool();
      const t = { ...task(), metadata: { name: 'fizzbuzz', namespace: 'team-a', uid: 'u1' } } as CodingTask;
      const pod = buildStagePod({ task: t, pool, key: { iteration: 2, role: 'code', attempt: 0 }, name: 'fizzbuzz-i2-code-a0', context: {} });
      const podEnv = Object.fromEntries((pod.spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
      const local = stageEnv(input('code', {}, pool), parent);
      for (const name of ['CLOUD_ML_REGION', 'ANTHROPIC_VERTEX_PROJECT_ID']) {
        expect(podEnv[name]).toBeDefined();
        expect(local[name]).toBe(podEnv[name]);
      }
    });

    test('an Anthropic pool sets no Vertex variable', () => {
      const env = stageEnv(input('code'), parent);
      expect(Object.keys(env).filter((k) => k === 'CLOUD_ML_REGION' || k === 'ANTHROPIC_VERTEX_PROJECT_ID')).toEqual([]);
    });
  });
});

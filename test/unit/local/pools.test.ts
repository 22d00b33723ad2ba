import { validate } from '../../../operator/src/api/validate.js';
import type { AgentPool, CodingTask } from '../../../operator/src/api/types.js';
import { defaultPool, missingCredentials, resolvePools } from '../../../operator/src/local/pools.js';

const task = (name: string, pool?: string): CodingTask => {
  const r = validate('CodingTask', { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name }, spec: { goal: 'g', ...(pool ? { pool } : {}) } });
  if (!r.ok) throw new Error('invalid');
  return r.object;
};

const vllm = (): AgentPool => {
  const r = validate('AgentPool', { apiVersion: 'autorun.dev/v1alpha1', kind: 'AgentPool', metadata: { name: 'vllm' }, spec: { model: { provider: 'openai-compatible', baseURL: 'http://127.0.0.1:8000/v1' } } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
};

describe('pools', () => {
  test('the built-in default pool: CRD defaults, model from the environment, and valid', () => {
    const p = defaultPool({ AUTORUN_MODEL: 'claude-opus-4-1' });
    expect(p.spec).toMatchObject({ maxConcurrentTasks: 4, model: { provider: 'anthropic', name: 'claude-opus-4-1' }, roles: { run: { gpus: 1 } } });
    expect(defaultPool({}).spec.model?.name).toBe('claude-sonnet-4-6');
    expect(validate('AgentPool', p).ok).toBe(true);
  });

  test('a task gets its named pool, or the default; an unknown pool is a mistake', () => {
    const { byTask, problems } = resolvePools([task('a'), task('b', 'vllm'), task('c', 'nope')], [vllm()], {});
    expect(byTask.get('a')?.metadata.name).toBe('default');
    expect(byTask.get('b')?.metadata.name).toBe('vllm');
    expect(byTask.has('c')).toBe(false);
    expect(problems).toEqual([expect.stringMatching(/^CodingTask c: spec\.pool: AgentPool "nope" is not in the given files/)]);
  });

  test('an Anthropic pool needs ANTHROPIC_API_KEY; a pool on its own model server does not', () => {
    expect(missingCredentials([defaultPool({})], {})).toMatch(/ANTHROPIC_API_KEY is not set.*\n.*export ANTHROPIC_API_KEY=/);
    expect(missingCredentials([defaultPool({})], { ANTHROPIC_API_KEY: 'sk-ant-x' })).toBeUndefined();
    expect(missingCredentials([vllm()], {})).toBeUndefined();
    expect(missingCredentials([vllm(), defaultPool({})], {})).toMatch(/pool default/);
  });
});

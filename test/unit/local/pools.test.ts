import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claudeModelEnv } from '../../../operator/src/agent/engines/claude-code.js';
import { sdkEngine } from '../../../operator/src/agent/engines/sdk.js';
import { validate } from '../../../operator/src/api/validate.js';
import type { AgentPool, CodingTask } from '../../../operator/src/api/types.js';
import { defaultPool, missingCredentials, resolvePools } from '../../../operator/src/local/pools.js';
import { startFakeAnthropic, text } from '../../fakes/anthropic-server.js';
import { model, recordingTranscript, tempDir } from '../agent/helpers.js';

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

/** The built-in pool as it is when a user names Anthropic (with no key set it is the local one). */
const ANTHROPIC = { AUTORUN_MODEL_PROVIDER: 'anthropic' };

describe('pools', () => {
  test('with no key and no provider named, the built-in pool runs the local model: no credential needed', () => {
    const p = defaultPool({});
    expect(p.spec.model).toMatchObject({ provider: 'local', name: 'qwen2.5-coder-1.5b-instruct-q4_k_m' });
    expect(validate('AgentPool', p).ok).toBe(true);
    expect(missingCredentials([p], {})).toBeUndefined();
    // A key in the environment keeps Claude the default, as before.
    expect(defaultPool({ ANTHROPIC_API_KEY: 'sk-ant-x' }).spec.model?.provider).toBe('anthropic');
    expect(defaultPool({ AUTORUN_MODEL: '/models/my.gguf' }).spec.model).toMatchObject({ provider: 'local', name: '/models/my.gguf' });
  });

  test('the CRD refuses provider local with a Claude model name, naming the fix', () => {
    const r = validate('AgentPool', { apiVersion: 'autorun.dev/v1alpha1', kind: 'AgentPool', metadata: { name: 'l' }, spec: { model: { provider: 'local' } } });
    expect(r.ok).toBe(false);
  });

  test('the built-in default pool: CRD defaults, model from the environment, and valid', () => {
    const p = defaultPool({ AUTORUN_MODEL: 'claude-opus-4-1' });
    expect(p.spec).toMatchObject({ maxConcurrentTasks: 4, model: { provider: 'anthropic', name: 'claude-opus-4-1' }, roles: { run: { gpus: 1 } } });
    expect(defaultPool(ANTHROPIC).spec.model?.name).toBe('claude-sonnet-4-6');
    expect(validate('AgentPool', p).ok).toBe(true);
  });

  test('a task gets its named pool, or the default; an unknown pool is a mistake', () => {
    const { byTask, problems } = resolvePools([task('a'), task('b', 'vllm'), task('c', 'nope')], [vllm()], {});
    expect(byTask.get('a')?.metadata.name).toBe('default');
    expect(byTask.get('b')?.metadata.name).toBe('vllm');
    expect(byTask.has('c')).toBe(false);
    expect(problems).toEqual([expect.stringMatching(/^CodingTask c: spec\.pool: AgentPool "nope" is not in the given files/)]);
  });

  test('an Anthropic pool needs a credential; a pool on its own model server does not', () => {
    expect(missingCredentials([defaultPool(ANTHROPIC)], {})).toMatch(
      /^autorun run: no Anthropic credential is set \(AUTORUN_MODEL_API_KEY, ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN\).*\n.*export ANTHROPIC_API_KEY=sk-ant-[^]*Nothing was started\.$/,
    );
    expect(missingCredentials([defaultPool(ANTHROPIC)], { ANTHROPIC_API_KEY: 'sk-ant-x' })).toBeUndefined();
    expect(missingCredentials([vllm()], {})).toBeUndefined();
    expect(missingCredentials([vllm(), defaultPool(ANTHROPIC)], {})).toMatch(/pool default/);
  });

  // The check and the engines must not disagree either way: a stage refused by the agent after the
  // check let it through fails every task Unauthorized; a refusal the agent would not make is a lie.
  test.each([
    ['ANTHROPIC_API_KEY', { ANTHROPIC_API_KEY: 'sk-ant-agree-0123456789' }, true],
    ['AUTORUN_MODEL_API_KEY', { AUTORUN_MODEL_API_KEY: 'sk-ant-agree-0123456789' }, true],
    ['ANTHROPIC_AUTH_TOKEN', { ANTHROPIC_AUTH_TOKEN: 'gateway-agree-0123456789' }, true],
    ['OPENAI_API_KEY', { OPENAI_API_KEY: 'sk-openai-0123456789' }, false],
    ['an empty ANTHROPIC_API_KEY', { ANTHROPIC_API_KEY: '' }, false],
  ] as const)('the local check and both engines agree on %s', async (_name, env, works) => {
    expect(missingCredentials([defaultPool(ANTHROPIC)], env) === undefined).toBe(works);
    expect('env' in claudeModelEnv({ model: model(), env })).toBe(works);
    const fake = await startFakeAnthropic([text('done')]);
    try {
      const res = await sdkEngine({
        system: 's',
        prompt: 'p',
        tools: [],
        claudeTools: [],
        model: model({ baseURL: fake.url }),
        workspace: tempDir(),
        env,
        transcript: recordingTranscript().transcript,
      });
      expect(res.outcome).toBe(works ? 'Succeeded' : 'Error');
      expect(fake.requests).toHaveLength(works ? 1 : 0);
    } finally {
      await fake.close();
    }
  });
});

describe('Vertex pools', () => {
  const dir = tempDir();
  const bios = join(dir, 'bios_vendor');
  writeFileSync(bios, 'SeaBIOS\n');
  const onGce = join(dir, 'bios_vendor_gce');
  writeFileSync(onGce, 'Google\n');
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, '{}');
  // Nothing on this machine counts: no gcloud login file, not Compute Engine.
  const offGce = { adcFile: join(dir, 'none.json'), biosVendorFile: bios };

  const vertex = (engine: 'sdk' | 'claude-code' = 'sdk', name = 'vx'): AgentPool => {
    const r = validate('AgentPool', {
      apiVersion: 'autorun.dev/v1alpha1',
      kind: 'AgentPool',
      metadata: { name },
      spec: { model: { provider: 'vertex', name: 'claude-sonnet-4-5@20250929', vertex: { projectID: 'proj', region: 'us-east5' } }, roles: { repair: { engine } } },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.object;
  };

  test('Google credentials are required, and the message says how to get some', () => {
    const msg = missingCredentials([vertex()], {}, offGce);
    expect(msg).toMatch(/^autorun run: pool vx uses Claude on Vertex AI, but no Google credentials were found/);
    expect(msg).toMatch(/gcloud auth application-default login[^]*export GOOGLE_APPLICATION_CREDENTIALS=[^]*Nothing was started\.$/);
    expect(missingCredentials([vertex()], { GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'gone.json') }, offGce)).toMatch(/GOOGLE_APPLICATION_CREDENTIALS names .*gone\.json, which does not exist/);
    expect(missingCredentials([vertex()], { GOOGLE_APPLICATION_CREDENTIALS: keyFile }, offGce)).toBeUndefined();
    expect(missingCredentials([vertex()], { AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29.x' }, offGce)).toBeUndefined();
    expect(missingCredentials([vertex()], {}, { ...offGce, biosVendorFile: onGce })).toBeUndefined();
  });

  test('engine claude-code on Vertex needs credentials it can still see', () => {
    expect(missingCredentials([vertex('claude-code')], { GOOGLE_APPLICATION_CREDENTIALS: keyFile }, offGce)).toMatch(
      /^autorun run: pool vx runs engine claude-code on Vertex AI, which does not get GOOGLE_APPLICATION_CREDENTIALS:/,
    );
    expect(missingCredentials([vertex('claude-code')], {}, { ...offGce, biosVendorFile: onGce })).toBeUndefined();
  });

  test('the built-in pool on Vertex takes its project and region from the agent variables, or asks for the region', () => {
    const env = { AUTORUN_MODEL_PROVIDER: 'vertex', CLOUD_ML_REGION: 'europe-west1', ANTHROPIC_VERTEX_PROJECT_ID: 'proj' };
    const p = defaultPool(env);
    expect(p.spec.model).toMatchObject({ provider: 'vertex', vertex: { projectID: 'proj', region: 'europe-west1' } });
    expect(validate('AgentPool', p).ok).toBe(true);
    expect(missingCredentials([p], { ...env, AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29.x' }, offGce)).toBeUndefined();
    const noRegion = defaultPool({ AUTORUN_MODEL_PROVIDER: 'vertex' });
    expect(missingCredentials([noRegion], { AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29.x' }, offGce)).toBe(
      'autorun run: pool default uses Claude on Vertex AI but names no region: set its spec.model.vertex.region (or export CLOUD_ML_REGION=us-east5).\nNothing was started.',
    );
  });

  test('problems of several pools are reported together', () => {
    const msg = missingCredentials([defaultPool(ANTHROPIC), vertex()], {}, offGce)!;
    expect(msg.match(/^autorun run:/gm)).toHaveLength(2);
    expect(msg.endsWith('Nothing was started.')).toBe(true);
  });
});

// Tasks from Slack in the local tier: `/autorun new` checked as a manifest is (schema, pool,
// repository, credential), and Retry restarting a failed task in place.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '../../../operator/src/api/validate.js';
import { createLocalTask, restartLocalTask, type LocalTaskFactory } from '../../../operator/src/local/people-tasks.js';
import { defaultPool } from '../../../operator/src/local/pools.js';
import type { LocalTask } from '../../../operator/src/local/runner.js';
import { StateDir, STATE_VERSION } from '../../../operator/src/local/state.js';
import { tempDir } from '../agent/helpers.js';

const ENV = { ANTHROPIC_API_KEY: 'sk-ant-unit-0123456789' };

function factory(env: NodeJS.ProcessEnv = ENV): LocalTaskFactory {
  const root = tempDir();
  return { pools: [], dir: new StateDir(join(root, '.autorun')), cwd: root, env, now: () => new Date('2026-12-01T12:00:00Z') };
}

test('a new task: validated, its own fresh repository, saved, added to the run', () => {
  const f = factory();
  const local: LocalTask[] = [];
  const t = createLocalTask(f, local, 'default', { goal: 'Implement leap(year) in leap.py' }, 'Slack user UALICE');
  expect(local).toEqual([t]);
  const name = t.state.task.metadata.name;
  expect(name).toMatch(/^slack-[0-9a-f]{5}$/);
  expect(t.state.task.spec.goal).toBe('Implement leap(year) in leap.py');
  expect(t.state).toMatchObject({ pool: 'default', source: 'slack (Slack user UALICE)', status: {}, stages: [], fromSlack: { repositoryUrl: f.dir.repoDir(name) } });
  expect(existsSync(join(f.dir.repoDir(name), 'HEAD'))).toBe(true);
  expect(f.dir.load(name)?.task.metadata.name).toBe(name);
});

test('refused with the field named: a bad name, a taken name, an unknown pool, a missing repository, no credential', () => {
  const f = factory();
  const local: LocalTask[] = [];
  expect(() => createLocalTask(f, local, 'default', { goal: 'g', name: 'Not_A_Name' }, 'u')).toThrow(/metadata\.name/);
  createLocalTask(f, local, 'default', { goal: 'g', name: 'taken' }, 'u');
  expect(() => createLocalTask(f, local, 'default', { goal: 'g', name: 'taken' }, 'u')).toThrow(/^metadata\.name: a task taken exists already/);
  expect(() => createLocalTask(f, local, 'default', { goal: 'g', pool: 'gpus' }, 'u')).toThrow(/spec\.pool: AgentPool "gpus" is not in the files given to `autorun run`/);
  expect(() => createLocalTask(f, local, 'default', { goal: 'g', repository: './nowhere' }, 'u')).toThrow(/^spec\.repository\.url: repository .*nowhere does not exist$/);
  expect(() => createLocalTask(factory({ AUTORUN_MODEL_PROVIDER: 'anthropic' }), [], 'default', { goal: 'g' }, 'u')).toThrow(/no Anthropic credential is set/);
  expect(local.map((t) => t.state.task.metadata.name)).toEqual(['taken']);
});

function failedTask(dir: StateDir): LocalTask {
  const r = validate('CodingTask', { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name: 'fizz' }, spec: { goal: 'fizzbuzz', guidance: ['from the manifest'] } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const at = '2026-12-01T10:00:00Z';
  const state = {
    version: STATE_VERSION,
    task: { ...r.object, metadata: { ...r.object.metadata, generation: 3 } },
    pool: 'default',
    createdAt: at,
    status: { phase: 'Failed', reason: 'Stopped', iteration: 2 },
    stages: [{ name: 'fizz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Finished' }],
    updatedAt: at,
    people: { stop: true },
  } as LocalTask['state'];
  dir.save(state);
  return { state, pool: defaultPool({}), repositoryUrl: '/nowhere', order: 0 };
}

test('Retry restarts a failed task in place: fresh status and stages, the hint as guidance, stop lifted, old stages kept aside', () => {
  const dir = new StateDir(join(tempDir(), '.autorun'));
  const t = failedTask(dir);
  const stage = join(dir.taskDir('fizz'), 'stages', 'fizz-i1-code-a0');
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, 'result.json'), '{}');
  expect(restartLocalTask(dir, t, 'check 15 first', new Date('2026-12-01T12:00:00Z'))).toBe(1);
  expect(t.state).toMatchObject({ status: {}, stages: [], createdAt: '2026-12-01T12:00:00.000Z', retries: 1, people: { stop: false, suspend: false, guidance: ['check 15 first'] } });
  expect(t.state.task.spec).toMatchObject({ stop: false, guidance: ['from the manifest', 'check 15 first'] });
  expect(t.state.task.metadata.generation).toBe(4);
  // A result left where the new run's first stage will be would be taken as that stage's.
  expect(existsSync(join(dir.taskDir('fizz'), 'stages'))).toBe(false);
  expect(existsSync(join(dir.taskDir('fizz'), 'retries', '1', 'stages', 'fizz-i1-code-a0', 'result.json'))).toBe(true);
  expect(dir.load('fizz')?.retries).toBe(1);
  // Only a failed task: this one now waits to run again.
  expect(() => restartLocalTask(dir, t, undefined, new Date())).toThrow('fizz is Pending: only a failed task can be retried');
});

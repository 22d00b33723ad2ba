import { loadManifests, ManifestError } from '../../../operator/src/api/manifests.js';

function load(files: Record<string, string>) {
  return loadManifests(Object.keys(files), (f) => {
    const text = files[f];
    if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return text;
  });
}

function problems(files: Record<string, string>): string[] {
  try {
    load(files);
  } catch (err) {
    if (err instanceof ManifestError) return err.problems;
    throw err;
  }
  throw new Error('expected a ManifestError');
}

const TASK = `apiVersion: autorun.dev/v1alpha1
kind: CodingTask
metadata:
  name: fizzbuzz
spec:
  goal: Implement fizzbuzz(n) in fizzbuzz.py
`;

describe('loadManifests', () => {
  test('several documents per file, with defaults applied', () => {
    const m = load({
      'task.yaml': `${TASK}---
apiVersion: autorun.dev/v1alpha1
kind: AgentPool
metadata: {name: local}
spec:
  maxConcurrentTasks: 2
  model: {apiKeySecretRef: {name: anthropic}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hidden}
data:
  test_hidden.py: "def test_x(): pass"
---
`,
    });
    expect(m.tasks.map((t) => [t.object.metadata.name, t.source])).toEqual([['fizzbuzz', { file: 'task.yaml', document: 1 }]]);
    expect(m.tasks[0]!.object.spec.limits?.maxIterations).toBe(5);
    expect(m.pools[0]!.object.spec.roles?.run?.gpus).toBe(1);
    expect(m.pools[0]!.source.document).toBe(2);
    expect(m.configMaps[0]!.object.data).toEqual({ 'test_hidden.py': 'def test_x(): pass' });
  });

  test('errors name the file, the document, the resource and the field', () => {
    expect(
      problems({
        'task.yaml': `${TASK}---
apiVersion: autorun.dev/v1alpha1
kind: CodingTask
metadata: {name: fizzbuzz2}
spec:
  goal: g
  limits: {maxIterations: 50}
`,
      }),
    ).toEqual(['task.yaml: document 2 (CodingTask fizzbuzz2): spec.limits.maxIterations: must be <= 20']);
  });

  test('all files are checked before giving up', () => {
    const p = problems({
      'a.yaml': TASK.replace('goal: Implement', 'gaol: Implement'),
      'b.yaml': 'kind: [unclosed',
      'c.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n',
      'missing.yaml': undefined as unknown as string,
    });
    expect(p).toEqual([
      'a.yaml: document 1 (CodingTask fizzbuzz): spec.gaol: unknown field (did you mean goal?)',
      'a.yaml: document 1 (CodingTask fizzbuzz): spec.goal: Required value',
      expect.stringMatching(/^b\.yaml: document 1: invalid YAML: /),
      'c.yaml: document 1 (Deployment x): kind "Deployment" is not supported here: use CodingTask, AgentPool (apiVersion autorun.dev/v1alpha1) or ConfigMap',
      'missing.yaml: cannot read: ENOENT',
    ]);
  });

  test('duplicate names and duplicate keys are errors', () => {
    expect(problems({ 'a.yaml': TASK, 'b.yaml': TASK })).toEqual(['b.yaml: document 1 (CodingTask fizzbuzz): metadata.name: duplicate of a.yaml: document 1']);
    expect(problems({ 'a.yaml': `${TASK}  goal: again\n` })[0]).toMatch(/^a\.yaml: document 1: invalid YAML: .*[Mm]ap keys must be unique/);
  });

  test('YAML 1.1 booleans, as kubectl reads them', () => {
    const m = load({ 'a.yaml': `${TASK}  suspend: yes\n` });
    expect(m.tasks[0]!.object.spec.suspend).toBe(true);
  });

  test('a ConfigMap with a non-string value is rejected', () => {
    expect(problems({ 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  count: 1\n' })).toEqual([
      'a.yaml: document 1 (ConfigMap c): data["count"]: must be a string',
    ]);
  });
});

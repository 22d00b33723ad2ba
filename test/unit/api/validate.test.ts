import { validate, formatFieldError } from '../../../operator/src/api/validate.js';

const task = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'fizzbuzz' }) => ({
  apiVersion: 'autorun.dev/v1alpha1',
  kind: 'CodingTask',
  metadata,
  spec: { goal: 'Implement fizzbuzz(n) in fizzbuzz.py', ...spec },
});

const pool = (spec: Record<string, unknown>) => ({
  apiVersion: 'autorun.dev/v1alpha1',
  kind: 'AgentPool',
  metadata: { name: 'gpu' },
  spec: { model: { apiKeySecretRef: { name: 'anthropic' } }, ...spec },
});

function errorsOf(kind: 'CodingTask' | 'AgentPool', obj: unknown): string[] {
  const r = validate(kind, obj);
  return r.ok ? [] : r.errors.map(formatFieldError);
}

describe('validate CodingTask', () => {
  test('a minimal task is valid and gets the CRD defaults', () => {
    const r = validate('CodingTask', task({}));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.object.spec).toMatchObject({
      pool: 'default',
      language: 'python',
      limits: { maxIterations: 5, maxCostUSD: '5', timeout: '2h' },
      priority: 0,
      suspend: false,
    });
  });

  test('range, type and enum errors name the field', () => {
    expect(errorsOf('CodingTask', task({ limits: { maxIterations: 21 } }))).toEqual(['spec.limits.maxIterations: must be <= 20']);
    expect(errorsOf('CodingTask', task({ limits: { maxCostUSD: 5 } }))).toEqual(['spec.limits.maxCostUSD: must be a string, not number 5']);
    expect(errorsOf('CodingTask', task({ language: 'cobol' }))[0]).toMatch(/^spec\.language: must be one of "python", .*not "cobol"$/);
    expect(errorsOf('CodingTask', task({ limits: { maxCostUSD: '1.23456' } }))[0]).toMatch(/^spec\.limits\.maxCostUSD: must match the pattern/);
  });

  test('a missing required field is reported at its path', () => {
    const t = task({});
    delete (t.spec as { goal?: string }).goal;
    expect(errorsOf('CodingTask', t)).toEqual(['spec.goal: Required value']);
    expect(errorsOf('CodingTask', task({ goal: '   ' }))[0]).toMatch(/^spec\.goal: must match the pattern/);
  });

  test('unknown fields are rejected with a suggestion, as strict field validation does', () => {
    expect(errorsOf('CodingTask', task({ limits: { maxIteration: 3 } }))).toEqual(['spec.limits.maxIteration: unknown field (did you mean maxIterations?)']);
    expect(errorsOf('CodingTask', { ...task({}), spek: {} })[0]).toMatch(/^spek: unknown field \(did you mean spec\?\)/);
    expect(errorsOf('CodingTask', task({}, { name: 'x', labelz: {} }))).toEqual(['metadata.labelz: unknown field (did you mean labels?)']);
  });

  test('CEL rules are evaluated: language other needs a test command', () => {
    expect(errorsOf('CodingTask', task({ language: 'other' }))).toEqual([
      "spec.test.command: is required when spec.language is 'other': there is no default test runner for it",
    ]);
    expect(errorsOf('CodingTask', task({ language: 'other', test: { command: 'make test' } }))).toEqual([]);
  });

  test('CEL duration rule on the timeout, after the pattern', () => {
    expect(errorsOf('CodingTask', task({ limits: { timeout: '30s' } }))).toEqual(['spec.limits.timeout: must be between 1m and 168h']);
    expect(errorsOf('CodingTask', task({ limits: { timeout: '169h' } }))).toEqual(['spec.limits.timeout: must be between 1m and 168h']);
    expect(errorsOf('CodingTask', task({ limits: { timeout: '1h30m' } }))).toEqual([]);
    expect(errorsOf('CodingTask', task({ limits: { timeout: 'soon' } }))[0]).toMatch(/^spec\.limits\.timeout: must match the pattern/);
  });

  test('any DNS subdomain is a valid task name, up to its 253 characters (child names are shortened)', () => {
    expect(errorsOf('CodingTask', task({}, { name: 'a'.repeat(63) }))).toEqual([]);
    expect(errorsOf('CodingTask', task({}, { name: `${'a'.repeat(126)}.${'b'.repeat(126)}` }))).toEqual([]);
    expect(errorsOf('CodingTask', task({}, { name: 'a'.repeat(254) }))).toEqual(['metadata.name: must be no more than 253 characters']);
  });

  test('metadata.name must be a DNS subdomain', () => {
    expect(errorsOf('CodingTask', task({}, { name: 'Fizz_Buzz' }))[0]).toMatch(/^metadata\.name: "Fizz_Buzz" is not a lowercase RFC 1123 subdomain/);
    expect(errorsOf('CodingTask', task({}, {}))).toEqual(['metadata.name: Required value']);
  });

  test('apiVersion and kind are checked; status is ignored as on create', () => {
    expect(errorsOf('CodingTask', { ...task({}), apiVersion: 'autorun.dev/v1' })).toEqual(['apiVersion: must be autorun.dev/v1alpha1, not "autorun.dev/v1"']);
    const r = validate('CodingTask', { ...task({}), status: { phase: 'Succeeded' } });
    expect(r.ok && r.object.status).toBeUndefined();
  });

  test('null for a defaulted field means the default', () => {
    const r = validate('CodingTask', task({ limits: null }));
    expect(r.ok && r.object.spec.limits).toEqual({ maxIterations: 5, maxCostUSD: '5', timeout: '2h' });
  });

  test('a goal may hold newlines and tabs but no other control character', () => {
    expect(errorsOf('CodingTask', task({ goal: 'Implement f(n)\n\tin f.py\n' }))).toEqual([]);
    for (const c of ['\0', '\x07', '\x1b', '\r', '\x7f', '\x9b']) {
      expect(errorsOf('CodingTask', task({ goal: `Implement f(n)${c} in f.py` }))).toEqual([expect.stringMatching(/^spec\.goal: must not contain control characters/)]);
    }
    expect(errorsOf('CodingTask', task({ goal: 'Implement fizzbuzz — ünïcode “quotes” 数字 🙂' }))).toEqual([]);
  });

  test('repository url, baseRef and branch may not begin with a dash', () => {
    const repo = { url: 'https://h/r.git', baseRef: 'main', branch: 'autorun/x' };
    expect(errorsOf('CodingTask', task({ repository: repo }))).toEqual([]);
    for (const field of ['url', 'baseRef', 'branch'] as const) {
      expect(errorsOf('CodingTask', task({ repository: { ...repo, [field]: '--upload-pack=x' } }))).toEqual(
        expect.arrayContaining([`spec.repository.${field}: must not begin with '-': git would read it as an option`]),
      );
    }
  });

  test('every error is reported, not just the first', () => {
    const errs = errorsOf('CodingTask', task({ priority: 5000, limits: { maxIterations: 0 }, suspend: 'yes please' }));
    expect(errs).toHaveLength(3);
  });
});

describe('validate AgentPool', () => {
  test('defaults fill the roles', () => {
    const r = validate('AgentPool', pool({}));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.object.spec.maxConcurrentTasks).toBe(4);
    expect(r.object.spec.roles?.run).toMatchObject({ gpus: 1, timeoutSeconds: 900, maxAttempts: 3 });
    expect(r.object.spec.roles?.code).toMatchObject({ engine: 'sdk', gpus: 0 });
  });

  test('int-or-string quantities accept integers and strings only', () => {
    expect(errorsOf('AgentPool', pool({ roles: { run: { resources: { requests: { cpu: 2, memory: '1Gi' } } } } }))).toEqual([]);
    expect(errorsOf('AgentPool', pool({ roles: { run: { resources: { requests: { memory: '1 gig' } } } } }))[0]).toMatch(
      /^spec\.roles\.run\.resources\.requests\.memory: must match the pattern/,
    );
    expect(errorsOf('AgentPool', pool({ roles: { run: { resources: { limits: { cpu: [1] } } } } }))).toEqual([
      'spec.roles.run.resources.limits.cpu: must be an integer or a string, not an array',
    ]);
  });

  test('CEL rules on the model, tolerations and env', () => {
    expect(errorsOf('AgentPool', pool({ model: { provider: 'openai-compatible' } }))).toEqual([
      'spec.model.baseURL: is required for provider openai-compatible, for example http://vllm.models:8000/v1',
    ]);
    expect(errorsOf('AgentPool', { ...pool({}), spec: { model: {} } })).toEqual([
      'spec.model.apiKeySecretRef: is required for provider anthropic: name a Secret holding the API key',
    ]);
    expect(errorsOf('AgentPool', pool({ tolerations: [{ key: 'a', operator: 'Exists', value: 'x' }] }))).toEqual([
      'spec.tolerations[0]: a toleration with operator Exists must not set value',
    ]);
    expect(
      errorsOf('AgentPool', pool({ roles: { code: { env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] } } })),
    ).toEqual(['spec.roles.code.env[0]: set either value or valueFrom, not both']);
  });

  test('the run role env takes literal values only', () => {
    expect(errorsOf('AgentPool', pool({ roles: { run: { env: [{ name: 'A', valueFrom: {} }] } } })).sort()).toEqual([
      'spec.roles.run.env[0].value: Required value',
      'spec.roles.run.env[0].valueFrom: unknown field (known fields: name, value)',
    ]);
  });
});

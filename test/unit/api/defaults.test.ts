// The CRD defaults as the operator and the local tier apply them, against the schemas in crds/.
import { specWithDefaults, withDefaults } from '../../../operator/src/api/defaults.js';

const minimal = { spec: { goal: 'Implement fizzbuzz(n) in fizzbuzz.py.' } };
/** Nothing to fill in: specWithDefaults hands back the very object. */
const complete = (kind: 'CodingTask' | 'AgentPool', spec: unknown) => specWithDefaults(kind, spec) === spec;

describe('withDefaults / specWithDefaults', () => {
  test('a minimal CodingTask gets the schema defaults, and then needs none', () => {
    expect(complete('CodingTask', minimal.spec)).toBe(false);
    const d = withDefaults('CodingTask', minimal);
    expect(d.spec).toMatchObject({ goal: minimal.spec.goal, pool: 'default', limits: { maxIterations: expect.any(Number) } });
    expect(complete('CodingTask', d.spec)).toBe(true);
    // Defaulting a defaulted spec changes nothing, which is what lets the operator skip the copy.
    expect(withDefaults('CodingTask', d)).toEqual(d);
  });

  test('a nested default missing inside a present object is noticed, and only that branch is copied', () => {
    const d = withDefaults('CodingTask', minimal);
    const spec = d.spec as unknown as { limits: Record<string, unknown>; test: unknown };
    const limits = { ...spec.limits };
    delete limits.maxIterations;
    const partial = { ...spec, limits };
    expect(complete('CodingTask', partial)).toBe(false);
    const filled = specWithDefaults('CodingTask', partial);
    expect(filled).toEqual(d.spec);
    expect(limits.maxIterations).toBeUndefined();
    expect((filled as typeof partial).test).toBe(partial.test);
  });

  test('AgentPool roles: a role given without its defaults is noticed', () => {
    const pool = withDefaults('AgentPool', { spec: { model: { provider: 'anthropic', name: 'm', apiKeySecretRef: { name: 'a', key: 'k' } } } });
    expect(complete('AgentPool', pool.spec)).toBe(true);
    expect(complete('AgentPool', { ...pool.spec, roles: { run: {} } })).toBe(false);
  });
});

// The CRD defaults as the operator and the local tier apply them, against the schemas in crds/.
import { hasAllDefaults, withDefaults } from '../../../operator/src/api/defaults.js';

const minimal = { spec: { goal: 'Implement fizzbuzz(n) in fizzbuzz.py.' } };

describe('withDefaults / hasAllDefaults', () => {
  test('a minimal CodingTask gets the schema defaults, and then needs none', () => {
    expect(hasAllDefaults('CodingTask', minimal.spec)).toBe(false);
    const d = withDefaults('CodingTask', minimal);
    expect(d.spec).toMatchObject({ goal: minimal.spec.goal, pool: 'default', limits: { maxIterations: expect.any(Number) } });
    expect(hasAllDefaults('CodingTask', d.spec)).toBe(true);
    // Defaulting a defaulted spec changes nothing, which is what lets the operator skip the copy.
    expect(withDefaults('CodingTask', d)).toEqual(d);
  });

  test('a nested default missing inside a present object is noticed', () => {
    const d = withDefaults('CodingTask', minimal);
    const limits = { ...(d.spec as unknown as { limits: Record<string, unknown> }).limits };
    delete limits.maxIterations;
    expect(hasAllDefaults('CodingTask', { ...d.spec, limits })).toBe(false);
  });

  test('AgentPool roles: a role given without its defaults is noticed', () => {
    const pool = withDefaults('AgentPool', { spec: { model: { provider: 'anthropic', name: 'm', apiKeySecretRef: { name: 'a', key: 'k' } } } });
    expect(hasAllDefaults('AgentPool', pool.spec)).toBe(true);
    expect(hasAllDefaults('AgentPool', { ...pool.spec, roles: { run: {} } })).toBe(false);
  });
});

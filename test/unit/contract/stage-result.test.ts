// The StageResult contract both shells parse with (a Pod's termination message, a local result file).
import type { StageResult } from '../../../operator/src/api/types.js';
import { encodeResult } from '../../../operator/src/agent/result.js';
import { InvalidStageResult, parseStageResult, parseStageResultOf } from '../../../operator/src/contract/stage-result.js';

const runResult: StageResult = {
  role: 'run',
  outcome: 'Failed',
  commit: 'abc123',
  tests: { passed: 9, failed: 1, total: 10, failing: ['test_fizz'] },
  summary: '9/10 tests pass',
};

describe('parseStageResult', () => {
  it('accepts the contract and keeps only its fields', () => {
    const r = parseStageResult(JSON.stringify({ ...runResult, usage: { inputTokens: 10, outputTokens: 2, costUSD: 0.01 }, extra: 'dropped', flaggedTests: ['t'], truncated: true }));
    expect(r).toEqual({ ...runResult, usage: { inputTokens: 10, outputTokens: 2, costUSD: 0.01 }, flaggedTests: ['t'], truncated: true });
  });

  it('reads what the agent writes, even cut to 4 KiB', () => {
    const big: StageResult = { ...runResult, tests: { passed: 0, failed: 500, total: 500, failing: Array.from({ length: 500 }, (_, i) => `tests/test_mod.py::test_case_${i}`) } };
    const text = encodeResult(big);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const r = parseStageResult(text);
    expect(r).not.toBeInstanceOf(Error);
    expect((r as StageResult).tests!.failed).toBe(500);
    expect((r as StageResult).truncated).toBe(true);
  });

  it.each([
    ['empty', '', /not JSON/],
    ['truncated JSON', JSON.stringify(runResult).slice(0, 40), /not JSON/],
    ['an array', '[]', /object/],
    ['null', 'null', /object/],
    ['unknown role', JSON.stringify({ ...runResult, role: 'deploy' }), /role/],
    ['missing outcome', JSON.stringify({ role: 'run', summary: '' }), /outcome/],
    ['bad outcome', JSON.stringify({ ...runResult, outcome: 'Passed' }), /outcome/],
    ['summary not a string', JSON.stringify({ ...runResult, summary: 3 }), /summary/],
    ['negative count', JSON.stringify({ ...runResult, tests: { ...runResult.tests, failed: -1 } }), /tests.failed/],
    ['fractional count', JSON.stringify({ ...runResult, tests: { ...runResult.tests, passed: 1.5 } }), /tests.passed/],
    ['count as string', JSON.stringify({ ...runResult, tests: { ...runResult.tests, total: '10' } }), /tests.total/],
    ['failing not strings', JSON.stringify({ ...runResult, tests: { ...runResult.tests, failing: [1] } }), /failing/],
    ['tests not an object', JSON.stringify({ ...runResult, tests: 'all' }), /tests/],
    ['negative cost', JSON.stringify({ ...runResult, usage: { inputTokens: 1, outputTokens: 1, costUSD: -1 } }), /costUSD/],
    ['commit not a string', JSON.stringify({ ...runResult, commit: 12 }), /commit/],
  ])('rejects %s', (_name, text, why) => {
    const r = parseStageResult(text);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(why);
  });
});

describe('parseStageResultOf', () => {
  it('refuses a result another role wrote, in the one error shape', () => {
    const r = parseStageResultOf(JSON.stringify(runResult), 'repair');
    expect(r).toBeInstanceOf(InvalidStageResult);
    expect((r as Error).message).toBe('an invalid result: the result is for role run but the stage is repair');
  });

  it('checks usage and flaggedTests as strictly as the other fields (the local tier used to skip them)', () => {
    const repair = { role: 'repair', outcome: 'Succeeded', summary: 'fixed' };
    expect((parseStageResultOf(JSON.stringify({ ...repair, usage: { inputTokens: 'many', outputTokens: 1, costUSD: 0 } }), 'repair') as Error).message).toMatch(/^an invalid result: usage.inputTokens/);
    expect((parseStageResultOf(JSON.stringify({ ...repair, flaggedTests: 'test_x' }), 'repair') as Error).message).toMatch(/^an invalid result: flaggedTests/);
  });

  it('a missing failing list is an empty one, as the operator always read it', () => {
    const r = parseStageResultOf(JSON.stringify({ ...runResult, tests: { passed: 1, failed: 0, total: 1 } }), 'run');
    expect(r).toMatchObject({ tests: { failing: [] } });
  });

  it('refuses more than four times the termination message limit', () => {
    const r = parseStageResultOf(JSON.stringify({ ...runResult, summary: 'x'.repeat(20_000) }), 'run');
    expect((r as Error).message).toMatch(/bytes, more than 4096/);
  });
});

// The publish stage in the loop core: with spec.repository.pullRequest, passing tests lead to a
// publish stage (phase Publishing) before Succeeded; its URL lands in status.result; its context
// carries the title and a body with the tests, iterations, cost and stages; failures are retried,
// and an agent Error ends the task.
import { describe, expect, test } from '@jest/globals';
import type { CodingTaskSpec, StageResult } from '../../../operator/src/api/types.js';
import { pullRequestTitle } from '../../../operator/src/core/pull-request.js';
import { error, ok, ran, simulate, spec, world, type Script } from './driver.js';

const URL1 = 'https://github.test/acme/fizzbuzz/pull/7';
const withPR: Partial<CodingTaskSpec> = {
  goal: 'Implement fizzbuzz(n) in fizzbuzz.py. Return Fizz, Buzz or FizzBuzz.',
  repository: { url: 'https://github.com/acme/fizzbuzz.git', baseRef: 'main', pullRequest: { provider: 'github', draft: false } },
};
const published = (url = URL1): StageResult => ({ role: 'publish', outcome: 'Succeeded', summary: `opened pull request #7: ${url}`, pullRequestURL: url });
const repaired: Script = {
  code: [ok('code', 'c1')],
  test: [ok('test', 't1')],
  run: [ran(9, 10, ['test_fifteen']), ran(10, 10)],
  repair: [ok('repair', 'r1')],
  publish: [published()],
};

describe('publish stage', () => {
  test('opens the pull request after the tests pass; its URL is the result', () => {
    const t = simulate(world({ spec: spec(withPR) }), repaired);
    expect(t.phases).toEqual(['Coding', 'Running', 'Repairing', 'Running', 'Publishing', 'Succeeded']);
    expect(t.started.at(-1)).toBe('fizzbuzz-i2-publish-a0');
    expect(t.status.reason).toBe('TestsPassed');
    expect(t.status.message).toBe(`tests passed (10/10) in iteration 2; pull request ${URL1}`);
    expect(t.status.result).toEqual({ branch: 'autorun/fizzbuzz', commit: 'tested', pullRequestURL: URL1 });
    expect(t.status.stages!.at(-1)).toMatchObject({ role: 'publish', state: 'Succeeded', pullRequestURL: URL1 });
  });

  test('the publish context: a title from the goal, a body with the tests, iterations, cost and every stage', () => {
    const t = simulate(world({ spec: spec(withPR) }), repaired);
    const ctx = t.contexts.get('fizzbuzz-i2-publish-a0')!;
    // The commit the passing run tested (the merge of code and tests), the one the PR carries.
    expect(ctx.codeRef).toBe('tested');
    expect(ctx.pullRequest!.title).toBe('Implement fizzbuzz(n) in fizzbuzz.py');
    const body = ctx.pullRequest!.body;
    expect(body).toContain('> Implement fizzbuzz(n) in fizzbuzz.py. Return Fizz, Buzz or FizzBuzz.');
    expect(body).toContain('- **Tests:** 10/10 passed');
    expect(body).toContain('- **Iterations:** 2 of at most 5');
    // Three LLM stages at $0.01 each; two run stages of 60 GPU-seconds at $0.80/h ($0.027).
    expect(body).toContain('- **Cost:** $0.06 (models $0.03, 120 GPU-seconds)');
    for (const s of ['i1-code-a0', 'i1-test-a0', 'i1-run-a0', 'i2-repair-a0', 'i2-run-a0']) expect(body).toContain(`| fizzbuzz-${s} |`);
    expect(body).toContain('| fizzbuzz-i1-run-a0 | Failed | 9/10 | 9/10 passed |');
    expect(body).not.toContain('publish');
  });

  test('hidden acceptance tests run first and are reported; no pull request without spec.repository.pullRequest', () => {
    const acc = { ...withPR, test: { acceptance: { configMapRef: { name: 'hidden' } } } };
    const t = simulate(world({ spec: spec(acc) }), { ...repaired, run: [ran(10, 10)], acceptance: [ran(4, 4, [], [], 'acceptance')] });
    expect(t.phases).toEqual(['Coding', 'Running', 'Accepting', 'Publishing', 'Succeeded']);
    expect(t.contexts.get('fizzbuzz-i1-publish-a0')!.pullRequest!.body).toContain('- **Hidden acceptance tests:** 4/4 passed');

    const plain = simulate(world(), { ...repaired, run: [ran(10, 10)] });
    expect(plain.phases).toEqual(['Coding', 'Running', 'Succeeded']);
    expect(plain.started.some((s) => s.includes('publish'))).toBe(false);
    expect(plain.status.result).toEqual({ branch: 'autorun/fizzbuzz', commit: 'tested' });
  });

  test('a failed publish (the API was down) is retried as the next attempt', () => {
    const down: StageResult = { role: 'publish', outcome: 'Failed', reason: 'PublishFailed', summary: 'HTTP 502' };
    const t = simulate(world({ spec: spec(withPR) }), { ...repaired, run: [ran(10, 10)], publish: [down, published()] });
    expect(t.started.filter((s) => s.includes('publish'))).toEqual(['fizzbuzz-i1-publish-a0', 'fizzbuzz-i1-publish-a1']);
    expect(t.status).toMatchObject({ phase: 'Succeeded', result: { pullRequestURL: URL1 } });
  });

  test('a refused token fails the task at once, saying so', () => {
    const t = simulate(world({ spec: spec(withPR) }), { ...repaired, run: [ran(10, 10)], publish: [error('publish', 'Unauthorized', 'the token was refused (401)')] });
    expect(t.status).toMatchObject({ phase: 'Failed', reason: 'StageError' });
    expect(t.status.message).toContain('the token was refused (401)');
    expect(t.status.result?.pullRequestURL).toBeUndefined();
  });
});

test.each([
  ['Implement fizzbuzz. Then more.', 'Implement fizzbuzz'],
  ['Add a CLI\nwith flags', 'Add a CLI'],
  ['x'.repeat(100), `${'x'.repeat(71)}…`],
  ['Use key sk-ant-abcdefghijklmnop here', 'Use key [redacted] here'],
  ['Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or the number as a string', 'Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or…'],
])('pullRequestTitle(%j)', (goal, title) => {
  expect(pullRequestTitle(goal)).toBe(title);
});

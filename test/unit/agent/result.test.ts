import { STAGE_RESULT_MAX_BYTES } from '../../../operator/src/api/types.js';
import type { StageResult } from '../../../operator/src/api/types.js';
import { cutUtf8, encodeResult, exitCodeFor } from '../../../operator/src/agent/result.js';

const bytes = (s: string): number => Buffer.byteLength(s);
const big = (n: number): StageResult => ({
  role: 'run',
  outcome: 'Failed',
  reason: 'TestsFailed',
  commit: 'a'.repeat(40),
  summary: 'ü'.repeat(3000),
  tests: { passed: 1, failed: n, total: n + 1, failing: Array.from({ length: n }, (_, i) => `tests/test_m.py::test_case_number_${i}_with_a_long_name`) },
  usage: { inputTokens: 1, outputTokens: 2, costUSD: 0.5 },
});

test('a small result is written as is', () => {
  const r: StageResult = { role: 'code', outcome: 'Succeeded', summary: 'ok' };
  expect(encodeResult(r)).toBe(JSON.stringify(r));
});

test('drops failing names first (keeping the first ones), then shortens the summary; always valid JSON ≤ 4096 bytes', () => {
  const json = encodeResult(big(500));
  expect(bytes(json)).toBeLessThanOrEqual(STAGE_RESULT_MAX_BYTES);
  const r = JSON.parse(json) as StageResult;
  expect(r.truncated).toBe(true);
  expect(r.tests).toMatchObject({ passed: 1, failed: 500, total: 501 });
  expect(r.tests!.failing.length).toBeGreaterThan(5);
  expect(r.tests!.failing[0]).toBe('tests/test_m.py::test_case_number_0_with_a_long_name');
  expect(r.commit).toBe('a'.repeat(40));
  expect(r.usage!.costUSD).toBe(0.5);
  // the summary was cut to 1 KiB at a character boundary before any name went
  expect(bytes(r.summary)).toBeLessThanOrEqual(1024);
  expect(r.summary.endsWith('…')).toBe(true);
});

test('the summary gives way only once no name is left', () => {
  const r = big(0);
  r.flaggedTests = Array.from({ length: 400 }, (_, i) => `flag_${i}_${'x'.repeat(20)}`);
  const out = JSON.parse(encodeResult(r, 600)) as StageResult;
  expect(out.flaggedTests).toEqual([]);
  expect(bytes(JSON.stringify(out))).toBeLessThanOrEqual(600);
  expect(out.summary.length).toBeGreaterThan(0);
});

test('hostile sizes still give a minimal valid result', () => {
  const r = big(3);
  r.reason = 'R'.repeat(10_000);
  const out = JSON.parse(encodeResult(r)) as StageResult;
  expect(out).toMatchObject({ role: 'run', outcome: 'Failed', truncated: true, tests: { failed: 3, total: 4 } });
});

test('cutUtf8 never splits a character', () => {
  const s = cutUtf8('€€€€', 7);
  expect(s).toBe('€…');
  expect(bytes(s)).toBeLessThanOrEqual(7);
});

test('exit codes follow the outcome', () => {
  expect([exitCodeFor('Succeeded'), exitCodeFor('Failed'), exitCodeFor('Error')]).toEqual([0, 1, 2]);
});

import { NAME_PREFIX_MAX, namePrefix, parseStageName, shortName, stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LONGEST: StageKey = { iteration: 20, role: 'acceptance', attempt: 9 };

test('names up to 40 characters are used as they are, so the Pods of existing tasks keep their names', () => {
  expect(stageName('fizzbuzz', { iteration: 2, role: 'repair', attempt: 0 })).toBe('fizzbuzz-i2-repair-a0');
  const forty = 'a'.repeat(NAME_PREFIX_MAX);
  expect(namePrefix(forty)).toBe(forty);
  expect(stageName(forty, LONGEST)).toBe(`${forty}-i20-acceptance-a9`);
});

test.each([
  ['63 characters', `long-${'n'.repeat(58)}`],
  ['41 characters', 'a'.repeat(41)],
  ['253 characters with dots', `team.fizzbuzz.${'x'.repeat(120)}.${'y'.repeat(118)}`],
  ['a cut that lands on a dot', `${'a'.repeat(28)}.${'b'.repeat(40)}`],
  ['a cut that lands on a hyphen', `${'a'.repeat(28)}-${'b'.repeat(40)}`],
])('a task named with %s gets stage names within 63 characters that parse back', (_, task) => {
  for (const role of ['code', 'test', 'run', 'repair', 'acceptance'] as const) {
    const key = { ...LONGEST, role };
    const name = stageName(task, key);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS1123_SUBDOMAIN);
    expect(name.split('.').every((l) => DNS1123_LABEL.test(l))).toBe(true);
    expect(parseStageName(task, name)).toEqual(key);
  }
  expect(namePrefix(task).length).toBeLessThanOrEqual(NAME_PREFIX_MAX);
  expect(namePrefix(task)).toMatch(/-[0-9a-f]{10}$/);
});

test('long names that share their first 40 characters get different stage names, each its own', () => {
  const common = `shared-prefix-${'p'.repeat(40)}`;
  const a = `${common}-alpha`;
  const b = `${common}-beta`;
  const key: StageKey = { iteration: 1, role: 'code', attempt: 0 };
  expect(stageName(a, key)).not.toBe(stageName(b, key));
  expect(parseStageName(a, stageName(b, key))).toBeUndefined();
  expect(stageName(a, key)).toBe(stageName(a, key));
});

test('shortName keeps short names and cuts long ones to max with a hash of the whole name', () => {
  expect(shortName('abc', 5)).toBe('abc');
  const s = shortName('x'.repeat(300), 250);
  expect(s).toHaveLength(250);
  expect(s).toMatch(/^x{239}-[0-9a-f]{10}$/);
  expect(shortName(`${'-'.repeat(20)}${'x'.repeat(20)}`, 15)).toMatch(/^[0-9a-f]{10}$/);
});

import { readFileSync } from 'node:fs';
import { nodeVersionProblem, REQUIRED_NODE, satisfies } from '../../operator/src/node-version.js';

test('the required version is the one package.json "engines" states', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE}`);
});

test.each([
  ['20.20.2', false],
  ['22.18.9', false],
  ['22.19.0', true],
  ['22.19', true],
  ['22.20.1', true],
  ['24.0.0', true],
  ['v24.21.0', true],
  ['21.99.99', false],
])('Node %s satisfies >= 22.19: %s', (v, ok) => {
  expect(satisfies(v)).toBe(ok);
});

test('an old Node gets one line naming what is needed and what it is', () => {
  const line = nodeVersionProblem('20.20.2', '/usr/bin/node');
  expect(line).toBe('autorun needs Node.js >= 22.19, but /usr/bin/node is Node.js 20.20.2: put a newer node first on PATH (a clone after `npm ci` has one in node_modules/.bin)');
  expect(line).not.toContain('\n');
  expect(nodeVersionProblem('24.21.0', '/usr/bin/node')).toBeUndefined();
});

// The catalogue of invalid manifests in this directory. Each file is one mistake a user could make,
// with a `# expect: <text>` line naming the field the error must point at. kubectl apply (strict
// field validation, as by default) must fail, and its message must name that field: a rejection
// for some other reason, or a message that does not say where the mistake is, fails the test.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestNamespace, deleteNamespace } from '../../harness/kube.js';
import { kubectl } from '../../harness/kubectl.js';

// jest applies only the top-level testTimeout, not the integration project's: each block says its own.
const TIMEOUT = 120_000;

const dir = dirname(fileURLToPath(import.meta.url));
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
    return { file, text, expected };
  });

let ns: string;

beforeAll(async () => {
  ns = await createTestNamespace('invalid');
}, TIMEOUT);

afterAll(async () => {
  await deleteNamespace(ns);
}, TIMEOUT);

test('the catalogue covers at least 30 mistakes, each with an expectation', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
  for (const c of cases) expect({ file: c.file, expected: c.expected }).toEqual({ file: c.file, expected: expect.any(String) });
}, TIMEOUT);

test.each(cases)('$file is rejected naming the field', async ({ file, expected }) => {
  const r = await kubectl(['apply', '-n', ns, '-f', join(dir, file)]);
  expect({ file, code: r.code, stdout: r.stdout }).toEqual({ file, code: 1, stdout: '' });
  expect(r.stderr).toContain(expected!);
}, TIMEOUT);

test('nothing from the catalogue was stored', async () => {
  const r = await kubectl(['get', 'autorun', '-n', ns, '-o', 'name']);
  expect(r).toMatchObject({ code: 0, stdout: '' });
}, TIMEOUT);

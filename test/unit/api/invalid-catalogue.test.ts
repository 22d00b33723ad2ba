// The manifests the apiserver must reject (test/integration/invalid, each with `# expect: FIELD...`)
// must be rejected by the local tier too, at the same field: `autorun run` and `kubectl apply` agree.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifests, ManifestError } from '../../../operator/src/api/manifests.js';

const dir = fileURLToPath(new URL('../../integration/invalid/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the catalogue is there', () => {
  expect(files.length).toBeGreaterThanOrEqual(20);
});

describe.each(files)('%s', (file) => {
  const path = join(dir, file);
  const expects = [...readFileSync(path, 'utf8').matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!.trim());

  test('is rejected locally at the expected field', () => {
    expect(expects.length).toBeGreaterThan(0);
    let problems: string[] = [];
    try {
      loadManifests([path]);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      problems = err.problems;
    }
    expect(problems.length).toBeGreaterThan(0);
    // Each problem reads "<file>: document N (Kind name): <field>: <message>".
    const fields = problems.map((p) => p.slice(p.indexOf('): ') + 3));
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const e of expects) expect(fields).toEqual(expect.arrayContaining([expect.stringMatching(`^${escape(e)}`)]));
  });
});

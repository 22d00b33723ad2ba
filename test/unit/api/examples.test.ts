// The example pools are what people copy: each of their roles asks for CPU, memory and disk and sizes
// its scratch volumes, rather than leaning on the operator's defaults.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifests } from '../../../operator/src/api/manifests.js';

const root = fileURLToPath(new URL('../../../manifests/examples/', import.meta.url));
const files = [root, join(root, 'local')].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => join(d, f)));

test('every role of every example pool sets requests, an ephemeral-storage bound and volume sizes', () => {
  const pools = files.flatMap((f) => loadManifests([f]).pools);
  expect(pools.length).toBeGreaterThanOrEqual(3);
  for (const { object: p } of pools) {
    for (const role of ['code', 'test', 'repair', 'run'] as const) {
      const r = p.spec.roles?.[role];
      const where = `${p.metadata.name} ${role}`;
      expect([where, Object.keys(r?.resources?.requests ?? {}).sort()]).toEqual([where, ['cpu', 'ephemeral-storage', 'memory']]);
      expect([where, r?.storage?.workspace, r?.storage?.tmp]).toEqual([where, expect.stringMatching(/i$/), expect.stringMatching(/i$/)]);
    }
  }
});

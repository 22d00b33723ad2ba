// The CRD schemas in crds/ are the source of truth; the TypeScript types, the chart's CRD copies and
// the chart's RBAC rules are generated from them (and from rbac.ts) by scripts/generate.mjs. This
// runs the generator in-process and compares with the committed files, so drift fails `make test`,
// not only `make lint`.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '../../..');

type Generate = (opts?: { crdsDir?: string }) => Promise<Record<string, string>>;

async function loadGenerate(): Promise<Generate> {
  // A computed specifier: the script is plain JavaScript without type declarations.
  const mod = (await import(pathToFileURL(join(root, 'scripts/generate.mjs')).href)) as { generate: Generate };
  return mod.generate;
}

function committed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Files (relative to the checkout) whose committed text differs from what the generator writes. */
function drifted(files: Record<string, string>): string[] {
  return Object.entries(files)
    .filter(([path, text]) => committed(path) !== text)
    .map(([path]) => relative(root, path))
    .sort();
}

let generate: Generate;
beforeAll(async () => {
  generate = await loadGenerate();
});

describe('generated files', () => {
  test('match crds/ and rbac.ts (run `make generate` when this fails)', async () => {
    expect(drifted(await generate())).toEqual([]);
  });

  test('the generated directories hold no file the generator no longer writes', async () => {
    const outputs = new Set(Object.keys(await generate()).map((p) => relative(root, p)));
    const dirs = ['operator/src/api/generated', 'charts/autorun/crds'];
    const present = dirs.flatMap((d) => readdirSync(join(root, d)).map((f) => join(d, f)));
    expect(present.filter((p) => !outputs.has(p))).toEqual([]);
  });

  test('a changed description in a CRD shows up as drift in its TypeScript type and chart copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autorun-crds-'));
    try {
      cpSync(join(root, 'crds'), dir, { recursive: true });
      const file = join(dir, 'autorun.dev_codingtasks.yaml');
      const before = readFileSync(file, 'utf8');
      const line = '                      description: Seconds one test run may take before it is killed and reported as a failure.';
      expect(before).toContain(line);
      writeFileSync(file, before.replace(line, line.replace('Seconds one test run', 'Wall-clock seconds one test run')));

      const [baseline, edited] = await Promise.all([generate(), generate({ crdsDir: dir })]);
      const changed = Object.keys(edited).filter((p) => edited[p] !== baseline[p]).map((p) => relative(root, p));
      const expected = ['charts/autorun/crds/autorun.dev_codingtasks.yaml', 'operator/src/api/generated/codingtask.ts'];
      expect(changed.sort()).toEqual(expected);
      expect(drifted(edited)).toEqual(expect.arrayContaining(expected));
      expect(edited[join(root, 'operator/src/api/generated/codingtask.ts')]).toContain('Wall-clock seconds one test run may take');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

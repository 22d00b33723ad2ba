// Generates the TypeScript types of the CRDs from crds/*.yaml, the one source of truth.
// `node scripts/generate-types.mjs --check` exits 1 when the committed types have drifted.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'operator/src/api/generated');

// CRD schemas carry Kubernetes extensions json-schema-to-typescript does not know; int-or-string
// and preserve-unknown-fields need to be turned into plain JSON Schema first.
function toJsonSchema(node) {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'default' || k === 'pattern' || k === 'format') continue;
    out[k] = toJsonSchema(v);
  }
  if (node['x-kubernetes-int-or-string']) return { anyOf: [{ type: 'integer' }, { type: 'string' }], description: node.description };
  if (out.type === 'object' && !out.properties && !out.additionalProperties) out.additionalProperties = true;
  if (out.type === 'object' && out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

export async function generate() {
  const files = {};
  for (const file of readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml')).sort()) {
    const crd = parse(readFileSync(join(root, 'crds', file), 'utf8'), { maxAliasCount: -1 });
    const kind = crd.spec.names.kind;
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    const parts = [];
    for (const part of ['spec', 'status']) {
      const sub = toJsonSchema(schema.properties[part]);
      sub.title = `${kind}${part[0].toUpperCase()}${part.slice(1)}`;
      parts.push(await compile(sub, sub.title, { bannerComment: '', additionalProperties: false, unreachableDefinitions: false, format: true, strictIndexSignatures: true }));
    }
    const header = `// Generated from crds/${file} by scripts/generate-types.mjs. Do not edit: run \`make generate\`.\n\n`;
    files[join(outDir, `${kind.toLowerCase()}.ts`)] = header + parts.join('\n');
    // Helm installs CRDs from the chart's crds/ directory; it holds verbatim copies.
    files[join(root, 'charts/autorun/crds', file)] = readFileSync(join(root, 'crds', file), 'utf8');
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await generate();
  const check = process.argv.includes('--check');
  let drift = false;
  for (const [path, text] of Object.entries(files)) {
    let current = '';
    try { current = readFileSync(path, 'utf8'); } catch { /* new file */ }
    if (current === text) continue;
    if (check) { console.error(`${path} is out of date with crds/: run make generate`); drift = true; }
    else writeFileSync(path, text);
  }
  process.exit(drift ? 1 : 0);
}

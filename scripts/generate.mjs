// Generates what is derived from a single source of truth: the TypeScript types of the CRDs and the
// chart's CRD copies from crds/*.yaml, and the chart's RBAC rules from the operator's
// OPERATOR_RULES (operator/src/controller/rbac.ts, imported directly: Node 24 strips its types).
// `node scripts/generate.mjs --check` exits 1 when a committed file has drifted.
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

// Subschemas the CRD repeats (YAML anchors for the LLM roles, the condition shape) get a title,
// which json-schema-to-typescript turns into one named interface instead of a copy per use.
function nameShared(part, kind) {
  const roles = part.properties?.roles?.properties;
  if (roles) {
    part.definitions = { LlmRoleSpec: { ...roles.code, title: 'LlmRoleSpec' } };
    for (const r of ['code', 'test', 'repair']) roles[r] = { $ref: '#/definitions/LlmRoleSpec' };
    roles.run.title = 'RunRoleSpec';
  }
  const conditions = part.properties?.conditions;
  if (conditions) conditions.items.title = `${kind}Condition`;
  const stages = part.properties?.stages;
  if (stages) stages.items.title = 'StageStatus';
}

// Returns { path of a committed file: the text it should hold }. crdsDir reads the schemas from
// elsewhere (the drift test feeds it an edited copy to show a change reaches every output); the
// paths returned are always those of the committed files.
export async function generate({ crdsDir = join(root, 'crds') } = {}) {
  const files = {};
  for (const file of readdirSync(crdsDir).filter((f) => f.endsWith('.yaml')).sort()) {
    const source = readFileSync(join(crdsDir, file), 'utf8');
    const crd = parse(source, { maxAliasCount: -1 });
    const kind = crd.spec.names.kind;
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    const parts = [];
    for (const part of ['spec', 'status']) {
      const sub = toJsonSchema(schema.properties[part]);
      nameShared(sub, kind);
      sub.title = `${kind}${part[0].toUpperCase()}${part.slice(1)}`;
      parts.push(await compile(sub, sub.title, { bannerComment: '', additionalProperties: false, unreachableDefinitions: false, format: true, strictIndexSignatures: true }));
    }
    const header = `// Generated from crds/${file} by scripts/generate.mjs. Do not edit: run \`make generate\`.\n\n`;
    files[join(outDir, `${kind.toLowerCase()}.ts`)] = header + parts.join('\n');
    // Helm installs CRDs from the chart's crds/ directory; it holds verbatim copies.
    files[join(root, 'charts/autorun/crds', file)] = source;
  }
  files[join(root, 'charts/autorun/templates/_rules.tpl')] = await rbacTemplate();
  return files;
}

async function rbacTemplate() {
  const { OPERATOR_RULES } = await import(join(root, 'operator/src/controller/rbac.ts'));
  // Leases are granted by a Role in the release namespace only (rbac.yaml), not cluster-wide.
  const rules = OPERATOR_RULES.filter((r) => !r.apiGroups.includes('coordination.k8s.io'));
  const q = (xs) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const body = rules.map((r) => `- apiGroups: ${q(r.apiGroups)}\n  resources: ${q(r.resources)}\n  verbs: ${q(r.verbs)}`).join('\n');
  return `{{- /* Generated from operator/src/controller/rbac.ts by scripts/generate.mjs; run \`make generate\`. */ -}}\n{{- define "autorun.rules" -}}\n${body}\n{{- end -}}\n`;
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

// `kubectl explain codingtask.spec...` prints the schema's descriptions, and so do the generated
// TypeScript types (as doc comments): a field without one is a field nobody can learn about without
// reading the operator. Every schema a value can sit in must say what it means: each property, each
// map value (additionalProperties) and each list item.
//
// Two places are exempt because the apiserver forbids a description there:
// - the root `metadata` schema may restrict only name and generateName and nothing else
//   (apiextensions-apiserver, validateStructuralMetadataInvariants: "must not specify anything other
//   than name and generateName"); the published OpenAPI replaces it with ObjectMeta anyway;
// - the branches of anyOf/allOf/oneOf/not are value validations, where structural schemas forbid
//   description (x-kubernetes-int-or-string's anyOf [integer, string] is one).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const crdsDir = join(import.meta.dirname, '../../../crds');

type Schema = {
  description?: unknown;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
};

const ROOT = '<root>';

/** JSON paths (in `kubectl explain` style) of schemas reachable by a value that lack a description. */
function undescribed(schema: Schema, path: string, exempt = false): string[] {
  const missing: string[] = [];
  const described = typeof schema.description === 'string' && schema.description.trim() !== '';
  if (!exempt && !described) missing.push(path);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    missing.push(...undescribed(sub, `${path}.${name}`, path === ROOT && name === 'metadata'));
  }
  if (typeof schema.additionalProperties === 'object') missing.push(...undescribed(schema.additionalProperties, `${path}.<value>`));
  if (schema.items) missing.push(...undescribed(schema.items, `${path}[]`));
  return missing;
}

interface Crd {
  spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

const crds = readdirSync(crdsDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ file, crd: parse(readFileSync(join(crdsDir, file), 'utf8'), { maxAliasCount: -1 }) as Crd }));

describe('CRD descriptions', () => {
  test('there are CRDs to check', () => {
    expect(crds.map((c) => c.file)).toEqual(['autorun.dev_agentpools.yaml', 'autorun.dev_codingtasks.yaml']);
  });

  test.each(crds)('$file describes every field, map value and list item', ({ crd }) => {
    for (const version of crd.spec.versions) {
      const schema = version.schema.openAPIV3Schema;
      expect(undescribed(schema, ROOT).map((p) => p.replace(ROOT, crd.spec.names.kind.toLowerCase()))).toEqual([]);
    }
  });

  test('the walk reaches map values and list items, and exempts only the root metadata', () => {
    const schema: Schema = {
      description: 'root',
      properties: {
        metadata: { properties: { name: {} } },
        spec: {
          description: 'spec',
          properties: {
            labels: { description: 'labels', additionalProperties: { properties: { x: { description: 'x' } } } },
            names: { description: 'names', items: {} },
            open: { description: 'any map', additionalProperties: true },
          },
        },
      },
    };
    expect(undescribed(schema, ROOT)).toEqual([`${ROOT}.metadata.name`, `${ROOT}.spec.labels.<value>`, `${ROOT}.spec.names[]`]);
    expect(undescribed({ properties: { spec: { properties: { metadata: {} } } } }, ROOT)).toEqual([ROOT, `${ROOT}.spec`, `${ROOT}.spec.metadata`]);
  });
});

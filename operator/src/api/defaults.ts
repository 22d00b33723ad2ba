// Applies the CRD schema's `default`s to an object the way the apiserver does, so the local tier
// and tests see the same spec the operator reads from the cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { crdsDir } from './paths.js';

type Schema = { type?: string; default?: unknown; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean };

const cache = new Map<string, Schema>();

/** The openAPIV3Schema of a kind, read from crds/ (the source of truth). */
export function schemaOf(kind: 'CodingTask' | 'AgentPool'): Schema {
  let s = cache.get(kind);
  if (!s) {
    const file = kind === 'CodingTask' ? 'autorun.dev_codingtasks.yaml' : 'autorun.dev_agentpools.yaml';
    const crd = parse(readFileSync(join(crdsDir(), file), 'utf8'), { maxAliasCount: -1 });
    s = crd.spec.versions[0].schema.openAPIV3Schema as Schema;
    cache.set(kind, s);
  }
  return s;
}

function apply(schema: Schema, value: unknown): unknown {
  if (value === undefined) {
    if (schema.default === undefined) return undefined;
    value = structuredClone(schema.default);
  }
  if (schema.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const [k, sub] of Object.entries(schema.properties ?? {})) {
      const v = apply(sub, obj[k]);
      if (v !== undefined) obj[k] = v;
    }
    if (typeof schema.additionalProperties === 'object') {
      for (const k of Object.keys(obj)) obj[k] = apply(schema.additionalProperties, obj[k]);
    }
  } else if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    return value.map((v) => apply(schema.items as Schema, v));
  }
  return value;
}

/** Would apply() fill anything in? (Objects read from the apiserver have their defaults already.) */
function lacksDefault(schema: Schema, value: unknown): boolean {
  if (value === undefined) return schema.default !== undefined;
  if (schema.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const [k, sub] of Object.entries(schema.properties ?? {})) if (lacksDefault(sub, obj[k])) return true;
    if (typeof schema.additionalProperties === 'object') {
      for (const v of Object.values(obj)) if (lacksDefault(schema.additionalProperties, v)) return true;
    }
  } else if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    return value.some((v) => lacksDefault(schema.items as Schema, v));
  }
  return false;
}

/** True when withDefaults would return an equal copy: every default the spec can take is there. */
export function hasAllDefaults(kind: 'CodingTask' | 'AgentPool', spec: unknown): boolean {
  const schema = schemaOf(kind).properties?.spec;
  return !schema || !lacksDefault(schema, spec ?? {});
}

/** Returns a deep copy of obj with every schema default filled in. */
export function withDefaults<T extends { spec?: unknown }>(kind: 'CodingTask' | 'AgentPool', obj: T): T {
  const copy = structuredClone(obj);
  const spec = schemaOf(kind).properties?.spec;
  if (spec) (copy as { spec?: unknown }).spec = apply(spec, copy.spec ?? {});
  return copy;
}

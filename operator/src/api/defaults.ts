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

/**
 * value with the schema's defaults filled in, copy-on-write: an object or array that needs nothing
 * is returned as it is, one that does is copied (sharing what it does not change). Objects read
 * from the apiserver have their defaults already, so for them this copies nothing.
 */
function apply(schema: Schema, value: unknown): unknown {
  if (value === undefined) {
    if (schema.default === undefined) return undefined;
    value = structuredClone(schema.default);
  }
  if (schema.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    let out = obj;
    const set = (k: string, v: unknown) => {
      if (v === undefined || v === obj[k]) return;
      if (out === obj) out = { ...obj };
      out[k] = v;
    };
    for (const [k, sub] of Object.entries(schema.properties ?? {})) set(k, apply(sub, obj[k]));
    if (typeof schema.additionalProperties === 'object') {
      for (const k of Object.keys(obj)) set(k, apply(schema.additionalProperties, obj[k]));
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    const mapped = value.map((v) => apply(schema.items as Schema, v));
    return mapped.some((v, i) => v !== value[i]) ? mapped : value;
  }
  return value;
}

/**
 * The spec with every schema default filled in: the very object when it has them all, else a copy
 * that shares the parts that needed nothing. Never modifies spec.
 */
export function specWithDefaults<S>(kind: 'CodingTask' | 'AgentPool', spec: S): S {
  const schema = schemaOf(kind).properties?.spec;
  return (schema ? apply(schema, spec ?? {}) : spec) as S;
}

/** Returns a deep copy of obj with every schema default filled in. */
export function withDefaults<T extends { spec?: unknown }>(kind: 'CodingTask' | 'AgentPool', obj: T): T {
  const copy = structuredClone(obj);
  return { ...copy, spec: specWithDefaults(kind, copy.spec) };
}

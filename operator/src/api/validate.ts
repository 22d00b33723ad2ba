// Validates a CodingTask or AgentPool as the kube-apiserver would on create with strict field
// validation: ObjectMeta rules, CRD defaults, the structural openAPIV3Schema and the CEL
// x-kubernetes-validations, all read from crds/ (the source of truth). The local tier uses this so
// that a manifest it accepts is one `kubectl apply` accepts too, and the other way round.
import { API_VERSION, type AgentPool, type CodingTask } from './types.js';
import { schemaOf, withDefaults } from './defaults.js';
import { validateRules } from './validate/cel.js';
import type { FieldError } from './validate/errors.js';
import { validateMetadata } from './validate/metadata.js';
import { pruneDefaultedNulls, validateStructure, type CrdSchema } from './validate/structural.js';

export type { FieldError } from './validate/errors.js';
export { formatFieldError } from './validate/errors.js';

export type Kind = 'CodingTask' | 'AgentPool';
export const KINDS: readonly Kind[] = ['CodingTask', 'AgentPool'];

export type ValidationResult<T> = { ok: true; object: T } | { ok: false; errors: FieldError[] };

const rootSchemas = new Map<Kind, CrdSchema>();

/** The CRD schema with metadata's generic rules left to validateMetadata; its CEL rules (name length) stay. */
function rootSchema(kind: Kind): CrdSchema {
  let s = rootSchemas.get(kind);
  if (!s) {
    const crd = schemaOf(kind) as CrdSchema;
    s = { ...crd, properties: { ...crd.properties, metadata: { ...crd.properties?.metadata, type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } };
    rootSchemas.set(kind, s);
  }
  return s;
}

/**
 * Returns the object with defaults applied, or every problem found. The status is dropped first:
 * with the status subresource the apiserver ignores status on create, and so does the local tier.
 */
export function validate(kind: 'CodingTask', obj: unknown): ValidationResult<CodingTask>;
export function validate(kind: 'AgentPool', obj: unknown): ValidationResult<AgentPool>;
export function validate(kind: Kind, obj: unknown): ValidationResult<CodingTask | AgentPool>;
export function validate(kind: Kind, obj: unknown): ValidationResult<CodingTask | AgentPool> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return { ok: false, errors: [{ path: '', message: 'a resource must be a YAML mapping' }] };
  const input = structuredClone(obj) as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (input.apiVersion !== API_VERSION) errors.push({ path: 'apiVersion', message: `must be ${API_VERSION}, not ${JSON.stringify(input.apiVersion)}` });
  if (input.kind !== kind) errors.push({ path: 'kind', message: `must be ${kind}, not ${JSON.stringify(input.kind)}` });
  delete input.status;
  errors.push(...validateMetadata(input.metadata));

  const schema = rootSchema(kind);
  pruneDefaultedNulls(schema, input);
  const specIsObject = input.spec !== null && typeof input.spec === 'object' && !Array.isArray(input.spec);
  const defaulted = (specIsObject ? withDefaults(kind, input as { spec?: unknown }) : input) as Record<string, unknown>;
  const structural = validateStructure(schema, defaulted);
  errors.push(...structural);
  errors.push(...validateRules(schema, defaulted, errors.map((e) => e.path)));
  // Sorted by field path, so the errors of one object read top to bottom like the manifest.
  if (errors.length) return { ok: false, errors: dedupe(errors).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
  return { ok: true, object: defaulted as unknown as CodingTask | AgentPool };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

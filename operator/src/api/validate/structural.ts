// Structural-schema validation the way the kube-apiserver does it for a custom resource created with
// strict field validation: the CRD's openAPIV3Schema translated to plain JSON Schema for ajv, with
// the Kubernetes extensions mapped to what they mean (int-or-string, nullable, preserve-unknown-fields,
// and unknown fields rejected wherever the schema lists the properties).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from './errors.js';
import { suggest } from './errors.js';

/** The subset of a CRD structural schema this project uses (and the keywords the apiserver allows). */
export interface CrdSchema {
  type?: string;
  description?: string;
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  required?: string[];
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema | boolean;
  items?: CrdSchema;
  anyOf?: CrdSchema[];
  allOf?: CrdSchema[];
  oneOf?: CrdSchema[];
  not?: CrdSchema;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; fieldPath?: string; reason?: string }[];
  [k: string]: unknown;
}

type JsonSchema = Record<string, unknown>;

const PASS_THROUGH = [
  'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems',
  'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf', 'required',
] as const;

/**
 * Translates a CRD structural schema to JSON Schema (draft 7, as ajv 8 reads it by default).
 * Dropped on purpose: description, default (defaults are applied before validation, as the apiserver
 * does), format (the apiserver only checks a few formats and none of them occur in a spec here), and
 * x-kubernetes-validations (CEL, evaluated separately by ./cel.ts).
 */
export function toJsonSchema(s: CrdSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const k of PASS_THROUGH) if (s[k] !== undefined) out[k] = s[k];
  // OpenAPI v3.0 booleans become draft-7 numbers.
  if (s.exclusiveMinimum && s.minimum !== undefined) { delete out.minimum; out.exclusiveMinimum = s.minimum; }
  if (s.exclusiveMaximum && s.maximum !== undefined) { delete out.maximum; out.exclusiveMaximum = s.maximum; }

  if (s['x-kubernetes-int-or-string']) {
    // The apiserver accepts exactly an integer or a string here; string constraints apply to strings only.
    const str: JsonSchema = { type: 'string' };
    for (const k of ['pattern', 'minLength', 'maxLength'] as const) if (s[k] !== undefined) { str[k] = s[k]; delete out[k]; }
    out.anyOf = [{ type: 'integer' }, str];
  } else if (s.type) {
    out.type = s.nullable ? [s.type, 'null'] : s.type;
    if (s.nullable && Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, toJsonSchema(v)]));
  if (s.items) out.items = toJsonSchema(s.items);
  if (typeof s.additionalProperties === 'object') out.additionalProperties = toJsonSchema(s.additionalProperties);
  else if (typeof s.additionalProperties === 'boolean') out.additionalProperties = s.additionalProperties;
  else if (s.type === 'object' && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-embedded-resource']) {
    // Strict field validation: a field the schema does not declare is an error, not silently pruned.
    out.additionalProperties = false;
  }
  // anyOf/allOf/oneOf/not in a structural schema may not declare types; translate them as they are.
  if (s.anyOf && !s['x-kubernetes-int-or-string']) out.anyOf = s.anyOf.map(toJsonSchema);
  if (s.allOf) out.allOf = s.allOf.map(toJsonSchema);
  if (s.oneOf) out.oneOf = s.oneOf.map(toJsonSchema);
  if (s.not) out.not = toJsonSchema(s.not);
  return out;
}

/**
 * Null for a field that is not nullable but has a default is dropped before defaulting, as the
 * apiserver does, so `limits: null` means "use the defaults" rather than an error.
 */
export function pruneDefaultedNulls(s: CrdSchema, value: unknown): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (s.items) for (const v of value) pruneDefaultedNulls(s.items, v);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (!sub) continue;
    if (v === null && !sub.nullable && sub.default !== undefined) delete obj[k];
    else pruneDefaultedNulls(sub, v);
  }
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, unicodeRegExp: true });
const compiled = new WeakMap<CrdSchema, ValidateFunction>();

export function validateStructure(schema: CrdSchema, value: unknown): FieldError[] {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(toJsonSchema(schema));
    compiled.set(schema, fn);
  }
  if (fn(value)) return [];
  return toFieldErrors(fn.errors ?? [], schema);
}

function pointerToPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function schemaAt(root: CrdSchema, segments: string[]): CrdSchema | undefined {
  let s: CrdSchema | undefined = root;
  for (const seg of segments) {
    if (!s) return undefined;
    if (s.type === 'array') s = s.items;
    else s = s.properties?.[seg] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
  }
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function toFieldErrors(errors: ErrorObject[], root: CrdSchema): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  // An int-or-string (anyOf) failure produces one error per branch plus the anyOf; keep only the anyOf.
  // For a string that fails the string branch (a bad quantity) that branch's error says why; for
  // anything else "an integer or a string" does.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    const segments = pointerToPath(e.instancePath);
    if (anyOfPaths.has(e.instancePath)) {
      const isString = typeof e.data === 'string';
      if (e.keyword === 'anyOf' && isString) continue;
      if (e.keyword !== 'anyOf' && e.schemaPath.includes('/anyOf/') && !(isString && e.keyword !== 'type')) continue;
    }
    let path = segments;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const field = String(e.params.additionalProperty);
        path = [...segments, field];
        const known = Object.keys(schemaAt(root, segments)?.properties ?? {});
        const hint = suggest(field, known);
        message = `unknown field${hint ? ` (did you mean ${hint}?)` : known.length ? ` (known fields: ${known.join(', ')})` : ''}`;
        break;
      }
      case 'required':
        path = [...segments, String(e.params.missingProperty)];
        message = 'Required value';
        break;
      case 'type':
        message = `must be ${article(String(e.params.type))}, not ${describe(e.data)}`;
        break;
      case 'enum':
        message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(e.data)}`;
        break;
      case 'anyOf':
        message = `must be an integer or a string, not ${describe(e.data)}`;
        break;
      case 'minLength':
        message = e.params.limit === 1 ? 'must not be empty' : `must be at least ${e.params.limit} characters long`;
        break;
      case 'maxLength':
        message = `must be at most ${e.params.limit} characters long`;
        break;
      case 'pattern':
        message = `must match the pattern ${e.params.pattern}, not ${JSON.stringify(e.data)}`;
        break;
      default:
        message = e.message ?? `failed ${e.keyword}`;
    }
    const key = `${path.join('.')}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: formatPath(path), message });
  }
  return out;
}

function article(type: string): string {
  const t = type.replace(/,null$/, '');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** ["spec", "tolerations", "0", "value"] → spec.tolerations[0].value */
export function formatPath(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

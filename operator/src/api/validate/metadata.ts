// ObjectMeta checks the apiserver applies to every custom resource (the CRD schema says only
// `metadata: {type: object}`; the real rules live in apimachinery).
import type { FieldError } from './errors.js';
import { suggest } from './errors.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const KNOWN = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
];

export function validateMetadata(meta: unknown): FieldError[] {
  if (meta === undefined || meta === null) return [{ path: 'metadata.name', message: 'Required value' }];
  if (typeof meta !== 'object' || Array.isArray(meta)) return [{ path: 'metadata', message: 'must be an object' }];
  const m = meta as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const k of Object.keys(m)) {
    if (KNOWN.includes(k)) continue;
    const hint = suggest(k, KNOWN);
    errors.push({ path: `metadata.${k}`, message: `unknown field${hint ? ` (did you mean ${hint}?)` : ''}` });
  }
  if (m.name === undefined && m.generateName === undefined) errors.push({ path: 'metadata.name', message: 'Required value' });
  for (const field of ['name', 'generateName'] as const) {
    const v = m[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') errors.push({ path: `metadata.${field}`, message: 'must be a string' });
    else if (v.length > 253) errors.push({ path: `metadata.${field}`, message: 'must be no more than 253 characters' });
    // generateName gets a random suffix, so only the finished name has to end in an alphanumeric.
    else if (!DNS1123_SUBDOMAIN.test(field === 'generateName' ? `${v}x` : v)) {
      errors.push({
        path: `metadata.${field}`,
        message: `${JSON.stringify(v)} is not a lowercase RFC 1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      });
    }
  }
  if (m.namespace !== undefined) {
    if (typeof m.namespace !== 'string' || m.namespace.length > 63 || !DNS1123_LABEL.test(m.namespace)) {
      errors.push({ path: 'metadata.namespace', message: `${JSON.stringify(m.namespace)} is not a lowercase RFC 1123 label` });
    }
  }
  errors.push(...stringMap(m.labels, 'metadata.labels', true));
  errors.push(...stringMap(m.annotations, 'metadata.annotations', false));
  return errors;
}

function stringMap(v: unknown, path: string, labels: boolean): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) return [{ path, message: 'must be a map of strings' }];
  const errors: FieldError[] = [];
  for (const [k, val] of Object.entries(v)) {
    const at = `${path}[${JSON.stringify(k)}]`;
    if (typeof val !== 'string') { errors.push({ path: at, message: 'must be a string' }); continue; }
    if (!validKey(k)) errors.push({ path: at, message: 'key must be a qualified name: an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "."' });
    if (labels && (val.length > 63 || !LABEL_VALUE.test(val))) errors.push({ path: at, message: 'must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit' });
  }
  return errors;
}

function validKey(k: string): boolean {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

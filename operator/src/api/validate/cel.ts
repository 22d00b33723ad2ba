// The CRDs' x-kubernetes-validations rules, evaluated with a real CEL implementation
// (@marcbachmann/cel-js) so a rule added to crds/ is checked locally without code changes here.
// As in the apiserver, `self` is the value at the schema node that carries the rule, integers are
// CEL ints (BigInt) and absent optional fields are absent (so `has()` works).
import { parse, type ParseResult } from '@marcbachmann/cel-js';
import type { FieldError } from './errors.js';
import { formatPath, type CrdSchema } from './structural.js';

const programs = new Map<string, ParseResult>();

function program(rule: string): ParseResult {
  let p = programs.get(rule);
  if (!p) {
    p = parse(rule);
    programs.set(rule, p);
  }
  return p;
}

/** JSON value → CEL value typed by the schema: integer fields become BigInt (CEL int), others stay. */
export function toCel(schema: CrdSchema | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') {
    const intLike = schema?.type === 'integer' || schema?.['x-kubernetes-int-or-string'];
    return intLike && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(schema?.items, v));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const sub = schema?.properties?.[k] ?? (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      out[k] = toCel(sub, v);
    }
    return out;
  }
  return value;
}

/**
 * Evaluates every rule in the schema tree against the value. Rules that reference oldSelf are
 * transition rules: a create has no old object, so, like the apiserver, they are skipped.
 * `structuralErrorPaths` silences evaluation errors under fields that already failed the schema
 * (a rule that reads a mistyped field would only repeat that error less clearly).
 */
export function validateRules(root: CrdSchema, value: unknown, structuralErrorPaths: string[]): FieldError[] {
  const errors: FieldError[] = [];
  walk(root, value, [], errors, structuralErrorPaths);
  return errors;
}

function walk(schema: CrdSchema, value: unknown, path: (string | number)[], errors: FieldError[], bad: string[]): void {
  if (value === undefined || value === null) return;
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(rule.rule)) continue;
    const at = formatPath(path);
    let ok: unknown;
    try {
      ok = program(rule.rule)({ self: toCel(schema, value) });
    } catch (err) {
      const underBadField = bad.some((b) => b === at || b.startsWith(`${at}.`) || b.startsWith(`${at}[`) || at === '');
      if (!underBadField) errors.push({ path: at, message: `rule "${rule.rule}" could not be evaluated: ${(err as Error).message}` });
      continue;
    }
    if (ok === true) continue;
    errors.push({ path: rulePath(path, rule.fieldPath), message: ruleMessage(schema, value, rule) });
  }
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => walk(schema.items as CrdSchema, v, [...path, i], errors, bad));
    return;
  }
  if (typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) walk(sub, v, [...path, k], errors, bad);
  }
}

/** fieldPath is relative to the node with the rule, e.g. ".test.command". */
function rulePath(path: (string | number)[], fieldPath: string | undefined): string {
  if (!fieldPath) return formatPath(path);
  const rel = fieldPath.replace(/^\./, '').split('.').filter(Boolean);
  return formatPath([...path, ...rel]);
}

function ruleMessage(schema: CrdSchema, value: unknown, rule: NonNullable<CrdSchema['x-kubernetes-validations']>[number]): string {
  if (rule.messageExpression) {
    try {
      const m = program(rule.messageExpression)({ self: toCel(schema, value) });
      if (typeof m === 'string' && m.trim()) return m;
    } catch {
      // The apiserver falls back to message when messageExpression fails; so do we.
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}

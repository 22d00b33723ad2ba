// Loads CodingTask and AgentPool manifests from YAML files (several documents per file, as for
// `kubectl apply -f`), validates each against the CRDs and applies their defaults. Every error names
// the file, the document and the field, e.g.
//   task.yaml: document 2 (CodingTask fizzbuzz): spec.limits.maxIterations: must be <= 20
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { AgentPool, CodingTask } from './types.js';
import { formatFieldError, KINDS, validate, type FieldError, type Kind } from './validate.js';
import { validateMetadata } from './validate/metadata.js';

/** Where a resource came from, for messages and for resolving relative paths in it. */
export interface Source {
  file: string;
  /** 1-based index of the YAML document in the file. */
  document: number;
}

/** A ConfigMap, for hidden acceptance tests (spec.test.acceptance.configMapRef) in the local tier. */
export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace?: string };
  data: Record<string, string>;
}

export interface Loaded<T> {
  object: T;
  source: Source;
}

export interface Manifests {
  tasks: Loaded<CodingTask>[];
  pools: Loaded<AgentPool>[];
  configMaps: Loaded<ConfigMap>[];
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ManifestError';
  }
}

function where(src: Source, kind?: unknown, name?: unknown): string {
  const what = typeof kind === 'string' ? ` (${kind}${typeof name === 'string' ? ` ${name}` : ''})` : '';
  return `${src.file}: document ${src.document}${what}`;
}

/** Parses and validates every file; throws ManifestError listing all problems found. */
export function loadManifests(files: string[], read: (file: string) => string = (f) => readFileSync(f, 'utf8')): Manifests {
  const out: Manifests = { tasks: [], pools: [], configMaps: [] };
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      problems.push(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    // YAML 1.1 as kubectl reads it (sigs.k8s.io/yaml): `yes`/`no` are booleans, merge keys work.
    const docs = parseAllDocuments(text, { version: '1.1', merge: true, prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [];
    if (!Array.isArray(docs)) problems.push(`${file}: not a YAML stream`);
    list.forEach((doc, i) => {
      const src: Source = { file, document: i + 1 };
      if (doc.errors.length) {
        for (const e of doc.errors) problems.push(`${where(src)}: invalid YAML: ${e.message.split('\n')[0]}`);
        return;
      }
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) return; // an empty document, as after a trailing ---
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${where(src)}: must be a mapping with apiVersion, kind, metadata and spec`);
        return;
      }
      const v = value as Record<string, unknown>;
      const name = (v.metadata as { name?: unknown } | undefined)?.name;
      const fail = (errs: FieldError[]) => errs.forEach((e) => problems.push(`${where(src, v.kind, name)}: ${formatFieldError(e)}`));
      if (v.kind === 'ConfigMap') {
        const errs = validateConfigMap(v);
        if (errs.length) fail(errs);
        else out.configMaps.push({ object: v as unknown as ConfigMap, source: src });
        return;
      }
      if (!KINDS.includes(v.kind as Kind)) {
        problems.push(`${where(src, v.kind, name)}: kind ${JSON.stringify(v.kind)} is not supported here: use CodingTask, AgentPool (apiVersion autorun.dev/v1alpha1) or ConfigMap`);
        return;
      }
      const r = validate(v.kind as Kind, v);
      if (!r.ok) return fail(r.errors);
      if ((r.object.metadata as { generateName?: string }).generateName !== undefined && r.object.metadata.name === undefined) {
        return fail([{ path: 'metadata.name', message: 'is required by the local tier (generateName is not supported: the name is the key of the recorded state)' }]);
      }
      if (r.object.kind === 'CodingTask') out.tasks.push({ object: r.object, source: src });
      else out.pools.push({ object: r.object as AgentPool, source: src });
    });
  }
  for (const [kind, list] of [['CodingTask', out.tasks], ['AgentPool', out.pools], ['ConfigMap', out.configMaps]] as const) {
    const first = new Map<string, Source>();
    for (const { object, source } of list as Loaded<{ metadata: { name: string } }>[]) {
      const prev = first.get(object.metadata.name);
      if (prev) problems.push(`${where(source, kind, object.metadata.name)}: metadata.name: duplicate of ${prev.file}: document ${prev.document}`);
      else first.set(object.metadata.name, source);
    }
  }
  if (problems.length) throw new ManifestError(problems);
  return out;
}

function validateConfigMap(v: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (v.apiVersion !== 'v1') errors.push({ path: 'apiVersion', message: `must be v1, not ${JSON.stringify(v.apiVersion)}` });
  errors.push(...validateMetadata(v.metadata));
  for (const k of Object.keys(v)) {
    if (!['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable'].includes(k)) errors.push({ path: k, message: 'unknown field' });
  }
  const data = v.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) errors.push({ path: 'data', message: 'must be a map of file names to contents' });
  else {
    for (const [k, val] of Object.entries(data)) {
      if (typeof val !== 'string') errors.push({ path: `data[${JSON.stringify(k)}]`, message: 'must be a string' });
      if (!/^[-._a-zA-Z0-9]+$/.test(k) || k === '.' || k === '..') errors.push({ path: `data[${JSON.stringify(k)}]`, message: 'key must consist of letters, digits, "-", "_" or "."' });
    }
  }
  if (v.binaryData !== undefined) errors.push({ path: 'binaryData', message: 'is not supported by the local tier' });
  if (!errors.length && v.data === undefined) v.data = {};
  return errors;
}

// The failure-report hand-off: the operator reads the run Pod's report from its log and keeps it in
// a ConfigMap owned by the task, which the repair Pod mounts. The report is JSON (the run agent's
// FailureReport), so trimming keeps it valid JSON: it cuts the longest strings and then the longest
// arrays, marking every cut, rather than chopping bytes off the end.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { CodingTask } from '../../api/types.js';
import { ITERATION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, TASK_LABEL, labelValue } from './labels.js';
import { ownerReference } from './owner.js';
import { namePrefix } from '../../core/names.js';

/** The ConfigMap key, which is also the file name in the repair Pod's mount. */
export const REPORT_KEY = 'report.json';
/** Well under the 1 MiB ConfigMap limit, and more than a model can use in one prompt anyway. */
export const REPORT_MAX_BYTES = 512 * 1024;
export const REPORT_BYTES_ANNOTATION = 'autorun.dev/report-bytes';
export const REPORT_TRIMMED_ANNOTATION = 'autorun.dev/report-trimmed';
/** Added to a trimmed JSON report whose top level is an object, so the agent knows it is partial. */
export const TRIMMED_FIELD = 'autorunTrimmed';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Deterministic per task and iteration, like stage names, so the create is idempotent. */
export function reportConfigMapName(task: string, iteration: number): string {
  return `${namePrefix(task)}-i${iteration}-report`;
}

/** The first `max` bytes of s, not splitting a UTF-8 character; reads only what it keeps. */
function headBytes(s: string, max: number): string {
  // A character is at least one byte, so the first max bytes lie within the first max characters.
  let part = s.length > max ? s.slice(0, max) : s;
  if (/[\uD800-\uDBFF]$/.test(part)) part = part.slice(0, -1);
  const buf = Buffer.from(part, 'utf8');
  if (buf.length <= max) return part;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** The last `max` bytes of s, not splitting a UTF-8 character. */
function tailBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  let start = buf.length - max;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

const marker = (n: number): string => `\n…[autorun: ${n} bytes trimmed]…\n`;

/** Plain text: keeps the head (the first failures) and the tail (the runner's summary). */
function trimText(text: string, max: number): string {
  const total = bytes(text);
  // The marker's digits depend on the cut; reserving for the largest number keeps this one pass.
  const room = max - bytes(marker(total));
  if (room <= 0) return headBytes(text, max);
  const tail = tailBytes(text, Math.floor(room / 4));
  const head = headBytes(text, room - bytes(tail));
  return head + marker(total - bytes(head) - bytes(tail)) + tail;
}

const cutMark = (n: number): string => `…[autorun: ${n} bytes trimmed]`;

function capString(v: string, cap: number): string {
  const n = bytes(v);
  if (n <= cap) return v;
  const head = headBytes(v, cap);
  return head + cutMark(n - bytes(head));
}

/** JSON of v with strings cut to strCap bytes and arrays to arrCap items. */
function renderCapped(v: unknown, strCap: number, arrCap: number): string {
  return JSON.stringify(v, function (this: unknown, _key: string, x: unknown) {
    if (typeof x === 'string') return capString(x, strCap);
    if (Array.isArray(x) && x.length > arrCap) return x.slice(0, arrCap);
    return x;
  });
}

/**
 * Bytes of renderCapped(v, strCap, arrCap), computed without building it:
 * the binary searches below call this a few dozen times on reports of many megabytes.
 */
function sizer(): (v: unknown, strCap: number, arrCap: number) => number {
  // Most strings need no escaping (no quote, backslash, control character or lone surrogate): their
  // JSON is their bytes plus two quotes, with no need to build it. \p{Cc} is wider than what JSON
  // escapes; a false alarm only takes the slow, exact path.
  const needsEscape = /["\\\p{Cc}\p{Cs}]/u;
  const jsonBytes = (s: string): number => (needsEscape.test(s) ? bytes(JSON.stringify(s)) : bytes(s) + 2);
  const size = (v: unknown, strCap: number, arrCap: number): number => {
    if (typeof v === 'string') return jsonBytes(capString(v, strCap));
    if (Array.isArray(v)) {
      const k = Math.min(v.length, arrCap);
      let n = 2 + Math.max(0, k - 1);
      for (let i = 0; i < k; i++) n += size(v[i], strCap, arrCap);
      return n;
    }
    if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      let n = 2 + Math.max(0, entries.length - 1);
      for (const [key, x] of entries) n += jsonBytes(key) + 1 + size(x, strCap, arrCap);
      return n;
    }
    return bytes(JSON.stringify(v));
  };
  return size;
}

function longest(v: unknown, pick: (x: unknown) => number): number {
  let m = pick(v);
  if (Array.isArray(v)) for (const x of v) m = Math.max(m, longest(x, pick));
  else if (v && typeof v === 'object') for (const x of Object.values(v)) m = Math.max(m, longest(x, pick));
  return m;
}

/** The largest cap in [lo, hi] for which fits(cap) holds, or lo - 1 if none; fits is monotonic. */
function largestFitting(lo: number, hi: number, fits: (cap: number) => boolean): number {
  let best = lo - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

function trimJson(value: unknown, original: number, max: number): string | undefined {
  const root = value && typeof value === 'object' && !Array.isArray(value) ? { ...value, [TRIMMED_FIELD]: `report trimmed from ${original} bytes to fit ${max}` } : value;
  const size = sizer();
  const all = Number.MAX_SAFE_INTEGER;
  // Strings first: long traces are what makes a report large, and their heads carry the point.
  const minString = 256;
  const strCap = largestFitting(minString, longest(root, (x) => (typeof x === 'string' ? bytes(x) : 0)), (c) => size(root, c, all) <= max);
  if (strCap >= minString) return renderCapped(root, strCap, all);
  const arrCap = largestFitting(1, longest(root, (x) => (Array.isArray(x) ? x.length : 0)), (c) => size(root, minString, c) <= max);
  if (arrCap >= 1) return renderCapped(root, minString, arrCap);
  return undefined;
}

/** The report within maxBytes: unchanged when it fits, else trimmed with visible markers. */
export function trimReport(text: string, maxBytes = REPORT_MAX_BYTES): { text: string; trimmed: boolean; originalBytes: number } {
  const originalBytes = bytes(text);
  if (originalBytes <= maxBytes) return { text, trimmed: false, originalBytes };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const json = parsed !== undefined && typeof parsed === 'object' && parsed !== null ? trimJson(parsed, originalBytes, maxBytes) : undefined;
  return { text: json ?? trimText(text, maxBytes), trimmed: true, originalBytes };
}

/** The task-owned ConfigMap carrying the run stage's failure report of `iteration` to repair. */
export function buildReportConfigMap(task: CodingTask, iteration: number, reportText: string, maxBytes = REPORT_MAX_BYTES): V1ConfigMap {
  const { text, trimmed, originalBytes } = trimReport(reportText, maxBytes);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: reportConfigMapName(task.metadata.name, iteration),
      namespace: task.metadata.namespace,
      labels: {
        [TASK_LABEL]: labelValue(task.metadata.name),
        [ITERATION_LABEL]: String(iteration),
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      annotations: {
        [REPORT_BYTES_ANNOTATION]: String(originalBytes),
        ...(trimmed ? { [REPORT_TRIMMED_ANNOTATION]: 'true' } : {}),
      },
      ownerReferences: [ownerReference(task)],
    },
    // Immutable: the kubelet stops watching it, and a report never changes once written.
    immutable: true,
    data: { [REPORT_KEY]: text },
  };
}

// The StageResult an agent hands back (a Pod's termination message, a local stage's result file):
// parsed and checked against the contract by one function for both shells, so a result the
// operator refuses is refused locally too (the local tier used to skip the usage and flaggedTests
// checks and accept unknown fields), and every refusal reads the same: an InvalidStageResult whose
// message starts "an invalid result: " and names the field.
import { STAGE_RESULT_MAX_BYTES, type Role, type StageResult, type TestCounts, type Usage } from '../api/types.js';
import { ROLES } from './roles.js';

const OUTCOMES: readonly StageResult['outcome'][] = ['Succeeded', 'Failed', 'Error'];

/** Why a result was refused; the shells record it as failure reason BadTerminationMessage. */
export class InvalidStageResult extends Error {
  constructor(what: string) {
    super(`an invalid result: ${what}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function checkTests(v: unknown): TestCounts | string {
  if (!isObj(v)) return 'tests must be an object';
  for (const k of ['passed', 'failed', 'total'] as const) if (!isCount(v[k])) return `tests.${k} must be a non-negative integer`;
  if (v.failing !== undefined && !isStrings(v.failing)) return 'tests.failing must be an array of strings';
  if (v.flaky !== undefined && !isStrings(v.flaky)) return 'tests.flaky must be an array of strings';
  const t: TestCounts = { passed: v.passed as number, failed: v.failed as number, total: v.total as number, failing: (v.failing as string[] | undefined) ?? [] };
  if (v.flaky !== undefined) t.flaky = v.flaky as string[];
  return t;
}

function checkUsage(v: unknown): Usage | string {
  if (!isObj(v)) return 'usage must be an object';
  for (const k of ['inputTokens', 'outputTokens'] as const) if (!isCount(v[k])) return `usage.${k} must be a non-negative integer`;
  for (const k of ['cacheReadTokens', 'cacheWriteTokens'] as const) if (v[k] !== undefined && !isCount(v[k])) return `usage.${k} must be a non-negative integer`;
  const cost = v.costUSD;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) return 'usage.costUSD must be a non-negative number';
  const u: Usage = { inputTokens: v.inputTokens as number, outputTokens: v.outputTokens as number, costUSD: cost };
  if (v.cacheReadTokens !== undefined) u.cacheReadTokens = v.cacheReadTokens as number;
  if (v.cacheWriteTokens !== undefined) u.cacheWriteTokens = v.cacheWriteTokens as number;
  return u;
}

/**
 * The StageResult in a termination message, validated against the contract and reduced to its
 * known fields (so nothing unexpected reaches the task's status), or an Error saying what is wrong.
 */
export function parseStageResult(text: string): StageResult | InvalidStageResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return new InvalidStageResult(`not JSON: ${(e as Error).message}`);
  }
  if (!isObj(v)) return new InvalidStageResult('not a JSON object');
  if (typeof v.role !== 'string' || !(ROLES as readonly string[]).includes(v.role)) return new InvalidStageResult(`role must be one of ${ROLES.join(', ')}`);
  if (typeof v.outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(v.outcome)) return new InvalidStageResult(`outcome must be one of ${OUTCOMES.join(', ')}`);
  if (typeof v.summary !== 'string') return new InvalidStageResult('summary must be a string');
  const r: StageResult = { role: v.role as Role, outcome: v.outcome as StageResult['outcome'], summary: v.summary };
  for (const k of ['commit', 'reason', 'hungTest', 'pullRequestURL'] as const) {
    if (v[k] === undefined) continue;
    if (typeof v[k] !== 'string') return new InvalidStageResult(`${k} must be a string`);
    r[k] = v[k] as string;
  }
  if (v.tests !== undefined) {
    const t = checkTests(v.tests);
    if (typeof t === 'string') return new InvalidStageResult(t);
    r.tests = t;
  }
  if (v.usage !== undefined) {
    const u = checkUsage(v.usage);
    if (typeof u === 'string') return new InvalidStageResult(u);
    r.usage = u;
  }
  if (v.flaggedTests !== undefined) {
    if (!isStrings(v.flaggedTests)) return new InvalidStageResult('flaggedTests must be an array of strings');
    r.flaggedTests = v.flaggedTests;
  }
  if (v.truncated !== undefined) {
    if (typeof v.truncated !== 'boolean') return new InvalidStageResult('truncated must be a boolean');
    r.truncated = v.truncated;
  }
  return r;
}

/** parseStageResult for a stage of `role`: a result another role wrote is refused too. */
export function parseStageResultOf(text: string, role: Role): StageResult | InvalidStageResult {
  if (Buffer.byteLength(text) > STAGE_RESULT_MAX_BYTES * 4) return new InvalidStageResult(`${Buffer.byteLength(text)} bytes, more than ${STAGE_RESULT_MAX_BYTES}`);
  const r = parseStageResult(text);
  if (r instanceof Error) return r;
  if (r.role !== role) return new InvalidStageResult(`the result is for role ${r.role} but the stage is ${role}`);
  return r;
}

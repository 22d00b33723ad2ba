// Writing the StageResult: the kubelet keeps at most 4096 bytes of the termination message, and the
// operator decides from it alone, so it must always be valid JSON of the contract, even when cut.
import { writeFileSync } from 'node:fs';
import { STAGE_RESULT_MAX_BYTES } from '../api/types.js';
import type { StageResult } from '../api/types.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character, marking the cut. */
export function cutUtf8(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  const ell = '…';
  let out = '';
  for (const ch of s) {
    if (bytes(out + ch) + bytes(ell) > max) break;
    out += ch;
  }
  return out + ell;
}

/**
 * Serialises a result within `max` bytes. Order of sacrifice: failing names (from the end), flaky and
 * flagged names, then the summary; the counts, outcome, reason, commit and usage always survive.
 */
export function encodeResult(result: StageResult, max = STAGE_RESULT_MAX_BYTES): string {
  let json = JSON.stringify(result);
  if (bytes(json) <= max) return json;
  const r: StageResult = structuredClone(result);
  r.truncated = true;
  const fits = (): boolean => bytes((json = JSON.stringify(r))) <= max;
  const lists: string[][] = [];
  if (r.tests) {
    r.tests.failing = r.tests.failing.map((n) => cutUtf8(n, 200));
    lists.push(r.tests.failing);
    if (r.tests.flaky) lists.push(r.tests.flaky);
  }
  if (r.flaggedTests) lists.push(r.flaggedTests);
  r.summary = cutUtf8(r.summary, 1024);
  if (fits()) return json;
  for (const list of lists) {
    // Drop about as many names as the excess in one go, so the names that remain are the most.
    while (list.length > 0 && !fits()) {
      let over = bytes(json) - max;
      do over -= bytes(JSON.stringify(list.pop())) + 1;
      while (over > 0 && list.length > 0);
    }
    if (fits()) return json;
  }
  while (!fits() && r.summary.length > 0) {
    const over = bytes(json) - max;
    r.summary = bytes(r.summary) > over + 1 ? cutUtf8(r.summary, bytes(r.summary) - over - 1) : '';
  }
  if (fits()) return json;
  // Only hostile input gets here (a huge reason or commit): keep the fields the operator needs.
  const minimal: StageResult = { role: r.role, outcome: r.outcome, summary: '', truncated: true };
  if (r.tests) minimal.tests = { passed: r.tests.passed, failed: r.tests.failed, total: r.tests.total, failing: [] };
  if (r.reason) minimal.reason = cutUtf8(r.reason, 64);
  if (r.pullRequestURL) minimal.pullRequestURL = cutUtf8(r.pullRequestURL, 2048);
  return JSON.stringify(minimal);
}

export function exitCodeFor(outcome: StageResult['outcome']): number {
  return outcome === 'Succeeded' ? 0 : outcome === 'Failed' ? 1 : 2;
}

/** Writes the termination message; returns the JSON written. */
export function writeResult(path: string, result: StageResult): string {
  const json = encodeResult(result);
  writeFileSync(path, json);
  return json;
}

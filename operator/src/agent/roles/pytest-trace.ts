// What pytest's output says about a failing test: where the implementation raised, the test
// file's line it stopped at, each failing test's part of the text output. Python (pytest) only:
// its traces name the test file's line that failed and end with "path:line: ExceptionType".
import { isTestPath } from '../tools/paths.js';

export interface CodeCrash {
  exception: string;
  /** path:line of the raise, a file of the implementation. */
  where: string;
  /** The line pytest marked there, when it did. */
  line?: string;
}

/** Where a failing test's exception was raised, when that was in the implementation and not an assertion. */
export function crashInCode(trace: string): CodeCrash | undefined {
  const lines = trace.trimEnd().split('\n');
  const last = /^(\S+?\.py):(\d+): (\w+(?:\.\w+)*)$/.exec(lines[lines.length - 1]?.trim() ?? '');
  if (!last) return undefined;
  const [, path, lineNo, exception] = last as unknown as [string, string, string, string];
  if (isTestPath(path) || /(^|\.)AssertionError$/.test(exception) || path.includes('site-packages/')) return undefined;
  // The line pytest marked with ">" last is the one that raised.
  const marked = lines.filter((l) => /^>\s+\S/.test(l)).pop();
  return { exception, where: `${path}:${lineNo}`, ...(marked ? { line: marked.replace(/^>\s+/, '').trim() } : {}) };
}

export interface FailingCheck {
  path: string;
  line: number;
  /** The test's line pytest marked, when it did. */
  check?: string;
}

/** The test file's line a failing test stopped at: the first "path:line:" of a test file in its trace. */
export function failingCheck(trace: string): FailingCheck | undefined {
  const lines = trace.split('\n');
  for (const l of lines) {
    const m = /^(\S+?\.py):(\d+):/.exec(l.trim());
    if (!m || !isTestPath(m[1] as string)) continue;
    const marked = lines.find((x) => /^>\s+\S/.test(x));
    return { path: m[1] as string, line: Number(m[2]), ...(marked ? { check: marked.replace(/^>\s+/, '').trim() } : {}) };
  }
  return undefined;
}

/** Each failing test's part of pytest's text output (the repair check's own run), by its "____ test_name ____" header. */
export function sectionsOf(output: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = output.split(/^_{3,} (\S+) _{3,}$/m);
  for (let k = 1; k + 1 < parts.length; k += 2) out.set(parts[k] as string, (parts[k + 1] as string).split(/^={3,}/m)[0] as string);
  return out;
}

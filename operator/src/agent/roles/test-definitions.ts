// Whether the test role's files hold a test at all. The 1.5B model once wrote the placeholder
// "<|insert_test_code|>" as tests/test_solution.py and called finished: the run stage then failed
// collection, repair flagged the file, and the loop spent its iterations on a file with no test.
// A test the runner collects has a recognisable definition in every language the loop knows. And,
// writing fizzbuzz's tests, the same model copied fizzbuzz itself into the test file: the tests
// then checked the copy, never the implementation.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentContext } from '../context.js';
import { isTestPath } from '../tools/paths.js';

const DEFINITION: Record<AgentContext['language'], RegExp | undefined> = {
  python: /^\s*(async\s+)?def\s+test\w*\s*\(|^\s*class\s+Test\w*/m,
  javascript: /\b(test|it)(\.(each|only|concurrent)\b[^(]*)?\s*\(/,
  typescript: /\b(test|it)(\.(each|only|concurrent)\b[^(]*)?\s*\(/,
  go: /^func\s+(Test|Fuzz|Example)\w*\s*\(/m,
  // The task's own test command decides what a test is.
  other: undefined,
};

const DEFINITION_HINT: Record<AgentContext['language'], string> = {
  python: 'a test is a function named test_... (def test_something():) with an assert',
  javascript: "a test is a test('...', () => { ... }) call with an expect",
  typescript: "a test is a test('...', () => { ... }) call with an expect",
  go: 'a test is a func TestSomething(t *testing.T) in a _test.go file',
  other: '',
};

const SKIPPED_DIRS = new Set(['node_modules', 'vendor', 'venv', '__pycache__']);

/** The workspace's test source files (dot directories and dependency trees skipped). */
function testSources(workspace: string, dir = ''): string[] {
  let entries;
  try {
    entries = readdirSync(join(workspace, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) return e.name.startsWith('.') || SKIPPED_DIRS.has(e.name) ? [] : testSources(workspace, rel);
    return e.isFile() && isTestPath(rel) && /\.(py|[cm]?[jt]sx?|go)$/.test(e.name) ? [rel] : [];
  });
}

/** The workspace's test source files with their text (a file gone meanwhile is left out). */
export function testTexts(workspace: string): { file: string; text: string }[] {
  return testSources(workspace).flatMap((file) => {
    try {
      return [{ file, text: readFileSync(join(workspace, file), 'utf8') }];
    } catch {
      return [];
    }
  });
}

/** Top-level function definitions of a test file (Python def, JavaScript function) that are not tests. */
const DEFINED: Partial<Record<AgentContext['language'], RegExp>> = {
  python: /^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/gm,
  javascript: /^(?:export\s+)?(?:async\s+)?function\s+([A-Za-z_$][\w$]*)\s*\(/gm,
  typescript: /^(?:export\s+)?(?:async\s+)?function\s+([A-Za-z_$][\w$]*)\s*\(/gm,
};

/** The functions a goal names (a name followed by "("): what the implementation provides. */
function goalFunctions(goal: string): Set<string> {
  return new Set([...goal.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]!).filter((n) => !/^test/i.test(n)));
}

/** A test file that defines a function the goal asks for tests its own copy: which file and name. */
export function copiedImplementation(workspace: string, goal: string, language: AgentContext['language']): string | undefined {
  const re = DEFINED[language];
  if (!re) return undefined;
  const named = goalFunctions(goal);
  for (const { file: f, text } of testTexts(workspace)) {
    const copy = [...text.matchAll(re)].map((m) => m[1]!).find((n) => named.has(n));
    if (copy) return `${f} defines ${copy} itself, so its tests check that copy and never the implementation: remove the copy and import ${copy} from where the goal says it lives.`;
  }
  return undefined;
}

/** What keeps the test role's work from being done: no test at all, or tests of a copy. */
export function testsUnfinished(workspace: string, goal: string, language: AgentContext['language']): string | undefined {
  return missingTests(workspace, language) ?? copiedImplementation(workspace, goal, language);
}

/** An expected error in a test: pytest.raises(X) / assertRaises(X); expect(...).toThrow(X?). */
const EXPECTED_ERROR: Partial<Record<AgentContext['language'], RegExp>> = {
  python: /\b(?:pytest\.raises|assertRaises)\(\s*\(?\s*([\w.]+)/g,
  javascript: /\.toThrow\w*\(\s*([A-Za-z_$][\w$.]*)?/g,
  typescript: /\.toThrow\w*\(\s*([A-Za-z_$][\w$.]*)?/g,
};

/** Whether the goal says anything raises, throws or fails (in English: see the README). */
export function goalMentionsErrors(goal: string): boolean {
  return /\b(rais|throw|reject|error|exception|invalid)/i.test(goal);
}

/**
 * A test that expects an error the goal never mentions: the goal names neither that error nor
 * raising or throwing at all. The 1.5B test agent added `pytest.raises(ValueError): flip_case(123)`
 * to HumanEval/27's tests in two runs out of two (and `fizzbuzz(1.5)` once): the correct code then
 * failed it, repair bent the code to it instead of flagging it, and the loop spent its iterations.
 * Unlike testsUnfinished, a reason to refuse finished, not to fail the stage: the goal's wording
 * may say it in words this check does not know.
 */
export function unstatedErrors(workspace: string, goal: string, language: AgentContext['language']): string | undefined {
  const re = EXPECTED_ERROR[language];
  if (!re || goalMentionsErrors(goal)) return undefined;
  for (const { file: f, text } of testTexts(workspace)) {
    const m = [...text.matchAll(re)][0];
    if (m) {
      const what = m[1] ? m[1] : 'an error';
      return `${f} expects ${what}, but the goal never says that anything raises or throws: a test checks only what the goal states, with the values it gives. Remove the checks that expect an error.`;
    }
  }
  return undefined;
}

/** `assert <call> == <list, tuple, dict or set literal>`, on one line. */
const COMPOSITE_EXPECTATION = /^[ \t]*assert[ \t]+.+?[ \t]*==[ \t]*([[({].*[\])}])[ \t]*(?:#.*)?$/gm;

const squeezed = (s: string): string => s.replace(/\s+/g, '').replace(/"/g, "'");

/**
 * The 0-based lines of a Python test file's checks whose expected list, tuple or dict the test
 * agent worked out itself, when the file copies others from the goal's examples (so the goal gives
 * examples of that kind); unsupported-checks.ts takes them out. The local 1.5B model worked such
 * values out wrong: HumanEval/136's tests copied (None, 1) and (None, None) from the goal, then
 * expected (-1, 1) for [-1, -2, -3, -4, -5] (the goal's rule gives (-1, None)) and twenty lines of
 * (-1, 5); the correct code failed them, and repair broke it to fit. For the local engine only: a
 * larger model's computed edge cases are mostly right and worth having.
 */
export function computedLines(text: string, goal: string): number[] {
  const given = squeezed(goal);
  const checks = [...text.matchAll(COMPOSITE_EXPECTATION)].map((m) => ({ line: text.slice(0, m.index).split('\n').length - 1, stated: given.includes(squeezed(m[1]!.trim())) }));
  return checks.some((c) => c.stated) ? checks.filter((c) => !c.stated).map((c) => c.line) : [];
}

/**
 * Why the workspace has no test yet, or undefined when some test file defines one. Only files
 * that can hold a test definition count (conftest.py or a fixture alone is not a test).
 */
export function missingTests(workspace: string, language: AgentContext['language']): string | undefined {
  const re = DEFINITION[language];
  if (!re) return undefined;
  const sources = testTexts(workspace);
  if (sources.some(({ text }) => re.test(text))) return undefined;
  const tests = sources.map(({ file }) => file);
  const what = tests.length ? `${tests.join(', ')} define${tests.length === 1 ? 's' : ''} no test` : 'no test file is written';
  return `${what}: ${DEFINITION_HINT[language]}.`;
}

const FENCE: Partial<Record<AgentContext['language'], string>> = { python: 'python', javascript: 'javascript', typescript: 'typescript' };
const GOAL_IMPORT: Partial<Record<AgentContext['language'], RegExp>> = {
  python: /`((?:from\s+[\w.]+\s+)?import\s+[\w., ]+)`/g,
  javascript: /`((?:const|let|var)\s+[^`=]+=\s*require\([^`)]+\);?|import\s+[^`]+\s+from\s+['"][^'"`]+['"];?)`/g,
  typescript: /`(import\s+[^`]+\s+from\s+['"][^'"`]+['"];?)`/g,
};

/**
 * How a test file the test role writes as text begins, when the goal states how the code is
 * imported (`from fizzbuzz import fizzbuzz`): those imports, so the file tests the implementation.
 * With the import already written, the model tested it; left to start the file itself, it copied
 * the function in (see copiedImplementation) and did not take the refusal's advice.
 */
export function testFileStart(goal: string, language: AgentContext['language']): string | undefined {
  const re = GOAL_IMPORT[language];
  if (!re) return undefined;
  const imports = [...new Set([...goal.matchAll(re)].map((m) => m[1]!.trim()))];
  if (!imports.length) return undefined;
  const lines = language === 'python' ? ['import pytest', ...imports.filter((i) => i !== 'import pytest')] : imports;
  return `\`\`\`${FENCE[language]}\n${lines.join('\n')}\n`;
}

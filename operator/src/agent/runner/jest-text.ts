// Failing tests from jest's default reporter, for a command that wrote no --json report (a custom
// `npm test`): each failure is a "● describe › test" block under its "FAIL <file>" header. Names
// match parseJestJson's (file::full name, a suite that cannot run is file::(suite)), so a re-run
// with --json can tell which of them pass now.
import { dedent } from './types.js';
import type { TestCase } from './types.js';

const HEADER = /^(PASS|FAIL) (\S+)/;
const BULLET = /^\s*● (.+)$/;
/** jest's code frame ("> 3 | code", "  | ^") and stack lines end the message. */
const FRAME = /^\s*(>\s*)?\d*\s*\|/;

function messageOf(body: string[]): string {
  const lines: string[] = [];
  for (const l of body) {
    if (FRAME.test(l) || /^\s+at /.test(l)) break;
    if (l.trim()) lines.push(l.trim());
  }
  return lines.slice(0, 6).join('\n');
}

/** Lines without ANSI colours. */
export function parseJestText(lines: string[]): TestCase[] {
  const cases = new Map<string, TestCase>();
  let file: string | undefined;
  let open: { c: TestCase; body: string[] } | undefined;
  const close = (): void => {
    if (!open) return;
    open.c.trace = dedent(open.body);
    open.c.message = messageOf(open.body) || (open.c.status === 'error' ? 'test suite failed to run' : 'failed');
    // The "Summary of all failing tests" section repeats each failure: keep the first.
    if (!cases.has(open.c.name)) cases.set(open.c.name, open.c);
    open = undefined;
  };
  for (const l of lines) {
    const h = HEADER.exec(l);
    if (h) {
      close();
      // A file at the root is printed as ./file.test.js; the JSON report names it file.test.js.
      file = h[2]!.replace(/^\.\//, '');
      continue;
    }
    const b = BULLET.exec(l);
    if (b && file) {
      close();
      const title = b[1]!.trim();
      if (title === 'Console') continue;
      if (title === 'Test suite failed to run') {
        open = { c: { name: `${file}::(suite)`, status: 'error', location: file, runner: 'jest' }, body: [] };
      } else {
        // jest's full name joins the describe titles and the test title with spaces.
        const local = title.split(' › ').join(' ');
        open = { c: { name: `${file}::${local}`, status: 'failed', location: file, localName: local, runner: 'jest' }, body: [] };
      }
      continue;
    }
    if (/^(Test Suites|Tests|Summary of all failing tests):?/.test(l.trim())) {
      close();
      continue;
    }
    open?.body.push(l);
  }
  close();
  return [...cases.values()];
}

// JUnit XML (pytest --junitxml, and most runners) to test cases. pytest's xunit1 flavour carries a
// file attribute, from which the pytest node id (tests/test_x.py::TestY::test_z) is rebuilt, so the
// failing names can be handed straight back to pytest to re-run them.
import { descendants, parseXml } from './xml.js';
import type { ParsedRun, TestCase } from './types.js';

export function pytestNodeId(file: string, classname: string, name: string): string {
  const module = file.replace(/\.py$/, '').split('/').join('.');
  // A collection error is reported as a test named after its module: its node id is the file.
  if (!classname && name === module) return file;
  const cls = classname.startsWith(module) ? classname.slice(module.length).replace(/^\./, '') : '';
  return [file, ...(cls ? cls.split('.') : []), name].join('::');
}

export function parseJUnit(xml: string): ParsedRun {
  const doc = parseXml(xml);
  const cases: TestCase[] = [];
  for (const tc of descendants(doc, 'testcase')) {
    const { name = '', classname = '', file } = tc.attrs;
    const fullName = file ? pytestNodeId(file, classname, name) : classname ? `${classname}.${name}` : name;
    const failure = tc.children.find((c) => c.name === 'failure');
    const error = tc.children.find((c) => c.name === 'error');
    const skipped = tc.children.find((c) => c.name === 'skipped');
    const bad = failure ?? error;
    const c: TestCase = { name: fullName, status: failure ? 'failed' : error ? 'error' : skipped ? 'skipped' : 'passed' };
    if (file) c.location = file;
    if (bad) {
      c.message = bad.attrs.message ?? bad.text.trim().split('\n').pop() ?? '';
      c.trace = bad.text.trim();
    }
    cases.push(c);
  }
  return { cases };
}

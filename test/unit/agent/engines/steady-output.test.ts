import { steadyOutput, unwrapSource } from '../../../../operator/src/agent/engines/steady-output.js';

const ws = '/tmp/autorun-e2e-x1y2/.autorun/fizzbuzz/stages/fizzbuzz-i1-code-a0/workspace';

test("pytest's timing and the workspace path are taken out of a command's output", () => {
  const out = `exit code 1\nrootdir: ${ws}\n${ws}/fizzbuzz.py:3: ValueError\n==== 1 failed, 3 passed in 0.05s ====\n`;
  expect(steadyOutput(out, ws)).toBe('exit code 1\nrootdir: .\nfizzbuzz.py:3: ValueError\n==== 1 failed, 3 passed in … ====\n');
  // Two runs that differ only in wall time read the same.
  expect(steadyOutput('4 passed in 0.02s', ws)).toBe(steadyOutput('4 passed in 1.37s', ws));
});

test('jest and go test timings too; counts, exit codes and other numbers stay', () => {
  expect(steadyOutput('Tests:       2 passed, 2 total\nTime:        1.234 s', '')).toBe('Tests:       2 passed, 2 total\nTime:        …');
  expect(steadyOutput('ok  \texample.com/m\t0.004s\nFAIL\texample.com/n\t12.5s', '')).toBe('ok  \texample.com/m\t…\nFAIL\texample.com/n\t…');
  expect(steadyOutput('exit code 0\nassert fizzbuzz(15) == "FizzBuzz"\nsleep(2)', '')).toBe('exit code 0\nassert fizzbuzz(15) == "FizzBuzz"\nsleep(2)');
});

test('a tag pair the model wrapped around a source file is taken off; other files and contents stay', () => {
  const real = '<tests>\nimport pytest\nfrom fizzbuzz import fizzbuzz\n\ndef test_one():\n    assert fizzbuzz(1) == "1"\n\n</tests>';
  expect(unwrapSource('tests/test_fizzbuzz.py', real)).toBe('import pytest\nfrom fizzbuzz import fizzbuzz\n\ndef test_one():\n    assert fizzbuzz(1) == "1"\n');
  expect(unwrapSource('index.html', '<html>\n<body></body>\n</html>')).toBe('<html>\n<body></body>\n</html>');
  expect(unwrapSource('a.py', 'x = "<b>"\n')).toBe('x = "<b>"\n');
  // Only a matching pair: an opening tag alone is left for the model to see in its test run.
  expect(unwrapSource('a.py', '<tests>\nx = 1\n')).toBe('<tests>\nx = 1\n');
});

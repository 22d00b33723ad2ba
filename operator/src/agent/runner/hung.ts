// Which test was running when a test command was killed at its timeout, read from what the runner
// printed as tests started: `pytest -v` writes a test's id before running it and its outcome after;
// `go test -json` emits a "run" event per test and a pass/fail/skip event when it ends. Runners that
// name a test only when it ends (jest, pytest -q) leave it unknown.

/** pytest -v: the last line is a test id with no outcome after it yet. */
function pytestHung(output: string): string | undefined {
  const lines = output.replace(/\s+$/, '').split('\n');
  const last = lines.at(-1)?.trim() ?? '';
  const m = /^(\S+::\S+)$/.exec(last);
  return m ? m[1] : undefined;
}

/** go test -json: the last test that started and never ended. */
function goHung(stdout: string): string | undefined {
  const open: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev: { Action?: string; Test?: string; Package?: string };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      continue;
    }
    if (!ev.Test) continue;
    const id = `${ev.Package ? `${ev.Package}.` : ''}${ev.Test}`;
    if (ev.Action === 'run') open.push(id);
    else if (ev.Action === 'pass' || ev.Action === 'fail' || ev.Action === 'skip') {
      const i = open.lastIndexOf(id);
      if (i >= 0) open.splice(i, 1);
    }
  }
  return open.at(-1);
}

export function hungTest(stdout: string, output: string): string | undefined {
  return goHung(stdout) ?? pytestHung(output);
}

// `make bench-solve`: how often the local model solves HumanEval problems through the whole loop,
// beside the same model single-shot on the same problems in the same run. Each problem is a task
// whose goal is the prompt (signature and docstring) and whose hidden acceptance test is the
// package's check(), which no agent ever sees; single-shot is one code stage and nothing after it.
// Both are judged alike: check() against the solution.py the arm left (the loop's only when its task
// succeeded). Problems run one at a time (each stage loads the model and uses every core).
//
//   node dist/bench/solve.js [--problems N | --all | --ids 0,12,...] [--arms loop,single] [--iterations N] [--out DIR]
//   node dist/bench/solve.js --report DIR/results.json   (the figures of the problems a stopped run finished)
//   default: 6 problems spread evenly over the 164 (HumanEval/0, /27, /54, ...), both arms.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { cliPath, repoRoot } from '../test/harness/tools.js';
import { loopAttempt, singleAttempt, type Attempt } from './humaneval/arms.js';
import { problemNumber, readProblems, spreadSubset } from './humaneval/problems.js';

// About 600 CPU-seconds a problem for both arms (HumanEval/0 here): 6 fill ~30 minutes of 2 idle cores.
export const DEFAULT_PROBLEMS = 6;

const { values } = parseArgs({
  options: {
    problems: { type: 'string' },
    all: { type: 'boolean' },
    ids: { type: 'string' },
    arms: { type: 'string', default: 'single,loop' },
    iterations: { type: 'string', default: '3' },
    out: { type: 'string' },
    report: { type: 'string' },
  },
});

const root = repoRoot();
const data = execFileSync(join(root, 'hack', 'fetch-humaneval.sh'), { encoding: 'utf8' }).trim();
const all = readProblems(data);
const problems = values.ids
  ? values.ids.split(',').map((id) => {
      const p = all.find((q) => problemNumber(q) === Number(id));
      if (!p) throw new Error(`--ids: no problem HumanEval/${id}`);
      return p;
    })
  : values.all
    ? all
    : spreadSubset(all, Number(values.problems ?? DEFAULT_PROBLEMS));
const arms = values.arms!.split(',').filter((a) => a === 'loop' || a === 'single');
const out = values.out ?? join(tmpdir(), `autorun-bench-solve-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(out, { recursive: true });
const cli = cliPath(root);
const limits = { maxIterations: Number(values.iterations), timeout: '30m' };

type Result = { id: string; arm: string; a: Attempt };
const pad = (s: string | number, n: number): string => String(s).padEnd(n);
if (values.report) {
  // The figures of a run that was stopped part way: the problems it finished, in both arms.
  const done = JSON.parse(readFileSync(values.report, 'utf8')) as Result[];
  const ids = [...new Set(done.map((r) => r.id))].filter((id) => arms.every((arm) => done.some((r) => r.id === id && r.arm === arm)));
  report(done.filter((r) => ids.includes(r.id)), ids, undefined);
  process.exit(0);
}
const results: Result[] = [];
console.log(`bench-solve: ${problems.length} HumanEval problems, arms ${arms.join(' and ')}, loop maxIterations ${limits.maxIterations}; work in ${out}`);
const started = Date.now();
for (const p of problems) {
  for (const arm of arms) {
    const a = arm === 'loop' ? await loopAttempt(p, cli, out, limits) : await singleAttempt(p, cli, out);
    results.push({ id: p.task_id, arm, a });
    console.log(`${pad(p.task_id, 14)} ${pad(arm, 6)} ${a.solved ? 'SOLVED' : 'failed'}  ${pad(a.verdict, 26)} ${pad(`${Math.round(a.seconds)} s`, 7)} ${pad(a.cpuSeconds === undefined ? '' : `${Math.round(a.cpuSeconds)} cpu-s`, 11)} ${pad(`${a.inputTokens}+${a.outputTokens} tok`, 16)} judge: ${a.judge.slice(0, 80)}${a.leftCodePasses === undefined ? '' : a.leftCodePasses ? ' (the code it was left with passes check())' : ' (the code it was left with fails check() too)'}`);
    writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
  }
}

report(results, problems.map((p) => p.task_id), out);
console.log(`wall time ${Math.round((Date.now() - started) / 1000)} s; results in ${join(out, 'results.json')}`);

function report(results: Result[], ids: string[], out: string | undefined): void {
  console.log(`\nper problem (${ids.length}):`);
  console.log(`${pad('problem', 14)} ${arms.map((a) => pad(a, 30)).join(' ')}`);
  for (const id of ids) {
    const cells = arms.map((arm) => {
      const a = results.find((r) => r.id === id && r.arm === arm)!.a;
      return pad(`${a.solved ? 'pass' : 'FAIL'} ${Math.round(a.seconds)}s ${a.stages} st ${a.inputTokens + a.outputTokens} tok`, 30);
    });
    console.log(`${pad(id, 14)} ${cells.join(' ')}`);
  }
  const summary: Record<string, { passAt1: number; solved: number; attempts: number; seconds: number; cpuSeconds: number; tokens: number }> = {};
  console.log('');
  for (const arm of arms) {
    const rs = results.filter((r) => r.arm === arm).map((r) => r.a);
    const solved = rs.filter((a) => a.solved).length;
    const seconds = rs.reduce((n, a) => n + a.seconds, 0);
    const tokens = rs.reduce((n, a) => n + a.inputTokens + a.outputTokens, 0);
    const cpuSeconds = rs.reduce((n, a) => n + (a.cpuSeconds ?? 0), 0);
    summary[arm] = { passAt1: solved / rs.length, solved, attempts: rs.length, seconds, cpuSeconds, tokens };
    const per = solved ? `per solved task ${Math.round(tokens / solved)} tokens, ${Math.round(seconds / solved)} s wall, ${Math.round(cpuSeconds / solved)} cpu-s` : 'nothing solved';
    console.log(`${pad(arm, 6)} pass@1 ${((100 * solved) / rs.length).toFixed(1)} % (${solved}/${rs.length}); ${per} (all attempts: ${tokens} tokens, ${Math.round(seconds)} s wall, ${Math.round(cpuSeconds)} cpu-s)`);
  }
  const vetoed = results.filter((r) => r.arm === 'loop' && r.a.leftCodePasses).map((r) => r.id);
  if (arms.includes('loop')) console.log(`loop tasks that failed with code that passes check() (their own tests failed it, not counted as passes): ${vetoed.length}${vetoed.length ? ` (${vetoed.join(', ')})` : ''}`);
  if (summary.loop && summary.single) {
    console.log(`loop lift: ${(100 * (summary.loop.passAt1 - summary.single.passAt1)).toFixed(1)} points over single-shot (published single-shot figure for Qwen2.5-Coder-1.5B-Instruct: 70.7 %)`);
  }
  if (out) writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
}

// The pull request's title and body, from the goal and the stage records alone (pure, like the rest
// of the core): the publish stage receives them in its context, so both shells open the same text.
import type { CodingTaskSpec } from '../api/types.js';
import { redactTokenShapes } from '../util/secrets.js';
import { costOfRecords } from './cost.js';
import { iterationCapOf } from './limits.js';
import { isFinished, type StageRecord } from './records.js';
import { verdictOf } from './verdict.js';

/** GitHub caps titles at 256 characters; shorter reads better in lists. */
export const MAX_TITLE = 72;
/** Well below GitHub's 65,536-character body limit and one env variable's 128 KiB. */
export const MAX_BODY = 16_000;
const MAX_CELL = 140;

function clip(s: string, n: number): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length <= n ? line : `${line.slice(0, n - 1)}…`;
}

const cell = (s: string | undefined): string => clip(s ?? '', MAX_CELL).replace(/\|/g, '\\|');

/** The first sentence or line of the goal, as a title, cut at a word when it is long. */
export function pullRequestTitle(goal: string): string {
  const first = (goal.trim().split(/\n|(?<=[.!?])\s/)[0] ?? goal).replace(/\s+/g, ' ').replace(/[.!?]$/, '');
  if (first.length <= MAX_TITLE) return redactTokenShapes(first);
  const cut = first.slice(0, MAX_TITLE - 1);
  const word = cut.lastIndexOf(' ');
  return redactTokenShapes(`${(word > MAX_TITLE / 2 ? cut.slice(0, word) : cut).replace(/[\s,;:]+$/, '')}…`);
}

export function pullRequestText(task: string, spec: CodingTaskSpec, records: readonly StageRecord[], gpuHourUSD: number): { title: string; body: string } {
  const done = records.filter((r) => isFinished(r) && r.role !== 'publish');
  const tests = [...done].reverse().find((r) => r.role === 'run' && r.tests);
  const acceptance = [...done].reverse().find((r) => r.role === 'acceptance' && r.tests);
  const iterations = done.length ? Math.max(...done.map((r) => r.iteration)) : 0;
  const cost = costOfRecords(done, gpuHourUSD);
  const lines = [
    `> ${clip(spec.goal, 2000)}`,
    '',
    `Built by [autorun](https://github.com/autorun-dev/autorun) for CodingTask \`${task}\`: the code and the tests were written by independent agents, then run, repaired and re-run until they passed.`,
    '',
  ];
  if (tests) {
    const v = verdictOf(tests);
    const flaky = tests.tests?.flaky?.length ? ` (flaky, passed on a re-run: ${tests.tests.flaky.map((t) => `\`${t}\``).join(', ')})` : '';
    lines.push(`- **Tests:** ${v.passed}/${v.total} passed${flaky}`);
  }
  if (acceptance) {
    const v = verdictOf(acceptance);
    lines.push(`- **Hidden acceptance tests:** ${v.passed}/${v.total} passed`);
  }
  lines.push(`- **Iterations:** ${iterations} of at most ${iterationCapOf(spec)}`);
  const gpu = cost.gpuSeconds ? `, ${cost.gpuSeconds} GPU-seconds` : '';
  lines.push(`- **Cost:** $${cost.totalUSD.toFixed(2)} (models $${cost.llmUSD.toFixed(2)}${gpu})`);
  lines.push('', '| stage | state | tests | summary |', '| --- | --- | --- | --- |');
  for (const r of done) {
    const t = r.tests ? `${r.tests.passed}/${r.tests.total}` : '';
    lines.push(`| ${r.name} | ${r.state}${r.reason && r.reason !== r.state && r.state !== 'Succeeded' ? ` (${r.reason})` : ''} | ${t} | ${cell(r.summary)} |`);
  }
  let body = redactTokenShapes(lines.join('\n'));
  if (body.length > MAX_BODY) body = `${body.slice(0, MAX_BODY - 40)}\n\n… (cut; the task's status has every stage)`;
  return { title: pullRequestTitle(spec.goal), body };
}

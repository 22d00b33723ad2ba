// Repair's finished is checked by running the tests. HumanEval/68's 1.5B repair agent changed
// float('inf') to float('None') and called finished without running anything; the run stage then
// found the code broken, and the iteration was spent. Run here, the same command through the same
// sandboxed run_command, the failure goes back to the model in the stage it caused.
import type { AgentContext } from '../context.js';
import { COMMAND_MAX_TIMEOUT_S } from '../tools/command-tools.js';
import type { ToolSpec } from '../tools/types.js';

/** The command a role runs the tests with when the task names none: what TEST_LAYOUT tells the agents. */
const DEFAULT_TEST_COMMAND: Record<AgentContext['language'], string | undefined> = {
  python: 'python -m pytest -q -p no:cacheprovider',
  javascript: 'npm test --silent',
  typescript: 'npm test --silent',
  go: 'go test ./...',
  other: undefined,
};

/** Most characters of the failing run's output shown with the refusal (its end: pytest's summary). */
const OUTPUT_SHOWN = 2500;

export function testCommandOf(ctx: Pick<AgentContext, 'language' | 'test'>): string | undefined {
  return ctx.test.command ?? DEFAULT_TEST_COMMAND[ctx.language];
}

/**
 * Why repair is not done yet: the tests fail after its change. Nothing to say once it flagged a test
 * (that verdict answers the failing run); no check at all where there is no command to run.
 * latest.output keeps the run's output.
 */
export function failingAfterRepair(
  ctx: Pick<AgentContext, 'language' | 'test'>,
  runCommand: ToolSpec,
  flagged: ReadonlyMap<string, string>,
  latest: { output?: string } = {},
): (() => Promise<string | undefined>) | undefined {
  const command = testCommandOf(ctx);
  // No command to run: the loop's own rule (the model's last test run) is all there is.
  if (!command) return undefined;
  return async () => {
    if (flagged.size) return undefined;
    const out = await runCommand.run({ command, timeout_seconds: Math.min(ctx.test.timeoutSeconds, COMMAND_MAX_TIMEOUT_S) });
    const [head = '', ...rest] = out.split('\n');
    const output = rest.join('\n').trim();
    // The run a flag that follows is judged by (flag-refusal.ts).
    latest.output = output;
    if (/^exit code 0\b/.test(head)) return undefined;
    const shown = output.length > OUTPUT_SHOWN ? `[…]\n${output.slice(-OUTPUT_SHOWN)}` : output;
    return `the tests fail after your change (\`${command}\`: ${head}):\n${shown}\nFix the implementation; flag a test only where what it expects contradicts the goal.`;
  };
}

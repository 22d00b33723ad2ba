// run_command for code and repair, and flag_test for repair. Commands run in the workspace, in the
// bubblewrap sandbox (sandbox.ts) with the agent's secrets removed from the environment: the model
// writes the code that runs here, and a command could otherwise read the key from /proc.
import { execSandboxed } from '../exec.js';
import { scrubEnv } from '../../util/secrets.js';
import { ToolError, str } from './types.js';
import type { ToolSpec } from './types.js';

export const COMMAND_DEFAULT_TIMEOUT_S = 120;
export const COMMAND_MAX_TIMEOUT_S = 600;
export const COMMAND_OUTPUT_CAP = 30_000;

export function runCommandTool(root: string, env: NodeJS.ProcessEnv = process.env): ToolSpec {
  const clean = scrubEnv(env);
  return {
    name: 'run_command',
    description: `Run a shell command in the workspace root, in a sandbox: only the workspace is writable, /tmp is private, and no secrets are in its environment. Output is capped at ${COMMAND_OUTPUT_CAP} characters; the command is killed after timeout_seconds (default ${COMMAND_DEFAULT_TIMEOUT_S}, at most ${COMMAND_MAX_TIMEOUT_S}).`,
    inputSchema: {
      type: 'object',
      properties: { command: { type: 'string' }, timeout_seconds: { type: 'number' } },
      required: ['command'],
    },
    async run(input) {
      const command = str(input, 'command');
      const t = typeof input.timeout_seconds === 'number' ? input.timeout_seconds : COMMAND_DEFAULT_TIMEOUT_S;
      const timeoutS = Math.max(1, Math.min(COMMAND_MAX_TIMEOUT_S, t));
      const r = await execSandboxed(command, { cwd: root, env: clean, agentEnv: env, network: true, timeoutMs: timeoutS * 1000, maxOutputBytes: COMMAND_OUTPUT_CAP, killGraceMs: 1000 });
      const head = r.timedOut ? `killed after ${timeoutS}s (timeout)` : `exit code ${r.exitCode ?? r.signal}`;
      return `${head}\n${r.output}`;
    },
  };
}

/**
 * Collects the tests the repair agent believes are wrong; they go to result.flaggedTests. refusal
 * says why a flag is not taken (roles/flag-refusal.ts), for the model to hear.
 */
export function flagTestTool(flagged: Map<string, string>, refusal: (name: string) => string | undefined = () => undefined): ToolSpec {
  return {
    name: 'flag_test',
    effect: 'verdict',
    description:
      'Report a test you believe is wrong (it contradicts the goal) instead of editing it. Give its exact name as in the failure report and why. The test agent will revise it.',
    inputSchema: { type: 'object', properties: { name: { type: 'string' }, reason: { type: 'string' } }, required: ['name', 'reason'] },
    async run(input) {
      const name = str(input, 'name').trim();
      if (!name) throw new ToolError('name must not be empty');
      const refused = refusal(name);
      if (refused) throw new ToolError(refused);
      flagged.set(name, str(input, 'reason'));
      return `flagged ${name}`;
    },
  };
}

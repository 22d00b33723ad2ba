// A tool the model may call: a JSON-schema description for the API and the function behind it.
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
  /**
   * What a successful call does beyond answering, as the tool loop needs to know it: 'write' changes
   * the workspace (a session that can write has done nothing until it has); 'verdict' is a judgement
   * on the work that counts as a write and also answers a failing test run, as a fix would
   * (repair's flag_test: the test, not the code, is wrong, and the test agent revises it).
   */
  effect?: 'write' | 'verdict';
  /** Returns the text sent back as tool_result; throws ToolError for an is_error result. */
  run(input: Record<string, unknown>): Promise<string>;
}

/** A refusal or failure the model should see and can recover from. */
export class ToolError extends Error {}

export function str(input: Record<string, unknown>, key: string, required = true): string {
  const v = input[key];
  if (typeof v === 'string') return v;
  if (v === undefined && !required) return '';
  throw new ToolError(`${key} must be a string`);
}

// A tool the model may call: a JSON-schema description for the API and the function behind it.
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
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

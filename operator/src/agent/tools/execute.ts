// Runs one tool call of the model: its arguments checked against the tool's JSON schema first (with
// ajv, as the API's own validation), so a wrong call comes back to the model as an error naming the
// argument instead of a failure deep inside the tool.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ToolError, type ToolSpec } from './types.js';

/** Most characters of one tool result sent back to the model. */
export const MAX_TOOL_RESULT = 60_000;

// strict off: a tool schema is the model's documentation too, and may carry keywords ajv does not
// know (examples, titles); a strict compile would turn those into a failed call.
const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<ToolSpec['inputSchema'], ValidateFunction>();

function validator(tool: ToolSpec): ValidateFunction {
  let fn = compiled.get(tool.inputSchema);
  if (!fn) {
    fn = ajv.compile(tool.inputSchema);
    compiled.set(tool.inputSchema, fn);
  }
  return fn;
}

/** One line per wrong argument: "content: required", "timeout_seconds: must be number". */
function describe(e: ErrorObject): string {
  const path = e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return `${path ? `${path}.` : ''}${missing}: required`;
  }
  return `${path || '(the arguments)'}: ${e.message ?? e.keyword}`;
}

/** Why the arguments do not fit the tool's schema, or undefined when they do. */
export function argumentErrors(tool: ToolSpec, input: unknown): string | undefined {
  const fn = validator(tool);
  if (fn(input)) return undefined;
  return `invalid arguments for ${tool.name}: ${(fn.errors ?? []).map(describe).join('; ')}`;
}

export async function executeTool(tools: ToolSpec[], name: string, input: unknown): Promise<{ text: string; isError: boolean }> {
  const tool = tools.find((t) => t.name === name);
  if (!tool) return { text: `unknown tool ${name}`, isError: true };
  // A model that sends no arguments at all for a tool without required ones means "the defaults".
  const args = input === undefined || input === null ? {} : input;
  const invalid = argumentErrors(tool, args);
  if (invalid) return { text: invalid, isError: true };
  try {
    const text = await tool.run(args as Record<string, unknown>);
    return { text: text.length > MAX_TOOL_RESULT ? text.slice(0, MAX_TOOL_RESULT) + '\n[truncated]' : text, isError: false };
  } catch (e) {
    if (e instanceof ToolError) return { text: e.message, isError: true };
    return { text: `tool failed: ${(e as Error).message}`, isError: true };
  }
}

// The one tool loop of the LLM roles, for every engine that drives a model turn by turn (sdk on the
// Anthropic Messages API and Vertex, openai-compatible, local): ask the provider for a turn, run the
// tools it calls, hand back the results, until the model ends, calls `finished`, or a cap is reached.
// Budgets, spend reporting, the transcript and the stage's outcome live here; a provider adapter only
// speaks its wire format (messages, cache breakpoints, usage fields) and its client's failures.
import { addUsage, emptyUsage, type Price, type TokenCounts } from '../pricing.js';
import { noteSpend } from '../spend.js';
import type { ApiFailure } from './api-errors.js';
import { CallBound, overBudget, refuseNextCall } from './budget.js';
import { executeTool } from '../tools/execute.js';
import { firstLine } from './first-line.js';
import type { ToolSpec } from '../tools/types.js';
import type { EngineRequest, EngineResult } from './types.js';

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  /** Set when the arguments did not parse; the model gets this back as the tool's error. */
  badArguments?: string;
}

export interface ModelTurn {
  text: string;
  calls: ToolCall[];
  /** max_tokens: cut off at the token limit. */
  stop: 'end' | 'tool_calls' | 'max_tokens';
  usage: TokenCounts;
  /** Provider facts for the turn's transcript line (the wire's own stop reason, its usage fields). */
  log?: Record<string, unknown>;
}

export interface ToolResult {
  call: ToolCall;
  text: string;
  isError: boolean;
}

export interface ProviderAdapter {
  /**
   * One model turn over the conversation so far, or why the call failed for good. `avoid`: tools the
   * model has called twice alike since it last wrote a file; a grammar-constrained provider leaves
   * them out of this turn.
   */
  next(turn: number, avoid: string[]): Promise<ModelTurn | ApiFailure>;
  /** Appends the model's turn and the results of its calls to the conversation. */
  record(turn: ModelTurn, results: ToolResult[]): void;
  /** Appends a user message (the loop's nudges). */
  say(text: string): void;
  /** Why a stage might end with no tool call at all, for the stage summary. */
  noToolCallCauses?: string;
  /** Bytes of the next request (what next() would send), for a strict stage's worst-case check. */
  requestBytes?(): number;
}

export const FINISHED_TOOL = 'finished';

/** The explicit end of a grammar-constrained session, where every turn is a tool call. */
export function finishedTool(): ToolSpec {
  return {
    name: FINISHED_TOOL,
    description: 'Call this once the work is complete (and, where you can run the tests, they pass). summary: one short line saying what you did.',
    inputSchema: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
    run: async () => 'finished',
  };
}

/** A shell command that runs a test suite, whose failing exit makes `finished` premature. */
export function isTestCommand(command: string): boolean {
  return /\b(pytest|unittest|jest|vitest|mocha|go\s+test|npm\s+(run\s+)?test|cargo\s+test)\b/.test(command);
}


/** How often `finished` is refused after a failing test run before the loop takes the model's word. */
const MAX_FINISH_REFUSALS = 3;

export interface LoopOptions {
  /** The model ends with the finished tool (grammar-constrained calls leave no other way to stop). */
  finishTool?: boolean;
  /** The pool's price per million tokens when the table has none. */
  price?: Price;
  /** The max_tokens every request sends: the worst case of a reply. */
  maxTokens?: number;
  /**
   * A frontier model (Claude) is taken at its word: a session that ends without any tool call is its
   * answer (nothing needed changing), and a repeated call is not second-guessed. The guards against
   * small models' habits (NoToolCalls, the repeat nudge) are for the self-served ones.
   */
  frontier?: boolean;
}

export async function toolLoop(req: EngineRequest, adapter: ProviderAdapter, opts: LoopOptions = {}): Promise<EngineResult> {
  const { model, transcript } = req;
  const tools = opts.finishTool ? [...req.tools, finishedTool()] : req.tools;
  let usage = req.spent ? { ...req.spent } : emptyUsage();
  let finalText = '';
  let toolCalls = 0;
  let lastTest: { command: string; exit: string } | undefined;
  let refusals = 0;
  // A session that can write files but has written none has not done its job yet.
  const effect = new Map(tools.map((t) => [t.name, t.effect]));
  const writes = tools.some((t) => t.effect !== undefined);
  let wrote = false;
  // Read-only calls since the last write, and the tools of those repeated: their answers cannot have
  // changed. The bench's test agent alternated list_files and read_file README.md for 38 turns, which
  // a check against the previous call alone never caught.
  const since = new Set<string>();
  const stale = new Set<string>();
  const written = new Set<string>();
  // Under a grammar the model can only call what is offered: `finished` is not on offer until the
  // session has written something. On HumanEval/16 the 1.5B test agent called it four times with no
  // test file, and a refusal only kept it away for the turn after.
  const unwritten = (): string[] => (opts.finishTool && writes && !wrote ? [FINISHED_TOOL] : []);
  let avoid: string[] = unwritten();
  const bound = new CallBound(model.name, opts.maxTokens ?? 0, opts.price);
  for (let turn = 1; turn <= model.maxTurns; turn++) {
    const bytes = adapter.requestBytes?.();
    if (bytes !== undefined) {
      const refused = refuseNextCall(model, usage, bound.worstUSD(bytes));
      if (refused) {
        transcript.log('budget', { turn, refused });
        return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turn - 1} turns: ${refused}`, finalText, usage, turns: turn - 1 };
      }
    }
    const t = await adapter.next(turn, avoid);
    if ('reason' in t) {
      transcript.log('model-error', { turn, reason: t.reason, summary: t.summary });
      return { outcome: 'Error', reason: t.reason, summary: t.summary, finalText, usage, turns: turn - 1 };
    }
    if (bytes !== undefined) bound.called(bytes, t.usage);
    usage = addUsage(model.name, usage, t.usage, opts.price);
    noteSpend(usage);
    if (t.text) finalText = t.text;
    transcript.log('assistant', { turn, stop: t.stop, ...t.log, text: t.text, toolCalls: t.calls.map((c) => ({ name: c.name, input: c.input })), costUSD: usage.costUSD });
    const results: ToolResult[] = [];
    let finished: string | undefined;
    let refusedFinish = false;
    let missing: string | undefined;
    for (const call of t.calls) {
      toolCalls++;
      let r: { text: string; isError: boolean };
      if (call.badArguments) r = { text: call.badArguments, isError: true };
      else if (opts.finishTool && call.name === FINISHED_TOOL) {
        const summary = String((call.input as { summary?: unknown })?.summary ?? '').trim();
        if (writes && !wrote && refusals < MAX_FINISH_REFUSALS) {
          refusals++;
          r = { text: 'Not finished: you have not written or changed any file yet. Do the task with the tools first, then call finished.', isError: true };
        } else if (refusals < MAX_FINISH_REFUSALS && (missing = await req.unfinished?.())) {
          refusals++;
          r = { text: `Not finished: ${missing} Do it with the tools, then call finished.`, isError: true };
        } else if (!req.unfinished && lastTest && !/^exit code 0\b/.test(lastTest.exit) && refusals < MAX_FINISH_REFUSALS) {
          // A role that judges its own finish (repair runs the tests itself) is not judged twice.
          refusals++;
          r = { text: `Not finished: your last test run \`${lastTest.command}\` failed (${lastTest.exit}). Read its output, fix the code, run the tests again, and call finished when they pass.`, isError: true };
        } else {
          finished = summary || 'the model finished';
          r = { text: 'finished', isError: false };
        }
        // Greedy decoding would call it again word for word: a refused finished is not offered next turn.
        if (r.isError) refusedFinish = true;
      } else {
        r = await executeTool(tools, call.name, call.input);
        const key = `${call.name} ${JSON.stringify(call.input)}`;
        const writing = effect.get(call.name) !== undefined;
        if (writing && !r.isError) {
          if (written.has(key) && !opts.frontier) {
            // The same write again changes nothing: greedy decoding wrote the same test file three
            // times over instead of calling finished.
            r = { ...r, text: `${r.text}\n\n(That is exactly what you wrote before: nothing changed. If the work is done, call finished.)` };
            stale.add(call.name);
          } else {
            written.add(key);
            since.clear();
            stale.clear();
          }
          wrote = true;
        }
        // Small models repeat a call whose answer they already have (list_files, over and over).
        // A refused write repeated word for word is as stale as a repeated read.
        if ((!writing || r.isError) && !opts.frontier) {
          if (since.has(key)) {
            r = { ...r, text: `${r.text}\n\n(You made this exact call before and got the same answer. Take the next step of the task now.)` };
            stale.add(call.name);
          }
          since.add(key);
        }
        const command = (call.input as { command?: unknown })?.command;
        if (call.name === 'run_command' && typeof command === 'string' && isTestCommand(command)) lastTest = { command, exit: r.text.split('\n')[0] ?? '' };
        // A verdict answers the failing run as a fix would. HumanEval/109's repair flagged the one
        // failing test, was refused finished for that very run three times, and spent its
        // iterations' time re-running it.
        if (effect.get(call.name) === 'verdict' && !r.isError) lastTest = undefined;
      }
      transcript.log('tool-result', { turn, name: call.name, isError: r.isError, output: r.text.slice(0, 2000) });
      results.push({ call, ...r });
    }
    avoid = [...new Set([...stale, ...(refusedFinish ? [FINISHED_TOOL] : []), ...unwritten()])];
    adapter.record(t, results);
    if (overBudget(usage, model.budgetUSD)) {
      return { outcome: 'Failed', reason: 'Budget', summary: `stopped after ${turn} turns: the stage budget of $${model.budgetUSD} is spent`, finalText, usage, turns: turn };
    }
    if (finished !== undefined) return { outcome: 'Succeeded', summary: firstLine(finished), finalText: finished, usage, turns: turn };
    if (t.calls.length) continue;
    if (t.stop === 'max_tokens') {
      adapter.say('Your reply was cut off at the token limit. Continue, in smaller steps.');
      continue;
    }
    if (!toolCalls && req.tools.length && !opts.frontier) {
      // A model that never calls a tool changed nothing: say so instead of a silent success.
      const causes = adapter.noToolCallCauses ? ` Likely causes: ${adapter.noToolCallCauses}` : '';
      return {
        outcome: 'Failed',
        reason: 'NoToolCalls',
        summary: `the model made no tool call in ${turn} turn(s), so it changed nothing; it said: ${JSON.stringify(firstLine(finalText) || '(nothing)')}.${causes}`,
        finalText,
        usage,
        turns: turn,
      };
    }
    return { outcome: 'Succeeded', summary: firstLine(finalText) || 'the model finished', finalText, usage, turns: turn };
  }
  return { outcome: 'Failed', reason: 'TurnCap', summary: `the model did not finish within ${model.maxTurns} turns`, finalText, usage, turns: model.maxTurns };
}

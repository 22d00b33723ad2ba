// An engine drives one model session for an LLM role: the built-in tool loop (sdk, on Anthropic or
// an OpenAI-compatible server) or Claude Code headless. The role decides what the session may touch.
import type { Usage } from '../../api/types.js';
import type { AgentContext } from '../context.js';
import type { ToolSpec } from '../tools/types.js';
import type { Transcript } from '../transcript.js';

export interface EngineRequest {
  system: string;
  prompt: string;
  /** Tools of the built-in loop; claude-code uses its own, limited by claudeTools. */
  tools: ToolSpec[];
  /** Claude Code tool names the role allows (claude-code engine). */
  claudeTools: string[];
  model: AgentContext['model'];
  workspace: string;
  /** The agent's environment: API keys come from here, never from the context. */
  env: NodeJS.ProcessEnv;
  transcript: Transcript;
  /** The stage's retry number (0 first): a greedy local model samples a retry, which would otherwise repeat the failure token for token. */
  attempt?: number;
  /** The stage is another try at work already tried and judged (a fresh start): a greedy local model samples it, or it would write the first try's code again. */
  retake?: boolean;
  /** Which of a stage's independent takes this session is (0 first): each is sampled with its own seed. */
  take?: number;
  /**
   * What the stage spent in its earlier takes: the session's budget and reported spend start from
   * it, and its result's usage includes it (the built-in tool loop; Claude Code gets no takes).
   */
  spent?: Usage;
  /** How a parameter the model writes as text begins, where the role knows (a test file's imports the goal states). */
  textStart?: (tool: string, input: Record<string, unknown>) => string | undefined;
  /**
   * What still keeps the role's work from being done (the test role: no test defined; repair: the
   * tests fail); the loop refuses `finished` with it. Without it, the loop refuses `finished` after
   * the model's own failing test run.
   */
  unfinished?: () => string | undefined | Promise<string | undefined>;
}

export interface EngineResult {
  outcome: 'Succeeded' | 'Failed' | 'Error';
  /** TurnCap, Budget, Unauthorized, Forbidden, BadRequest, RateLimited, Overloaded, ... */
  reason?: string;
  summary: string;
  /** The model's last text, used for the stage summary. */
  finalText: string;
  usage: Usage;
  turns: number;
}

export type Engine = (req: EngineRequest) => Promise<EngineResult>;

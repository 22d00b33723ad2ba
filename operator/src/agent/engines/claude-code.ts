// Claude Code headless as the engine: `claude -p` with stream-json output, edits accepted, only the
// role's tools offered. Ownership rules that Claude Code cannot enforce per path are enforced again
// when the role commits (see roles/llm-role.ts).
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SECRET_NAME, SECRET_VARS, scrubEnv } from '../../util/secrets.js';
import { bwrapPath, sandboxArgs, sandboxEnabled, shellPrefixScript } from '../sandbox.js';
import { apiFailure } from './api-errors.js';
import type { ApiFailure } from './api-errors.js';
import { hopelessRetry, mapClaudeResult, parseStreamJson, transientRetry } from './stream-json.js';
import { DEFAULT_RETRY_WINDOW_SECONDS } from './retry.js';
import { MODEL_UNAVAILABLE } from '../../core/retryable.js';
import { addUsage, emptyUsage } from '../pricing.js';
import { noteSpend } from '../spend.js';
import { MODEL_API_KEY_FILE_ENV, modelCredential, noCredential, VERTEX_PROJECT_ENV, VERTEX_REGION_ENV } from '../credentials.js';
import { EXEC_SOCKET_ENV } from '../exec-container/protocol.js';
import { execShellPrefixScript } from '../exec-container/shell-prefix.js';
import type { EngineRequest, EngineResult } from './types.js';
import { killGroup, spawnGroup } from '../children.js';
import { vertexSettings } from './vertex.js';
import { startBudgetGate, type BudgetGate } from './budget-gate.js';
import type { Usage } from '../../api/types.js';

/** Where Claude Code sends its calls without ANTHROPIC_BASE_URL. */
const DEFAULT_ANTHROPIC_URL = 'https://api.anthropic.com';

/** Whole-session deadline; the Pod's activeDeadlineSeconds is the outer one. */
const SESSION_TIMEOUT_MS = 4 * 3600_000;
/** Grace between SIGTERM and SIGKILL when the engine stops a session. */
const KILL_GRACE_MS = 2000;
/** Enough retries that the retry window (which the engine enforces) ends an outage, not the CLI's count. */
const CLAUDE_MAX_RETRIES = 10_000;
/** The stream-json lines kept for mapping (the result is the last one); the transcript has them all. */
const MAX_EVENTS = 10_000;

/**
 * Permission deny rules for the file tools (Read, and Grep and Glob, which Read rules cover): /proc
 * (Claude Code's own environ holds the key) and the key file's directory. Claude Code refuses both
 * already (reads outside the workspace are blocked, through symlinks too); these hold should that
 * setting ever change. `//` starts an absolute path in a rule.
 */
export function denyRules(env: NodeJS.ProcessEnv): string[] {
  const keyFile = env[MODEL_API_KEY_FILE_ENV];
  return ['Read(//proc/**)', ...(keyFile ? [`Read(/${dirname(resolve(keyFile))}/**)`] : [])];
}

export function claudeArgs(req: Pick<EngineRequest, 'prompt' | 'system' | 'claudeTools' | 'model'>, deny: string[] = []): string[] {
  const tools = req.claudeTools.join(',');
  const { budgetUSD } = req.model;
  return [
    '-p',
    req.prompt,
    '--output-format',
    'stream-json',
    '--verbose',
    '--max-turns',
    String(req.model.maxTurns),
    // Claude Code checks it after each model call and ends with subtype error_max_budget_usd. A
    // budget of 0 never gets here: the CLI refuses it and the engine does not start the session.
    ...(budgetUSD !== undefined && budgetUSD > 0 ? ['--max-budget-usd', String(budgetUSD)] : []),
    '--permission-mode',
    'acceptEdits',
    // --tools is what the model is offered (without it, all ~25 built-ins, WebFetch among them);
    // --allowedTools pre-approves them, or Bash would be denied for want of someone to ask.
    '--tools',
    tools,
    '--allowedTools',
    tools,
    '--append-system-prompt',
    req.system,
    '--model',
    req.model.name,
    // HOME is thrown away after the stage; nothing would ever resume the session.
    '--no-session-persistence',
    // The file tools stay inside the stage's workspace in every permission mode: in the local tier
    // a sibling stage's workspace (the implementation, for the test agent) is a directory away.
    // Bash, which code and repair have, is not confined by this: it runs in the command sandbox
    // (CLAUDE_CODE_SHELL_PREFIX, see sandboxShell); the test agent has no Bash.
    '--settings',
    JSON.stringify({ permissions: { blockFileToolReadsOutsideWorkingDirectories: true, blockWritesOutsideWorkingDirectories: true, ...(deny.length ? { deny } : {}) } }),
  ];
}

interface Session {
  events: Record<string, unknown>[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stderr tail, for crash summaries. */
  stderr: string;
  /** Set when the engine stopped the session itself. */
  stopped?: { status?: number; why: string };
  /** The session was stopped because the model stayed unavailable for the whole retry window. */
  outage?: boolean;
}

/** Runs claude in its own process group, logging each stream-json line as it arrives; stops the
 *  session (the whole group) at the deadline or at a retry notice for an error retries cannot fix. */
function runSession(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, windowMs: number, onEvent: (ev: Record<string, unknown>) => void): Promise<Session> {
  return new Promise((resolve) => {
    const session: Session = { events: [], exitCode: null, signal: null, stderr: '' };
    // spawnGroup: the agent's stop handler kills this session's group too.
    const child = spawnGroup(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string, status?: number): void => {
      if (session.stopped) return;
      session.stopped = { why, status };
      if (child.pid) killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const deadline = setTimeout(() => stop(`no result within ${SESSION_TIMEOUT_MS / 60_000} minutes`), SESSION_TIMEOUT_MS);
    let pending = '';
    // Since when the CLI has been retrying without a model answer in between: the pool's window
    // bounds that, as it bounds the tool loops' retries (retry.ts); the CLI's own count does not.
    let outageSince: number | undefined;
    const take = (text: string): void => {
      for (const ev of parseStreamJson(text)) {
        onEvent(ev);
        session.events.push(ev);
        if (session.events.length > MAX_EVENTS) session.events.splice(0, session.events.length - MAX_EVENTS);
        const status = hopelessRetry(ev);
        if (status !== undefined) stop(typeof ev.error === 'string' ? ev.error : 'the API refused the request', status);
        if (ev.type === 'assistant') outageSince = undefined;
        const transient = transientRetry(ev);
        if (transient) {
          outageSince ??= Date.now();
          if (Date.now() - outageSince >= windowMs) {
            session.outage = true;
            stop(`the model API stayed unavailable for the ${Math.round(windowMs / 1000)}s retry window`, transient.status);
          }
        }
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const cut = pending.lastIndexOf('\n');
      if (cut < 0) return;
      take(pending.slice(0, cut));
      pending = pending.slice(cut + 1);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      session.stderr = (session.stderr + d).slice(-4000);
    });
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      // Tools the model started may outlive claude in its group.
      if (session.stopped && child.pid) killGroup(child.pid, 'SIGKILL');
      take(pending);
      pending = '';
      resolve({ ...session, exitCode, signal });
    };
    child.on('error', (e) => {
      session.stderr += `${e.message}\n`;
      finish(127, null);
    });
    child.on('close', finish);
  });
}

/**
 * How Claude Code reaches the model. Vertex: Claude Code's own Vertex mode with Google ADC (Workload
 * Identity's metadata server; the credentials file, if any, stays scrubbed because the model's
 * commands inherit this env); the region and project are the Pod env the operator sets.
 */
export function claudeModelEnv(req: Pick<EngineRequest, 'model' | 'env'>): { env: Record<string, string> } | ApiFailure {
  const { model, env } = req;
  if (model.provider === 'vertex') {
    const s = vertexSettings(model, env);
    if ('reason' in s) return s;
    return {
      env: {
        CLAUDE_CODE_USE_VERTEX: '1',
        [VERTEX_REGION_ENV]: s.region,
        ...(s.projectId ? { [VERTEX_PROJECT_ENV]: s.projectId } : {}),
        ...(s.baseURL ? { ANTHROPIC_VERTEX_BASE_URL: s.baseURL } : {}),
      },
    };
  }
  if (model.provider !== 'anthropic') {
    return { reason: 'ProviderUnsupported', summary: `the claude-code engine supports providers anthropic and vertex, not ${model.provider}` };
  }
  const cred = modelCredential(env, model.provider);
  if (!cred) return { reason: 'Unauthorized', summary: noCredential(model.provider) };
  const baseURL = model.baseURL || env.ANTHROPIC_BASE_URL;
  // Claude Code sends ANTHROPIC_AUTH_TOKEN as `Authorization: Bearer`, as the SDK does an authToken.
  const credEnv = cred.kind === 'authToken' ? 'ANTHROPIC_AUTH_TOKEN' : 'ANTHROPIC_API_KEY';
  return { env: { [credEnv]: cred.value, ...(baseURL ? { ANTHROPIC_BASE_URL: baseURL } : {}) } };
}

/**
 * Claude Code's Bash through the same bubblewrap sandbox as the sdk engine's commands. Claude Code
 * 2.1.330 has a sandbox of its own (settings \`sandbox\`, CLAUDE_CODE_SUBPROCESS_ENV_SCRUB, bubblewrap
 * on Linux) but it refuses to start without socat and its network proxies; its shell prefix lets the
 * one sandbox serve both engines. The wrapper lives outside everything the sandbox shows (the real
 * /tmp is covered), so no command can rewrite it; Claude Code's HOME is shown read-only (its shell
 * snapshot is sourced before each command) and its TMPDIR writable (it records the cwd there).
 */
async function sandboxShell(req: EngineRequest, home: string, tmp: string): Promise<{ env: Record<string, string>; dir?: string }> {
  const socket = req.env[EXEC_SOCKET_ENV];
  if (socket) {
    // In an LLM Pod: every Bash command goes to the exec container (exec-container/shell-prefix.ts).
    // The script is in this container's private /tmp, which no command sees. Background commands
    // would write their output into Claude Code's TMPDIR, which the exec container does not share.
    const dir = await mkdtemp(join(tmpdir(), 'autorun-claude-exec-'));
    const script = join(dir, 'bash-exec.mjs');
    await writeFile(script, execShellPrefixScript(process.execPath, socket, SECRET_NAME, SECRET_VARS));
    await chmod(script, 0o500);
    return { env: { CLAUDE_CODE_SHELL_PREFIX: script, CLAUDE_CODE_DISABLE_BACKGROUND_TASKS: '1' }, dir };
  }
  if (!sandboxEnabled(req.env)) return { env: {} };
  const dir = await mkdtemp(join(tmpdir(), 'autorun-claude-sandbox-'));
  const args = sandboxArgs(['/bin/bash', '-c'], { workspace: req.workspace, network: true, env: req.env, readOnly: [home], writable: [tmp] });
  const script = join(dir, 'bash-sandbox.mjs');
  await writeFile(script, shellPrefixScript(process.execPath, bwrapPath(req.env), args, SECRET_NAME, SECRET_VARS));
  await chmod(script, 0o500);
  return { env: { CLAUDE_CODE_SHELL_PREFIX: script }, dir };
}

/**
 * The session's spend so far from its assistant events (one per content block, each carrying its
 * message's usage), so a session stopped before its result still reports what it cost.
 */
function sessionMeter(model: string): { take: (ev: Record<string, unknown>) => void; usage: () => Usage } {
  const byMessage = new Map<string, { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }>();
  let usage = emptyUsage();
  const take = (ev: Record<string, unknown>): void => {
    if (ev.type !== 'assistant') return;
    const m = ev.message as { id?: string; usage?: Record<string, number> } | undefined;
    if (!m?.id || !m.usage) return;
    byMessage.set(m.id, m.usage);
    usage = emptyUsage();
    for (const u of byMessage.values()) {
      usage = addUsage(model, usage, { inputTokens: u.input_tokens ?? 0, outputTokens: u.output_tokens ?? 0, cacheReadTokens: u.cache_read_input_tokens ?? 0, cacheWriteTokens: u.cache_creation_input_tokens ?? 0 });
    }
    noteSpend(usage);
  };
  return { take, usage: () => usage };
}

/**
 * A strict stage (engines/budget.ts) reaches the Messages API through the budget gate, which refuses
 * a call whose worst case does not fit: Claude Code's own --max-budget-usd only stops after a call.
 */
async function strictGate(req: EngineRequest, modelEnv: Record<string, string>): Promise<BudgetGate | undefined> {
  const { budgetUSD, budgetStrict, provider } = req.model;
  if (!budgetStrict || budgetUSD === undefined || budgetUSD <= 0 || provider !== 'anthropic') return undefined;
  const gate = await startBudgetGate(modelEnv.ANTHROPIC_BASE_URL || DEFAULT_ANTHROPIC_URL, budgetUSD);
  modelEnv.ANTHROPIC_BASE_URL = gate.url;
  return gate;
}

export async function claudeCodeEngine(req: EngineRequest): Promise<EngineResult> {
  const { model, transcript } = req;
  const none = { inputTokens: 0, outputTokens: 0, costUSD: 0 };
  const modelEnv = claudeModelEnv(req);
  if ('reason' in modelEnv) return { outcome: 'Error', reason: modelEnv.reason, summary: modelEnv.summary, finalText: '', usage: none, turns: 0 };
  // Claude Code keeps settings, sessions and scratch files under HOME and TMPDIR; fresh ones per
  // stage keep runs independent and leave nothing behind.
  const home = await mkdtemp(join(tmpdir(), 'autorun-claude-home-'));
  const tmp = join(home, 'tmp');
  await mkdir(tmp);
  const shell = await sandboxShell(req, home, tmp);
  const gate = await strictGate(req, modelEnv.env);
  const env: NodeJS.ProcessEnv = {
    ...scrubEnv(req.env),
    HOME: home,
    TMPDIR: tmp,
    ...modelEnv.env,
    ...shell.env,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // The CLI counts retries; the engine bounds them by time instead (the pool's retry window).
    CLAUDE_CODE_MAX_RETRIES: String(CLAUDE_MAX_RETRIES),
    DISABLE_AUTOUPDATER: '1',
  };
  const bin = req.env.AUTORUN_CLAUDE_BIN || 'claude';
  try {
    const windowSeconds = model.retryWindowSeconds ?? DEFAULT_RETRY_WINDOW_SECONDS;
    const meter = sessionMeter(model.name);
    const s = await runSession(bin, claudeArgs(req, denyRules(req.env)), req.workspace, env, windowSeconds * 1000, (ev) => {
      transcript.log('claude', { message: ev });
      meter.take(ev);
    });
    const mapped = mapClaudeResult(s.events, model.name, model.maxTurns, model.budgetUSD);
    if (gate?.refused) {
      transcript.log('budget', { refused: gate.refused });
      const usage = mapped.reason === 'EngineCrashed' ? meter.usage() : mapped.usage;
      return { ...mapped, outcome: 'Failed', reason: 'Budget', summary: `stopped after ${mapped.turns} turns: ${gate.refused}`, usage };
    }
    if (mapped.reason !== 'EngineCrashed') return mapped;
    if (s.outage) {
      return { ...mapped, reason: MODEL_UNAVAILABLE, summary: `claude stopped: ${s.stopped?.why ?? 'the model API stayed unavailable'} (last: HTTP ${s.stopped?.status ?? 'no answer'}); the loop retries the stage` };
    }
    if (s.stopped) {
      const f = s.stopped.status === undefined ? { reason: 'Timeout', summary: `claude stopped: ${s.stopped.why}` } : apiFailure(s.stopped.status, s.stopped.why);
      return { ...mapped, reason: f.reason, summary: f.summary };
    }
    const why = s.exitCode === 127 ? `cannot start ${bin}` : `exit ${s.exitCode ?? s.signal}`;
    return { ...mapped, summary: `${mapped.summary} (${why}): ${s.stderr.slice(-300).replace(/\s+/g, ' ').trim()}` };
  } finally {
    await gate?.close();
    await rm(home, { recursive: true, force: true });
    if (shell.dir) await rm(shell.dir, { recursive: true, force: true });
  }
}

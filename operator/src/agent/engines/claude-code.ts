// Claude Code headless as the engine: `claude -p` with stream-json output, edits accepted, only the
// role's tools allowed. Ownership rules that Claude Code cannot enforce per path are enforced again
// when the role commits (see roles/llm-role.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileCapped } from '../exec.js';
import { scrubEnv } from '../secrets.js';
import { mapClaudeResult, parseStreamJson } from './stream-json.js';
import { apiKeyFrom } from './types.js';
import type { EngineRequest, EngineResult } from './types.js';

/** Whole-session deadline; the Pod's activeDeadlineSeconds is the outer one. */
const SESSION_TIMEOUT_MS = 4 * 3600_000;

export function claudeArgs(req: Pick<EngineRequest, 'prompt' | 'system' | 'claudeTools' | 'model'>): string[] {
  return [
    '-p',
    req.prompt,
    '--output-format',
    'stream-json',
    '--verbose',
    '--max-turns',
    String(req.model.maxTurns),
    '--permission-mode',
    'acceptEdits',
    '--allowedTools',
    req.claudeTools.join(','),
    '--append-system-prompt',
    req.system,
    '--model',
    req.model.name,
  ];
}

export async function claudeCodeEngine(req: EngineRequest): Promise<EngineResult> {
  const { model, transcript } = req;
  if (model.provider !== 'anthropic') {
    return { outcome: 'Error', reason: 'ProviderUnsupported', summary: `the claude-code engine supports provider anthropic only, not ${model.provider}`, finalText: '', usage: { inputTokens: 0, outputTokens: 0, costUSD: 0 }, turns: 0 };
  }
  const apiKey = apiKeyFrom(req.env, model.provider);
  if (!apiKey) {
    return { outcome: 'Error', reason: 'Unauthorized', summary: 'no model API key: set ANTHROPIC_API_KEY (or AUTORUN_MODEL_API_KEY) from the pool Secret', finalText: '', usage: { inputTokens: 0, outputTokens: 0, costUSD: 0 }, turns: 0 };
  }
  // Claude Code keeps settings and sessions under HOME; a fresh one per stage keeps runs independent.
  const home = await mkdtemp(join(tmpdir(), 'autorun-claude-home-'));
  const baseURL = model.baseURL || req.env.ANTHROPIC_BASE_URL;
  const env: NodeJS.ProcessEnv = {
    ...scrubEnv(req.env),
    HOME: home,
    ANTHROPIC_API_KEY: apiKey,
    ...(baseURL ? { ANTHROPIC_BASE_URL: baseURL } : {}),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  let pending = '';
  try {
    const bin = req.env.AUTORUN_CLAUDE_BIN || 'claude';
    const r = await execFileCapped(bin, claudeArgs(req), {
      cwd: req.workspace,
      env,
      timeoutMs: SESSION_TIMEOUT_MS,
      maxOutputBytes: 16 << 20,
      onStdout: (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const ev of parseStreamJson(lines.join('\n'))) transcript.log('claude', { message: ev });
      },
    });
    const events = parseStreamJson(r.stdout);
    const mapped = mapClaudeResult(events, model.name, model.maxTurns);
    if (mapped.reason === 'EngineCrashed') {
      const why = r.exitCode === 127 ? `cannot start ${bin}` : `exit ${r.exitCode ?? r.signal}`;
      mapped.summary = `${mapped.summary} (${why}): ${r.output.slice(-300).replace(/\s+/g, ' ')}`;
    }
    return mapped;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

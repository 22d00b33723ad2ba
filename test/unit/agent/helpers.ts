// Shared bits of the agent unit tests: temp dirs and a transcript that records instead of printing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transcript } from '../../../operator/src/agent/transcript.js';
import type { AgentContext } from '../../../operator/src/agent/context.js';

export function tempDir(prefix = 'autorun-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function recordingTranscript(secrets: string[] = []): { transcript: Transcript; lines: string[] } {
  const lines: string[] = [];
  return { transcript: new Transcript(secrets, (l) => lines.push(l)), lines };
}

export function model(overrides: Partial<AgentContext['model']> = {}): AgentContext['model'] {
  return { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 10, ...overrides };
}

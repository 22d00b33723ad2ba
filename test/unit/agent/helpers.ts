// Shared bits of the agent unit tests: temp dirs and a transcript that records instead of printing.
import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transcript } from '../../../operator/src/agent/transcript.js';
import type { AgentContext } from '../../../operator/src/agent/context.js';

const made: string[] = [];
// Registered once per test file that imports this module: every temp dir goes when the file ends.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'autorun-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function recordingTranscript(secrets: string[] = []): { transcript: Transcript; lines: string[] } {
  const lines: string[] = [];
  return { transcript: new Transcript(secrets, (l) => lines.push(l)), lines };
}

export function model(overrides: Partial<AgentContext['model']> = {}): AgentContext['model'] {
  return { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 10, ...overrides };
}

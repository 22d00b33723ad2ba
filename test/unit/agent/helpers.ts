// Shared bits of the agent unit tests: temp dirs and a transcript that records instead of printing.
import { afterAll } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A temporary directory holding these files (paths relative to it). */
export function workspaceWith(files: Record<string, string>): string {
  const ws = tempDir();
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), content);
  }
  return ws;
}

export function recordingTranscript(secrets: string[] = []): { transcript: Transcript; lines: string[] } {
  const lines: string[] = [];
  return { transcript: new Transcript(secrets, (l) => lines.push(l)), lines };
}

export function model(overrides: Partial<AgentContext['model']> = {}): AgentContext['model'] {
  return { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 10, ...overrides };
}

/**
 * Live (not zombie) processes of the machine whose arguments include arg. By argument, not pid: a
 * process in a sandbox's PID namespace knows only its pid there, which on the host is another
 * process (pid 44 inside was a kworker outside).
 */
export function liveWithArg(arg: string): number {
  return readdirSync('/proc').filter((p) => {
    try {
      return /^\d+$/.test(p) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8')) && readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(arg);
    } catch {
      return false;
    }
  }).length;
}

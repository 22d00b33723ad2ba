// A stage done as takes, against a real git clone: every take starts from the same commit with its
// own take number, the first green one ends them, else the take that passed most is left in the work
// tree (uncommitted, over the start), and the usage of every take is counted.
import { expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Usage } from '../../../../operator/src/api/types.js';
import type { Engine, EngineRequest } from '../../../../operator/src/agent/engines/types.js';
import { Git } from '../../../../operator/src/agent/git.js';
import { TAKE_MAX_TURNS, betterTake, runTakes } from '../../../../operator/src/agent/roles/takes.js';
import type { TakeScore } from '../../../../operator/src/agent/roles/takes.js';
import { makeRemote } from '../../../e2e/agent/harness.js';
import { recordingTranscript, tempDir } from '../helpers.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
const ONE: Usage = { inputTokens: 10, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0.5 };

async function clone(): Promise<{ git: Git; start: string; workspace: string }> {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'tests/test_f.py': 'from solution import f\n' });
  const workspace = join(dir, 'ws');
  const git = new Git(workspace, GIT_ENV, join(dir, 'repo.git'));
  await git.clone(remote);
  const start = await git.base('main');
  await git.checkout(start);
  return { git, start, workspace };
}

/** An engine whose take N writes solution.py as versions[N] (and scratch.txt on take 0), adding ONE to what it was handed as spent. */
function takesOf(versions: string[], seen: EngineRequest[]): Engine {
  return async (req) => {
    seen.push(req);
    const take = req.take ?? 0;
    writeFileSync(join(req.workspace, 'solution.py'), versions[take]!);
    if (take === 0) writeFileSync(join(req.workspace, 'scratch.txt'), 'left by take 0\n');
    const spent = req.spent ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 };
    const usage = { ...spent, inputTokens: spent.inputTokens + ONE.inputTokens, outputTokens: spent.outputTokens + ONE.outputTokens, costUSD: spent.costUSD + ONE.costUSD };
    return { outcome: 'Succeeded', summary: `take ${take}`, finalText: '', usage, turns: 1 };
  };
}

/** Scores the work tree by the version it holds. */
function judgeBy(workspace: string, scores: Record<string, TakeScore>): () => Promise<TakeScore> {
  return async () => scores[readFileSync(join(workspace, 'solution.py'), 'utf8')]!;
}

const owns = (path: string): boolean => !path.startsWith('tests/');
const request = (workspace: string): EngineRequest => ({ system: '', prompt: '', tools: [], claudeTools: [], model: { provider: 'local', name: 'm', maxTurns: 5 } as EngineRequest['model'], workspace, env: GIT_ENV, transcript: recordingTranscript().transcript });

test('takes are ranked green first, then by tests passed, then by fewer failed', () => {
  const red = (passed: number, failed: number): TakeScore => ({ green: false, passed, failed });
  expect(betterTake({ green: true, passed: 0, failed: 0 }, red(5, 1))).toBe(true);
  expect(betterTake(red(3, 2), red(2, 1))).toBe(true);
  expect(betterTake(red(3, 1), red(3, 2))).toBe(true);
  expect(betterTake(red(3, 2), red(3, 2))).toBe(false);
});

test('the first green take ends the takes: later ones never run', async () => {
  const { git, start, workspace } = await clone();
  const seen: EngineRequest[] = [];
  const scores = { 'v0\n': { green: false, passed: 0, failed: 2 }, 'v1\n': { green: true, passed: 2, failed: 0 }, 'v2\n': { green: true, passed: 2, failed: 0 } };
  const { transcript, lines } = recordingTranscript();
  const res = await runTakes(takesOf(['v0\n', 'v1\n', 'v2\n'], seen), request(workspace), { count: 3, judge: judgeBy(workspace, scores), owns }, git, start, transcript);
  expect(seen.map((r) => r.take)).toEqual([0, 1]);
  // Judged once it ends: the loop's refusal after the model's own failing test run is off.
  for (const r of seen) expect(await r.unfinished?.()).toBeUndefined();
  expect(seen.every((r) => typeof r.unfinished === 'function')).toBe(true);
  expect(seen[1]!.spent).toMatchObject({ inputTokens: 10, costUSD: 0.5 });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'take 1', usage: { inputTokens: 20, costUSD: 1 } });
  expect(readFileSync(join(workspace, 'solution.py'), 'utf8')).toBe('v1\n');
  // Each take starts from the start commit: take 0's stray file is gone.
  expect(existsSync(join(workspace, 'scratch.txt'))).toBe(false);
  expect(await git.head()).toBe(start);
  expect(lines.map((l) => JSON.parse(l) as { event: string; take?: number; kept?: boolean }).filter((l) => l.event === 'take')).toEqual([
    expect.objectContaining({ take: 0, green: false, kept: true }),
    expect.objectContaining({ take: 1, green: true, kept: true }),
  ]);
});

test('no take green: the one that passed most is left uncommitted over the start, with every take\'s usage', async () => {
  const { git, start, workspace } = await clone();
  const seen: EngineRequest[] = [];
  const scores = { 'v0\n': { green: false, passed: 1, failed: 3 }, 'v1\n': { green: false, passed: 3, failed: 1 }, 'v2\n': { green: false, passed: 0, failed: 1 } };
  const res = await runTakes(takesOf(['v0\n', 'v1\n', 'v2\n'], seen), request(workspace), { count: 3, judge: judgeBy(workspace, scores), owns }, git, start, recordingTranscript().transcript);
  expect(seen.map((r) => r.take)).toEqual([0, 1, 2]);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'take 1', usage: { inputTokens: 30, outputTokens: 3, costUSD: 1.5 } });
  expect(readFileSync(join(workspace, 'solution.py'), 'utf8')).toBe('v1\n');
  expect(await git.head()).toBe(start);
  expect(await git.changedPaths()).toEqual(['solution.py']);
});

test('a take that fails (its budget spent) ends the takes, and the best earlier take stands', async () => {
  const { git, start, workspace } = await clone();
  const good = takesOf(['v0\n'], []);
  const engine: Engine = async (req) => (req.take ? { outcome: 'Failed', reason: 'Budget', summary: 'stopped: the stage budget is spent', finalText: '', usage: { ...req.spent!, costUSD: req.spent!.costUSD + 2 }, turns: 1 } : good(req));
  const res = await runTakes(engine, request(workspace), { count: 3, judge: async () => ({ green: false, passed: 1, failed: 1 }), owns }, git, start, recordingTranscript().transcript);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'take 0', usage: { costUSD: 2.5 } });
  expect(readFileSync(join(workspace, 'solution.py'), 'utf8')).toBe('v0\n');
});

test('a take works without the files it does not own, and its change to them (through its shell) is put back before the handed tests judge it', async () => {
  const { git, start, workspace } = await clone();
  let testsOnDisk: boolean | undefined;
  const engine: Engine = async (req) => {
    testsOnDisk = existsSync(join(req.workspace, 'tests', 'test_f.py'));
    writeFileSync(join(req.workspace, 'solution.py'), 'v0\n');
    writeFileSync(join(req.workspace, 'tests', 'test_f.py'), 'def test_nothing():\n    pass\n');
    writeFileSync(join(req.workspace, 'tests', 'test_new.py'), 'def test_nothing():\n    pass\n');
    return { outcome: 'Succeeded', summary: 'take', finalText: '', usage: ONE, turns: 1 };
  };
  const judged: string[] = [];
  const judge = async (): Promise<TakeScore> => {
    judged.push(readFileSync(join(workspace, 'tests', 'test_f.py'), 'utf8'), String(existsSync(join(workspace, 'tests', 'test_new.py'))));
    return { green: true, passed: 1, failed: 0 };
  };
  const { transcript, lines } = recordingTranscript();
  await runTakes(engine, request(workspace), { count: 3, judge, owns }, git, start, transcript);
  // The take works from the goal alone: the tests are off disk until it is judged.
  expect(testsOnDisk).toBe(false);
  expect(judged).toEqual(['from solution import f\n', 'false']);
  expect(readFileSync(join(workspace, 'solution.py'), 'utf8')).toBe('v0\n');
  expect(lines.map((l) => JSON.parse(l) as { event: string; paths?: string[] }).find((l) => l.event === 'take-put-back')?.paths?.sort()).toEqual(['tests/test_f.py', 'tests/test_new.py']);
});

test('a take gets at most TAKE_MAX_TURNS turns, and one that runs out of them is judged by what it wrote, not the end of the takes', async () => {
  const { git, start, workspace } = await clone();
  const seen: EngineRequest[] = [];
  const write = takesOf(['v0\n', 'v1\n'], seen);
  const engine: Engine = async (req) => {
    const done = await write(req);
    return req.take === 0 ? { ...done, outcome: 'Failed', reason: 'TurnCap', summary: `the model did not finish within ${req.model.maxTurns} turns` } : done;
  };
  const scores = { 'v0\n': { green: false, passed: 1, failed: 1 }, 'v1\n': { green: true, passed: 2, failed: 0 } };
  const { transcript, lines } = recordingTranscript();
  const res = await runTakes(engine, { ...request(workspace), model: { ...request(workspace).model, maxTurns: 50 } }, { count: 3, judge: judgeBy(workspace, scores), owns }, git, start, transcript);
  expect(seen.map((r) => r.model.maxTurns)).toEqual([TAKE_MAX_TURNS, TAKE_MAX_TURNS]);
  expect(lines.map((l) => JSON.parse(l) as { event: string; take?: number; green?: boolean }).filter((l) => l.event === 'take').map((l) => [l.take, l.green])).toEqual([
    [0, false],
    [1, true],
  ]);
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'take 1' });
  // Every take's code with the first capped and none green: the best is kept, the stage succeeds.
  const capped: Engine = async (req) => ({ ...(await write(req)), outcome: 'Failed', reason: 'TurnCap', summary: 'out of turns' });
  const again = await clone();
  const kept = await runTakes(capped, request(again.workspace), { count: 1, judge: async () => ({ green: false, passed: 1, failed: 1 }), owns }, again.git, again.start, recordingTranscript().transcript);
  expect(kept.outcome).toBe('Succeeded');
  expect(kept.reason).toBeUndefined();
  expect(kept.summary).toBe('take 1: out of turns');
});

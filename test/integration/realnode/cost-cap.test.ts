// The cost cap in the cluster tier: the in-process operator drives code ∥ test as real Pods (the
// agent image, the sdk engine) against the fake model on the bridge, whose own bill is what the
// task's status is compared with. The operator hands the test stage a strict budget
// (AUTORUN_BUDGET_STRICT): of the two only the code stage may pass its half, by one call, so the
// task passes maxCostUSD by one call at most (core/budget.ts, agent/engines/budget.ts).
import { jest } from '@jest/globals';
import { costUSD } from '../../../operator/src/agent/pricing.js';
import { GROUP, VERSION } from '../../../operator/src/api/types.js';
import { billedUSD, startFakeAnthropic, toolUse, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { eventually, kube } from '../../harness/kube.js';
import { getTask, TestBed, waitForPhase } from '../controller/support.js';
import { createStageSecrets, realNode, realPool, realTask, startGitHost, type GitHost } from './support.js';

jest.setTimeout(400_000);

let bed: TestBed;
let gitHost: GitHost;
let fake: FakeAnthropic;
const calls: number[] = [];

beforeAll(async () => {
  bed = await TestBed.create('rn-cap');
  await createStageSecrets(bed.ns, { apiKey: 'sk-ant-real-node-cap-41', gitToken: 'real-node-cap-token-42' });
  gitHost = await startGitHost();
  // Usage as a real tokenizer could report it (no more input tokens than bytes), 6,000 tokens out:
  // ~$0.1 a call at claude-sonnet-4-5's $3/$15 per million; each stage alone would pass its $0.50.
  fake = await startFakeAnthropic((req) => {
    const usage = { input_tokens: Math.floor(Buffer.byteLength(JSON.stringify(req.body)) / 4), output_tokens: 6000 };
    calls.push(costUSD('claude-sonnet-4-5', { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }));
    return toolUse('list_files', {}, { usage });
  }, realNode().ip);
  const pool = realPool({ namespace: bed.ns, modelURL: fake.url });
  for (const r of ['code', 'test'] as const) pool.spec.roles![r]!.maxTurns = 30;
  await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'agentpools', body: pool });
  await bed.startOperator();
});

afterAll(async () => {
  await bed?.tearDown();
  await fake?.close();
  await gitHost?.close();
});

test('code ∥ test Pods pass maxCostUSD by one call at most, and status.cost is what the API billed', async () => {
  const repoURL = gitHost.repo('capped', { 'README.md': '# capped\n' });
  const task = realTask(bed.ns, 'capped', repoURL, {
    repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } },
    limits: { maxIterations: 3, maxCostUSD: '1', timeout: '1h' },
  });
  const { uid: _uid, generation: _generation, ...metadata } = task.metadata;
  await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', body: { ...task, metadata } });
  const ended = await waitForPhase(bed.ns, 'capped', ['Succeeded', 'Failed'], 300_000);
  expect(ended.status?.phase).toBe('Failed');
  // The code stage's Budget ends the task and the test Pod is stopped; what that Pod spent comes in
  // with its termination message, after the phase: the status converges to the bill.
  const t = await eventually(async () => {
    const cur = await getTask(bed.ns, 'capped');
    const billed = billedUSD(fake, costUSD);
    if (Math.abs(Number(cur.status?.cost?.llmUSD) - billed) > 0.0001) throw new Error(`status.cost ${cur.status?.cost?.llmUSD} is not yet the bill ${billed}`);
    return cur;
  }, { timeoutMs: 60_000, intervalMs: 250 });
  process.stderr.write(`[realnode cost-cap] ${JSON.stringify({ reason: t.status?.reason, cost: t.status?.cost?.llmUSD, stages: t.status?.stages?.map((s) => [s.name, s.reason, s.costUSD]) })}\n`);
  const billed = billedUSD(fake, costUSD);
  expect(billed).toBeLessThanOrEqual(1 + Math.max(...calls));
  const stage = (role: string) => t.status?.stages?.find((s) => s.role === role && s.iteration === 1);
  // Whichever of the two ends on its budget first ends the task and the other is stopped with it
  // (which is first depends on the machine): the strict test stage stays within its half either way,
  // the lenient code stage may pass its half by one call.
  expect([stage('code')?.reason, stage('test')?.reason]).toContain('Budget');
  for (const role of ['code', 'test']) expect(['Budget', 'Stopped']).toContain(stage(role)?.reason);
  expect(Number(stage('test')!.costUSD)).toBeGreaterThan(0);
  expect(Number(stage('test')!.costUSD)).toBeLessThanOrEqual(0.5);
  expect(Number(stage('code')!.costUSD)).toBeLessThanOrEqual(0.5 + Math.max(...calls));
  expect(fake.requests).toHaveLength(calls.length);
});

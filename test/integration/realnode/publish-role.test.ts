// The publish role's Pod exactly as the operator builds it (buildStagePod), on the real kubelet: the
// agent image calls the fake GitHub API on the bridge address through @octokit/rest, opens the pull
// request, and a second publish of the same branch (a re-run) updates it instead of opening another.
// The Pod holds the pull-request token and nothing else: no git token, no model key, no
// service-account token, though the namespace has all of them.
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_CONTAINER, buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import { FakeGitHub } from '../../fakes/github-server.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import { REAL_NODE_SELECTOR, REAL_NODE_TOLERATION } from '../../harness/real-node.js';
import { createStageSecrets, logsOf, onRealNode, realNode, realPool, realTask, waitStageDone } from './support.js';

jest.setTimeout(240_000);

const API_KEY = 'sk-ant-real-node-publish-3c1f';
const GIT_TOKEN = 'real-node-publish-git-token-5e2a';
let ns: string;
let gh: FakeGitHub;
let apiURL: string;

beforeAll(async () => {
  ns = await createTestNamespace('rn-pub');
  await createStageSecrets(ns, { apiKey: API_KEY, gitToken: GIT_TOKEN });
  gh = new FakeGitHub('acme/fizzbuzz');
  apiURL = await gh.start(realNode().ip);
  await kube().core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'github-pr' }, stringData: { token: gh.validToken } } });
});

afterAll(async () => {
  await gh?.stop();
  if (ns) await deleteNamespace(ns);
});

/** The publish Pod of task `pub` (attempt n, so a re-run is a new Pod), applied and awaited. */
async function publish(attempt: number, body: string): Promise<{ pod: V1Pod; observed: Awaited<ReturnType<typeof waitStageDone>>['observed'] }> {
  const url = 'https://github.com/acme/fizzbuzz.git';
  const t = realTask(ns, 'pub', url, {
    repository: { url, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' }, pullRequest: { provider: 'github', apiURL, credentialsSecretRef: { name: 'github-pr' } } },
  });
  const key: StageKey = { iteration: 2, role: 'publish', attempt };
  const pod = buildStagePod({ task: t, pool: realPool({ namespace: ns }), key, name: stageName('pub', key), context: { codeRef: 'c0ffee', pullRequest: { title: 'Implement fizzbuzz(n)', body } } });
  // No owner (no CodingTask here), and onto the real node: kwok's nodes would take it without running it.
  pod.metadata!.ownerReferences = [];
  pod.spec!.nodeSelector = { ...REAL_NODE_SELECTOR };
  pod.spec!.tolerations = [{ ...REAL_NODE_TOLERATION }];
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  return waitStageDone(ns, pod.metadata!.name!);
}

test('opens the pull request once and updates it on a re-run, from a Pod on the real node holding only the PR token', async () => {
  const first = await publish(0, 'tests 3/3 · iteration 1');
  expect(onRealNode(first.pod)).toBe(true);
  expect(first.pod.status?.phase).toBe('Succeeded');
  expect(first.observed.result).toMatchObject({ role: 'publish', outcome: 'Succeeded', pullRequestURL: 'https://github.test/acme/fizzbuzz/pull/1' });
  expect(first.observed.result?.summary).toMatch(/^opened pull request #1: /);

  const again = await publish(1, 'tests 3/3 · iteration 2');
  expect(again.observed.result).toMatchObject({ role: 'publish', outcome: 'Succeeded', pullRequestURL: 'https://github.test/acme/fizzbuzz/pull/1' });
  expect(again.observed.result?.summary).toMatch(/^updated pull request #1: /);
  expect(gh.pulls('acme/fizzbuzz')).toHaveLength(1);
  expect(gh.pulls('acme/fizzbuzz')[0]).toMatchObject({ state: 'open', head: 'autorun/pub', base: 'main', title: 'Implement fizzbuzz(n)', body: 'tests 3/3 · iteration 2' });
  expect(gh.writes()).toEqual(['POST /repos/acme/fizzbuzz/pulls', 'PATCH /repos/acme/fizzbuzz/pulls/1']);
  // Every call the Pod made carried the PR token, and only it.
  expect(gh.calls.every((c) => String(c.headers.authorization).replace(/^(token|bearer) /i, "") === gh.validToken)).toBe(true);

  // What the Pod held: one secret reference (the PR token), no secret volume, no service-account token.
  for (const { pod } of [first, again]) {
    const spec = pod.spec!;
    const refs = [...(spec.initContainers ?? []), ...spec.containers].flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] : [])));
    expect(refs).toEqual(['github-pr/token']);
    expect((spec.volumes ?? []).filter((v) => v.secret || v.projected)).toEqual([]);
    expect(spec.automountServiceAccountToken).toBe(false);
    const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);
    for (const secret of [gh.validToken, API_KEY, GIT_TOKEN]) expect(log).not.toContain(secret);
  }
});

// Pull requests through the operator: the publish Pod it creates after the tests pass is run as a
// process (its env, its secretKeyRef resolved from the real Secret) and calls the fake GitHub API
// through @octokit/rest. The URL lands in status, in `kubectl get ct -o wide`, and a task applied
// again under the same name updates the pull request instead of opening a second one.
import { jest } from '@jest/globals';
import { FakeGitHub } from '../../fakes/github-server.js';
import { kubectl } from '../../harness/kubectl.js';
import { eventually, kube, statusCode } from '../../harness/kube.js';
import { createPool, createTask, getTask, success, TestBed, waitForPhase, type Script } from './support.js';

jest.setTimeout(180_000);

let bed: TestBed;
let gh: FakeGitHub;
let apiURL: string;
const scripts = new Map<string, Script>();
const publishing: Script = (s) => (s.role === 'publish' ? { exec: true } : { result: success(s) });

beforeAll(async () => {
  bed = await TestBed.create('ctl-pr', scripts);
  gh = new FakeGitHub('acme/fizzbuzz');
  apiURL = await gh.start();
  await kube().core.createNamespacedSecret({ namespace: bed.ns, body: { metadata: { name: 'github-pr' }, stringData: { token: gh.validToken } } });
  await bed.gpuNodes(2);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 2 });
  await bed.startAgents();
  await bed.startOperator();
});

afterAll(async () => {
  await bed?.tearDown();
  await gh?.stop();
});

const repository = (draft: boolean) => ({
  url: 'https://github.com/acme/fizzbuzz.git',
  baseRef: 'main',
  pullRequest: { provider: 'github' as const, apiURL, draft, credentialsSecretRef: { name: 'github-pr' } },
});

test('a passing task gets one pull request; applied again, the same one is updated', async () => {
  scripts.set('pr', publishing);
  await createTask(bed.ns, 'pr', { repository: repository(true) });
  const t = await waitForPhase(bed.ns, 'pr', ['Succeeded', 'Failed']);
  const url = 'https://github.test/acme/fizzbuzz/pull/1';
  expect(t.status).toMatchObject({ phase: 'Succeeded', reason: 'TestsPassed', result: { branch: 'autorun/pr', pullRequestURL: url } });
  expect(t.status?.message).toBe(`tests passed (10/10) in iteration 1; pull request ${url}`);
  expect(t.status?.stages?.map((s) => `${s.role}:${s.state}`)).toEqual(['code:Succeeded', 'test:Succeeded', 'run:Succeeded', 'publish:Succeeded']);
  const pulls = gh.pulls('acme/fizzbuzz');
  expect(pulls).toEqual([expect.objectContaining({ number: 1, head: 'autorun/pr', base: 'main', draft: true, title: 'Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or…' })]);
  expect(pulls[0]!.body).toContain('- **Tests:** 10/10 passed');
  expect(pulls[0]!.body).toContain('| pr-i1-run-a0 | Succeeded | 10/10 |');

  // Only the publish Pod refers to the PR Secret; no Pod holds it in a literal.
  const pods = bed.agents!.stagesOf('pr').map((s) => s.pod);
  const refs = (name: string) =>
    pods
      .filter((p) => p.spec!.containers.concat(p.spec!.initContainers ?? []).some((c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === name)))
      .map((p) => p.metadata!.labels!['autorun.dev/role']);
  expect(refs('github-pr')).toEqual(['publish']);
  expect(JSON.stringify(pods)).not.toContain(gh.validToken);

  const wide = await kubectl(['get', 'ct', 'pr', '-n', bed.ns, '-o', 'wide']);
  expect(wide.code).toBe(0);
  expect(wide.stdout.split('\n')[0]).toMatch(/\bREASON\s+PR\s*$/);
  expect(wide.stdout).toContain(url);
  const narrow = await kubectl(['get', 'ct', 'pr', '-n', bed.ns]);
  expect(narrow.stdout).not.toContain(url);

  // Applied again under the same name: the branch is the same, so the open pull request is updated.
  await kube().custom.deleteNamespacedCustomObject({ group: 'autorun.dev', version: 'v1alpha1', namespace: bed.ns, plural: 'codingtasks', name: 'pr' });
  await eventually(async () => {
    const gone = await getTask(bed.ns, 'pr').then(() => false, (e: unknown) => statusCode(e) === 404);
    if (!gone) throw new Error('pr still exists');
  });
  await createTask(bed.ns, 'pr', { repository: repository(false) });
  const again = await eventually(async () => {
    const x = await getTask(bed.ns, 'pr');
    if (x.status?.phase !== 'Succeeded' && x.status?.phase !== 'Failed') throw new Error(`pr is ${x.status?.phase}`);
    return x;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  expect(again.status?.result?.pullRequestURL).toBe(url);
  expect(gh.pulls('acme/fizzbuzz')).toHaveLength(1);
  expect(gh.writes()).toEqual(['POST /repos/acme/fizzbuzz/pulls', 'PATCH /repos/acme/fizzbuzz/pulls/1']);
});

test('a refused token fails the task with the reason, and no pull request', async () => {
  await kube().core.createNamespacedSecret({ namespace: bed.ns, body: { metadata: { name: 'stale-pr' }, stringData: { token: 'ghp_revokedrevokedrevokedrevoked00' } } });
  scripts.set('pr-denied', publishing);
  const before = gh.pulls('acme/fizzbuzz').length;
  await createTask(bed.ns, 'pr-denied', { repository: { ...repository(false), pullRequest: { ...repository(false).pullRequest, credentialsSecretRef: { name: 'stale-pr' } } } });
  const t = await waitForPhase(bed.ns, 'pr-denied', ['Succeeded', 'Failed']);
  expect(t.status).toMatchObject({ phase: 'Failed', reason: 'StageError' });
  expect(t.status?.message).toMatch(/pr-denied-i1-publish-a0 reported an error \(Unauthorized\).*token was refused \(401\)/);
  expect(t.status?.message).not.toContain('ghp_revoked');
  expect(gh.pulls('acme/fizzbuzz')).toHaveLength(before);
});

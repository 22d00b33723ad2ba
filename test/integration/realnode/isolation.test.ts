// The model key and the git token against the model's commands, in LLM Pods as the operator builds
// them, on the real kubelet, with both engines against the fake model server: a command (the sdk
// engine's run_command, Claude Code's own Bash) runs the key hunt of test/fixtures/key-hunt.ts —
// env, printenv, /proc/self, /proc/1, /proc/$PPID and every ancestor, every /proc/*/environ, the
// home directory, the Secret's mount path, the service-account token path, and a search of the
// whole filesystem for the secrets' prefixes — and Claude Code's Read and Grep try the key file and
// PID 1's environment. Neither secret's bytes may appear in any request the fake received, the
// Pod's logs (the transcript), its status (the result) or the namespace's Events. The commands run
// in the Pod's exec container (build.ts): the control case runs the same hunt in the agent
// container, as every command ran before, and finds both.
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_CONTAINER, EXEC_CONTAINER, MODEL_KEY_DIR, WORKSPACE_DIR, buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { HUNT_BEGIN, HUNT_END, shellKeyHunt } from '../../fixtures/key-hunt.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import { createStageSecrets, logsOf, onRealNode, realNode, realPool, realTask, startGitHost, waitStageDone, type GitHost } from './support.js';

jest.setTimeout(300_000);

const API_KEY = `sk-ant-isolation-${randomBytes(12).toString('hex')}`;
const GIT_TOKEN = `ghp_isolation${randomBytes(12).toString('hex')}`;
const KEY_FILE = `${MODEL_KEY_DIR}/api-key`;
const FIZZBUZZ = 'def fizzbuzz(n):\n    return "FizzBuzz" if n % 15 == 0 else "Fizz" if n % 3 == 0 else "Buzz" if n % 5 == 0 else str(n)\n';
const HUNT = shellKeyHunt({ keyFile: KEY_FILE, files: ['/var/run/secrets/kubernetes.io/serviceaccount/token'], prefixes: ['sk-ant-', 'ghp_'] });

let ns: string;
let gitHost: GitHost;
let repoURL: string;
let fake: FakeAnthropic | undefined;

beforeAll(async () => {
  ns = await createTestNamespace('rn-iso');
  await createStageSecrets(ns, { apiKey: API_KEY, gitToken: GIT_TOKEN });
  gitHost = await startGitHost();
  repoURL = gitHost.repo('fizzbuzz', { 'README.md': '# fizzbuzz\n' });
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

afterAll(async () => {
  await gitHost?.close();
  if (ns) await deleteNamespace(ns);
});

const turns = (req: RecordedRequest): number => req.body.messages.filter((m) => m.role === 'assistant').length;

/** The model's side: the hunt, (Claude Code) its file tools at the secrets, the work, done. */
function script(engine: 'sdk' | 'claude-code'): (req: RecordedRequest) => FakeReply {
  const steps: FakeReply[] =
    engine === 'sdk'
      ? [
          toolUse('run_command', { command: HUNT, timeout_seconds: 300 }),
          // A process left behind, then a look for it: none outlives its command.
          toolUse('run_command', { command: 'setsid sleep 987 > /dev/null 2>&1 < /dev/null & echo started' }),
          toolUse('run_command', { command: 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done' }),
          toolUse('write_file', { path: 'fizzbuzz.py', content: FIZZBUZZ }),
        ]
      : [
          toolUse('Bash', { command: HUNT, description: 'look around', timeout: 300_000 }),
          toolUse('Read', { file_path: KEY_FILE }),
          toolUse('Read', { file_path: '/proc/1/environ' }),
          toolUse('Grep', { pattern: 'sk-ant-|ghp_', path: MODEL_KEY_DIR, output_mode: 'content' }),
          toolUse('Write', { file_path: `${WORKSPACE_DIR}/fizzbuzz.py`, content: FIZZBUZZ }),
        ];
  return (req) => steps[turns(req)] ?? text('Wrote fizzbuzz.py.');
}

/** Everything the fake received but the credential it was called with. */
const sentToModel = (reqs: RecordedRequest[]): string => JSON.stringify(reqs.map((r) => ({ headers: { ...r.headers, 'x-api-key': undefined, authorization: undefined }, body: r.body })));

/** The hunt's output, from the request that carried its tool result back. */
function huntOutput(reqs: RecordedRequest[]): string {
  const after = reqs.find((r) => turns(r) === 1);
  return JSON.stringify(after?.body.messages.at(-1)?.content ?? '');
}

async function runStage(engine: 'sdk' | 'claude-code', task: string, alter?: (pod: V1Pod) => void): Promise<{ pod: V1Pod; log: string; execLog: string; events: string; observed: unknown }> {
  fake = await startFakeAnthropic(script(engine), realNode().ip);
  const t = realTask(ns, task, repoURL, { repository: { url: repoURL, baseRef: 'main', credentialsSecretRef: { name: 'git-creds' } } });
  const key: StageKey = { iteration: 1, role: 'code', attempt: 0 };
  const pod = buildStagePod({ task: t, pool: realPool({ namespace: ns, modelURL: fake.url, engine }), key, name: stageName(task, key), context: {} });
  pod.metadata!.ownerReferences = [];
  alter?.(pod);
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!, 240_000);
  const log = await logsOf(ns, pod.metadata!.name!, AGENT_CONTAINER);
  const execLog = alter ? '' : await logsOf(ns, pod.metadata!.name!, EXEC_CONTAINER);
  const events = JSON.stringify((await kube().core.listNamespacedEvent({ namespace: ns })).items);
  expect({ onRealNode: onRealNode(done), phase: done.status?.phase, result: observed.result }).toMatchObject({ onRealNode: true, phase: 'Succeeded', result: { role: 'code', outcome: 'Succeeded' } });
  return { pod: done, log, execLog, events, observed };
}

test.each(['sdk', 'claude-code'] as const)('%s: no command the model runs reaches the model key or the git token', async (engine) => {
  const { pod, log, execLog, events, observed } = await runStage(engine, `hunt-${engine === 'sdk' ? 'sdk' : 'cc'}`);
  const reqs = fake!.requests;
  // The model was called with the key from the Secret file, and the stage pushed its work with the token.
  const h = reqs[0]!.headers;
  expect(h['x-api-key'] ?? String(h.authorization).replace(/^Bearer /, '')).toBe(API_KEY);
  expect(gitHost.resolve('fizzbuzz', `refs/autorun/hunt-${engine === 'sdk' ? 'sdk' : 'cc'}/code`)).toBeDefined();

  // The hunt ran to its end, in the exec container (its PID 1 is the exec server), and came back.
  const out = huntOutput(reqs);
  process.stderr.write(`${engine}: the hunt's output as the model got it (start): ${out.slice(0, 1500)}\n`);
  expect(out).toContain(HUNT_BEGIN);
  expect(out).toContain(HUNT_END);
  expect(out).toContain('PATH=');
  expect(out).toMatch(/== pid1.*exec-server/);
  expect(out).toMatch(/api-key: No such file or directory/);
  if (engine === 'sdk') {
    const ps = JSON.stringify(reqs.find((r) => turns(r) === 3)!.body.messages.at(-1)!.content);
    expect(ps).toContain('exec-server');
    expect(ps).not.toContain('sleep 987');
  }
  if (engine === 'claude-code') {
    // Claude Code's own file tools refused the key file, PID 1's environment and the key directory.
    const refused = reqs.filter((r) => turns(r) >= 2 && turns(r) <= 4).map((r) => JSON.stringify(r.body.messages.at(-1)!.content));
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r).toMatch(/"is_error":true|No matches found|denied/);
  }

  const everywhere = { model: sentToModel(reqs), log, execLog, events, status: JSON.stringify(pod.status), result: JSON.stringify(observed) };
  for (const [where, text] of Object.entries(everywhere)) {
    expect([where, text.includes(API_KEY)]).toEqual([where, false]);
    expect([where, text.includes(GIT_TOKEN)]).toEqual([where, false]);
  }
});

test('the control: the same hunt run in the agent container, as commands ran before the exec container, finds both', async () => {
  const { observed } = await runStage('sdk', 'hunt-control', (pod) => {
    // The Pod as it was: no exec container, commands unsandboxed in the agent's own container.
    pod.spec!.initContainers = pod.spec!.initContainers!.filter((c) => c.name !== EXEC_CONTAINER);
    const agent = pod.spec!.containers[0]!;
    agent.env = [...agent.env!.filter((e) => e.name !== 'AUTORUN_EXEC_SOCKET'), { name: 'AUTORUN_SANDBOX', value: 'off' }];
    agent.volumeMounts = agent.volumeMounts!.filter((m) => m.name !== 'exec-socket');
  });
  expect(observed).toBeDefined();
  const out = huntOutput(fake!.requests);
  expect(out).toContain(HUNT_END);
  expect(out).toContain(API_KEY);
  expect(out).toContain(GIT_TOKEN);
});

// What the real-node tests share: the real node the global setup started (test/harness/real-node.ts),
// the project's images on it (hack/build-images.sh), a git daemon and the fake model server on the
// bridge address (the one address Pods reach), pools whose every role is steered onto the real node,
// and waiting for a stage Pod the way the operator sees it (its own observeStage).
import type { V1Pod } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withDefaults } from '../../../operator/src/api/defaults.js';
import { GROUP, VERSION, type AgentPool, type CodingTask } from '../../../operator/src/api/types.js';
import { observeStage } from '../../../operator/src/controller/pods/observe.js';
import type { ObservedStage } from '../../../operator/src/core/types.js';
import { builtImages } from '../../harness/cluster.js';
import { clusterInfo, eventually, kube } from '../../harness/kube.js';
import { kubectl } from '../../harness/kubectl.js';
import { REAL_NODE_NAME, REAL_NODE_SELECTOR, REAL_NODE_TOLERATION, type RealNodeInfo } from '../../harness/real-node.js';
import { startGitDaemon, type GitDaemon } from '../../fakes/git-daemon.js';
import { git } from '../../e2e/agent/harness.js';

export function realNode(): RealNodeInfo {
  const node = clusterInfo().realNode;
  if (!node) throw new Error('no real node in this cluster (AUTORUN_REAL_NODE=0?): the real-node tests need it; see test/harness/real-node.ts');
  return node;
}

/** The ref of one of the project's images (hack/build-images.sh: autorun, python, node). */
export function image(name: 'autorun' | 'python' | 'node'): string {
  const all = builtImages();
  const found = all.find((i) => i.refs.some((r) => r.includes(name === 'autorun' ? '/autorun:' : `toolchain-${name}:`)));
  if (!found) throw new Error(`image ${name} is not among the built images (${all.map((i) => i.refs.join(',')).join('; ') || 'none: AUTORUN_IMAGES_DIR unset'})`);
  return found.refs[0]!;
}

/** The agent image ref (the pool's agentImage): the autorun image under its agent name. */
export function agentImage(): string {
  const all = builtImages().flatMap((i) => i.refs);
  return all.find((r) => r.includes('/autorun-agent:')) ?? image('autorun');
}

export interface GitHost {
  daemon: GitDaemon;
  /** Where bare repositories live (served as git://<node ip>:<port>/<name>.git). */
  base: string;
  /** A bare repository named `name` with one commit on main holding files; its git:// URL. */
  repo(name: string, files: Record<string, string>): string;
  /** Pushes a commit with files on top of main to ref; its sha. */
  push(name: string, ref: string, files: Record<string, string>): string;
  /** The sha a ref points at, or undefined. */
  resolve(name: string, ref: string): string | undefined;
  /** `git show <rev:path>` in the bare repository. */
  show(name: string, revPath: string): string;
  close(): Promise<void>;
}

/**
 * A git daemon on the bridge address. Its dir is inside the control plane's, so a SIGKILLed run's
 * daemon is reaped with it (harness/processes.ts).
 */
export async function startGitHost(): Promise<GitHost> {
  const base = mkdtempSync(join(clusterInfo().dir, 'git-'));
  const daemon = await startGitDaemon(base, realNode().ip);
  const work = join(base, '.work');
  mkdirSync(work);
  const bare = (name: string) => join(base, `${name}.git`);
  let n = 0;
  const host: GitHost = {
    daemon,
    base,
    repo(name, files) {
      git(base, 'init', '--quiet', '--bare', bare(name));
      const seed = join(work, `${name}-seed`);
      git(work, 'clone', '--quiet', bare(name), seed);
      writeFiles(seed, files);
      git(seed, 'add', '-A');
      git(seed, 'commit', '--quiet', '-m', 'seed');
      git(seed, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
      return `${daemon.url}${name}.git`;
    },
    push(name, ref, files) {
      const w = join(work, `${name}-push-${n++}`);
      git(work, 'clone', '--quiet', bare(name), w);
      writeFiles(w, files);
      git(w, 'add', '-A');
      git(w, 'commit', '--quiet', '-m', `files for ${ref}`);
      git(w, 'push', '--quiet', 'origin', `HEAD:${ref}`);
      return git(w, 'rev-parse', 'HEAD');
    },
    resolve(name, ref) {
      try {
        return git(bare(name), 'rev-parse', '--verify', '--quiet', ref);
      } catch {
        return undefined;
      }
    },
    show(name, revPath) {
      return execFileSync('git', ['--git-dir', bare(name), 'show', revPath], { encoding: 'utf8' });
    },
    async close() {
      await daemon.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
  return host;
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), c);
  }
}

/** Every role on the real node: the label and the toleration of its taint, no GPUs. */
export const ON_REAL_NODE = { nodeSelector: { ...REAL_NODE_SELECTOR }, tolerations: [{ ...REAL_NODE_TOLERATION }] };

export interface RealPoolOptions {
  name?: string;
  namespace: string;
  /** The fake model server's URL (on the bridge address). */
  modelURL?: string;
  engine?: 'sdk' | 'claude-code';
  runImage?: string;
  runTimeoutSeconds?: number;
  runLimits?: Record<string, string>;
  /** Replaces the run role's command (the agent program), for a container that must misbehave itself. */
  runCommand?: string[];
  llmTimeoutSeconds?: number;
}

/** An AgentPool (the body to create) whose roles all run on the real node with the project's images. */
export function realPool(o: RealPoolOptions): AgentPool {
  const llm = { ...ON_REAL_NODE, engine: o.engine ?? 'sdk', gpus: 0, maxAttempts: 1, timeoutSeconds: o.llmTimeoutSeconds ?? 300, maxTurns: 10 };
  return withDefaults('AgentPool', {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'AgentPool',
    metadata: { name: o.name ?? 'default', namespace: o.namespace },
    spec: {
      maxConcurrentTasks: 4,
      agentImage: agentImage(),
      model: {
        provider: 'anthropic',
        name: 'claude-sonnet-4-5',
        apiKeySecretRef: { name: 'anthropic', key: 'api-key' },
        ...(o.modelURL ? { baseURL: o.modelURL } : {}),
      },
      roles: {
        code: llm,
        test: llm,
        repair: llm,
        run: {
          ...ON_REAL_NODE,
          image: o.runImage ?? image('python'),
          gpus: 0,
          maxAttempts: 1,
          timeoutSeconds: o.runTimeoutSeconds ?? 300,
          ...(o.runLimits ? { resources: { limits: o.runLimits } } : {}),
          ...(o.runCommand ? { command: o.runCommand } : {}),
        },
      },
    },
  } as AgentPool);
}

export function realTask(namespace: string, name: string, repoURL: string, spec: Partial<CodingTask['spec']> = {}): CodingTask {
  return withDefaults('CodingTask', {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CodingTask',
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`, generation: 1 },
    spec: {
      pool: 'default',
      goal: 'Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or the number as a string.',
      language: 'python',
      repository: { url: repoURL, baseRef: 'main' },
      test: { command: 'python3 -m pytest -q' },
      limits: { maxIterations: 3, maxCostUSD: '5', timeout: '1h' },
      ...spec,
    },
  } as CodingTask);
}

/** Secrets a stage may reference: the model key and a git token, with values a test can look for. */
export async function createStageSecrets(namespace: string, values: { apiKey: string; gitToken: string }): Promise<void> {
  const { core } = kube();
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'anthropic' }, stringData: { 'api-key': values.apiKey } } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'git-creds' }, stringData: { token: values.gitToken } } });
}

/** Waits until the operator's own observer calls the stage Pod over (Finished or Lost). */
export async function waitStageDone(namespace: string, name: string, timeoutMs = 180_000): Promise<{ pod: V1Pod; observed: ObservedStage }> {
  return eventually(async () => {
    const pod = await kube().core.readNamespacedPod({ namespace, name });
    const observed = observeStage(pod);
    if (!observed || (observed.state !== 'Finished' && observed.state !== 'Lost')) {
      const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((c) => `${c.name}: ${JSON.stringify(c.state)}`).join('; ');
      throw new Error(`${name} is ${pod.status?.phase} (${observed?.state ?? 'not a stage'}) ${waiting}`);
    }
    // The phase follows the container's end; the tests look at both.
    if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') throw new Error(`${name} is still ${pod.status?.phase}`);
    return { pod, observed };
  }, { timeoutMs, intervalMs: 250 });
}

/** `kubectl logs` of one container: what the apiserver fetches from the real kubelet. */
export async function logsOf(namespace: string, pod: string, container: string): Promise<string> {
  const r = await kubectl(['logs', '-n', namespace, pod, '-c', container]);
  if (r.code !== 0) throw new Error(`kubectl logs ${pod} -c ${container} failed: ${r.stderr}`);
  return r.stdout;
}

export function onRealNode(pod: V1Pod): boolean {
  return pod.spec?.nodeName === REAL_NODE_NAME;
}

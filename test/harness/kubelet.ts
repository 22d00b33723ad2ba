// Plays the kubelet for Pods on kwok's fake nodes. kwok binds nothing and completes nothing: the
// real kube-scheduler binds a Pod, kwok's pod-ready stage makes it Running, and then a test decides
// how it ends, through the Pod status subresource exactly as a kubelet reports it:
//
//   import { completePod, failPod, oomKillPod, evictPod, exceedDeadline, waitForPod } from '../../harness/kubelet.js';
//
//   await completePod(ns, name, { terminationMessage: JSON.stringify(stageResult) });
//       phase Succeeded; the container (default: the first) terminated with exitCode 0, reason
//       Completed and that message (truncated to 4096 bytes as the kubelet does).
//   await completePod(ns, name, { exitCode: 1, terminationMessage })  // same, but phase Failed, reason Error
//   await failPod(ns, name, { exitCode: 2, terminationMessage?, reason? })   // crash: phase Failed, reason Error
//   await oomKillPod(ns, name)        // container OOMKilled, exitCode 137, phase Failed
//   await evictPod(ns, name, { message? })   // Pod reason Evicted, DisruptionTarget condition, phase Failed
//   await exceedDeadline(ns, name)    // Pod reason DeadlineExceeded (activeDeadlineSeconds), phase Failed
//   await waitForPod(ns, name, (p) => p.status?.phase === 'Running')
//
// Every finisher first waits (default 30 s) until the Pod is bound and Running, as a container
// must have started before it can end; pass { waitRunning: false } to finish a Pod regardless.
// Other containers of the Pod end with exitCode 0 (Completed); init containers keep kwok's status.
// Writes are conditional on the resourceVersion read, and retried on conflict.
import * as k8s from '@kubernetes/client-node';
import { eventually, kube, statusCode } from './kube.js';

export const TERMINATION_MESSAGE_MAX_BYTES = 4096;

export interface FinishOptions {
  exitCode?: number;
  terminationMessage?: string;
  /** The container's terminated reason; default Completed for exit 0, Error otherwise. */
  reason?: string;
  /** The container that ends with this exit code and message; default the Pod's first container. */
  container?: string;
  waitRunning?: boolean;
  timeoutMs?: number;
}

interface PodEnding {
  phase: 'Succeeded' | 'Failed';
  /** Pod-level reason and message (Evicted, DeadlineExceeded). */
  reason?: string;
  message?: string;
  disruption?: { reason: string; message: string };
  container: { exitCode: number; reason: string; message?: string; name?: string };
}

export async function waitForPod(namespace: string, name: string, until: (pod: k8s.V1Pod) => boolean, timeoutMs = 30_000): Promise<k8s.V1Pod> {
  const { core } = kube();
  return eventually(async () => {
    const pod = await core.readNamespacedPod({ namespace, name });
    if (!until(pod)) throw new Error(`pod ${namespace}/${name} is ${pod.status?.phase ?? 'without status'} on ${pod.spec?.nodeName ?? 'no node'}`);
    return pod;
  }, { timeoutMs });
}

function truncateBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  // Cut on a character boundary, as the kubelet's reader would not split a rune either.
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

function terminalStatus(pod: k8s.V1Pod, ending: PodEnding, now: Date): object {
  const containers = pod.spec?.containers ?? [];
  const target = ending.container.name ?? containers[0]?.name;
  if (!containers.some((c) => c.name === target)) throw new Error(`pod ${pod.metadata?.name} has no container ${target}`);
  const previous = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const nowIso = now.toISOString();
  const containerStatuses = containers.map((c) => {
    const prev = previous.get(c.name);
    const startedAt = prev?.state?.running?.startedAt ?? pod.status?.startTime ?? now;
    const mine = c.name === target;
    const terminated = {
      exitCode: mine ? ending.container.exitCode : 0,
      reason: mine ? ending.container.reason : 'Completed',
      ...(mine && ending.container.message !== undefined ? { message: truncateBytes(ending.container.message, TERMINATION_MESSAGE_MAX_BYTES) } : {}),
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: nowIso,
    };
    return {
      name: c.name,
      image: c.image,
      imageID: prev?.imageID ?? '',
      ready: false,
      started: false,
      restartCount: prev?.restartCount ?? 0,
      state: { terminated },
      lastState: {},
    };
  });
  // The kubelet reports PodCompleted for both terminal phases.
  const notReady = (type: string) => ({ type, status: 'False', reason: 'PodCompleted', lastTransitionTime: nowIso });
  const kept = (pod.status?.conditions ?? []).filter((c) => !['Ready', 'ContainersReady', 'DisruptionTarget'].includes(c.type));
  const conditions: object[] = [...kept, notReady('Ready'), notReady('ContainersReady')];
  if (ending.disruption) conditions.push({ type: 'DisruptionTarget', status: 'True', lastTransitionTime: nowIso, ...ending.disruption });
  return {
    phase: ending.phase,
    ...(ending.reason ? { reason: ending.reason } : {}),
    ...(ending.message ? { message: ending.message } : {}),
    conditions,
    containerStatuses,
  };
}

async function finish(namespace: string, name: string, ending: PodEnding, options: FinishOptions): Promise<k8s.V1Pod> {
  const { core } = kube();
  if (options.waitRunning ?? true) {
    await waitForPod(namespace, name, (p) => !!p.spec?.nodeName && p.status?.phase === 'Running', options.timeoutMs);
  }
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  for (let attempt = 0; ; attempt++) {
    const pod = await core.readNamespacedPod({ namespace, name });
    const body = { metadata: { resourceVersion: pod.metadata?.resourceVersion }, status: terminalStatus(pod, ending, new Date()) };
    try {
      return await core.patchNamespacedPodStatus({ namespace, name, body, fieldManager: 'autorun-test-kubelet' }, mergePatch);
    } catch (err) {
      // kwok may write the Pod between our read and our write.
      if (statusCode(err) !== 409 || attempt >= 10) throw err;
    }
  }
}

/** The container exits; phase Succeeded for exit code 0 (the default), Failed otherwise. */
export function completePod(namespace: string, name: string, options: FinishOptions = {}): Promise<k8s.V1Pod> {
  const exitCode = options.exitCode ?? 0;
  return finish(namespace, name, {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    container: { exitCode, reason: options.reason ?? (exitCode === 0 ? 'Completed' : 'Error'), message: options.terminationMessage, name: options.container },
  }, options);
}

/** The container crashes (default exit code 1, reason Error); phase Failed. */
export function failPod(namespace: string, name: string, options: FinishOptions = {}): Promise<k8s.V1Pod> {
  const exitCode = options.exitCode ?? 1;
  if (exitCode === 0) throw new Error('failPod needs a non-zero exit code; use completePod');
  return finish(namespace, name, {
    phase: 'Failed',
    container: { exitCode, reason: options.reason ?? 'Error', message: options.terminationMessage, name: options.container },
  }, options);
}

/** The kernel OOM-kills the container: reason OOMKilled, exit code 137, no termination message. */
export function oomKillPod(namespace: string, name: string, options: Omit<FinishOptions, 'exitCode' | 'reason'> = {}): Promise<k8s.V1Pod> {
  return finish(namespace, name, {
    phase: 'Failed',
    container: { exitCode: 137, reason: 'OOMKilled', message: options.terminationMessage, name: options.container },
  }, options);
}

/** The kubelet evicts the Pod under node pressure: Pod reason Evicted, containers killed. */
export function evictPod(namespace: string, name: string, options: Omit<FinishOptions, 'exitCode' | 'reason'> & { message?: string } = {}): Promise<k8s.V1Pod> {
  const message = options.message ?? 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.';
  return finish(namespace, name, {
    phase: 'Failed',
    reason: 'Evicted',
    message,
    disruption: { reason: 'TerminationByKubelet', message },
    container: { exitCode: 137, reason: 'Error', name: options.container },
  }, options);
}

/**
 * The Pod outlived spec.activeDeadlineSeconds: the kubelet stops it with reason DeadlineExceeded. The
 * container's exit code is what SIGTERM gives: 143 for a process that exits on TERM, as the agent does
 * (seen on the real node, test/integration/realnode/endings.test.ts); 137 only after the grace period.
 */
export function exceedDeadline(namespace: string, name: string, options: Omit<FinishOptions, 'reason'> = {}): Promise<k8s.V1Pod> {
  return finish(namespace, name, {
    phase: 'Failed',
    reason: 'DeadlineExceeded',
    message: 'Pod was active on the node longer than the specified deadline',
    container: { exitCode: options.exitCode ?? 143, reason: 'Error', name: options.container },
  }, options);
}

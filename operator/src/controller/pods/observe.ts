// What a stage Pod says about its stage, in the loop core's terms (ObservedStage). Never throws:
// a Pod is input from the cluster, and whatever state it is in must map to something the core can
// act on. The agent container's termination message is the stage's result; everything else in the
// Pod status only explains a stage that ended without one.
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import type { Role } from '../../api/types.js';
import type { ObservedStage, StageKey } from '../../core/types.js';
import { parseStageName } from '../../core/names.js';
import { AGENT_CONTAINER, CHECKOUT_CONTAINER } from './build.js';
import { podGpus } from './gpus.js';
import { ATTEMPT_LABEL, GPU_RESOURCE_ANNOTATION, ITERATION_LABEL, ROLE_LABEL, TASK_LABEL } from './labels.js';
import { poolDefaults } from '../../api/pool-roles.js';
import { isRole } from '../../contract/roles.js';
import { parseStageResultOf } from '../../contract/stage-result.js';



/** Waiting reasons that mean a container cannot start until someone fixes something. */
const STUCK_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** DisruptionTarget reasons (set before the Pod is deleted) mapped to the stage's failure reason. */
const DISRUPTION_REASONS: Record<string, string> = {
  DeletionByPodGC: 'NodeLost', // the Pod's node no longer exists
  DeletionByTaintManager: 'NodeLost', // the node went NotReady/unreachable past the toleration
  PreemptionByScheduler: 'Preempted',
  EvictionByEvictionAPI: 'Evicted', // a drain
  TerminationByKubelet: 'Evicted', // node pressure or graceful node shutdown
};

// ---------------------------------------------------------------------------------------------
// Pod status

/** Timestamps arrive as Date from the typed client and as strings from raw JSON; accept both. */
function time(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

function stageKey(pod: V1Pod): StageKey | undefined {
  const labels = pod.metadata?.labels ?? {};
  const role = labels[ROLE_LABEL];
  const iteration = Number(labels[ITERATION_LABEL]);
  const attempt = Number(labels[ATTEMPT_LABEL]);
  if (isRole(role) && Number.isInteger(iteration) && iteration >= 1 && Number.isInteger(attempt) && attempt >= 0) {
    return { role, iteration, attempt };
  }
  const task = labels[TASK_LABEL];
  return task && pod.metadata?.name ? parseStageName(task, pod.metadata.name) : undefined;
}

const condition = (pod: V1Pod, type: string): V1PodCondition | undefined => pod.status?.conditions?.find((c) => c.type === type);
const statusOf = (list: V1ContainerStatus[] | undefined, name: string): V1ContainerStatus | undefined => list?.find((c) => c.name === name);

interface Times {
  start?: number;
  finish?: number;
}

/** The span the Pod held its devices: first container start to last container finish. */
function containerSpan(pod: V1Pod): Times {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  let start: number | undefined;
  let finish: number | undefined;
  for (const c of all) {
    const t = c.state?.terminated ?? c.lastState?.terminated;
    const s = time(t?.startedAt) ?? time(c.state?.running?.startedAt);
    const f = time(t?.finishedAt);
    if (s !== undefined) start = start === undefined ? s : Math.min(start, s);
    if (f !== undefined) finish = finish === undefined ? f : Math.max(finish, f);
  }
  return { start, finish };
}

/** The reason a pod-level event ended the stage, if any, from status.reason or DisruptionTarget. */
function podReason(pod: V1Pod): { reason: string; message?: string } | undefined {
  const status = pod.status ?? {};
  if (status.reason === 'DeadlineExceeded') return { reason: 'DeadlineExceeded', message: status.message };
  if (status.reason === 'Evicted') return { reason: 'Evicted', message: status.message };
  if (status.reason === 'NodeLost') return { reason: 'NodeLost', message: status.message };
  const disruption = condition(pod, 'DisruptionTarget');
  if (disruption?.status === 'True' && disruption.reason) {
    return { reason: DISRUPTION_REASONS[disruption.reason] ?? disruption.reason, message: disruption.message };
  }
  // Anything else the kubelet says, such as OutOfnvidia.com/gpu or NodeAffinity when it rejects the
  // Pod at admission, is passed on as it is.
  if (status.reason) return { reason: status.reason, message: status.message };
  return undefined;
}

/** Why a stage that ended without a usable result ended, from its terminated container. */
function classify(pod: V1Pod, c: V1ContainerStatus, container: string, parseError: Error | undefined): Pick<ObservedStage, 'state' | 'failureReason' | 'failureMessage'> {
  const t = c.state!.terminated!;
  const pr = podReason(pod);
  const end = (reason: string, message: string): Pick<ObservedStage, 'state' | 'failureReason' | 'failureMessage'> => ({ state: 'Finished', failureReason: reason, failureMessage: message });
  // The kubelet ended the Pod itself (it stays, Failed, with this reason); the exit code is its doing.
  const kubelet = pod.status?.reason;
  if (kubelet === 'DeadlineExceeded' || kubelet === 'Evicted') return end(kubelet, pod.status?.message ?? kubelet);
  if (t.reason === 'OOMKilled') return end('OOMKilled', `container ${container} was killed for exceeding its memory limit (exit code ${t.exitCode})`);
  if (parseError) return end('BadTerminationMessage', `container ${container} exited with code ${t.exitCode} and ${parseError.message}`);
  if (t.exitCode !== 0) {
    // Killed because the Pod is going away (drain, preemption, lost node): the exit code is only
    // the consequence, and the stage never got to finish.
    if (pod.metadata?.deletionTimestamp || pr) {
      return { state: 'Lost', failureReason: pr?.reason ?? 'Deleted', failureMessage: pr?.message ?? `the Pod was deleted while container ${container} ran` };
    }
    return end('ExitCode', `container ${container} exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''} without a result`);
  }
  return end('BadTerminationMessage', `container ${container} exited with code 0 without a result`);
}

function finished(base: ObservedStage, pod: V1Pod, c: V1ContainerStatus, container: string, role: Role): ObservedStage {
  const t = c.state!.terminated!;
  // The kubelet cannot find a container that ran on a node it lost; nothing it says is reliable.
  if (t.reason === 'ContainerStatusUnknown') {
    return { ...base, state: 'Lost', failureReason: podReason(pod)?.reason ?? 'NodeLost', failureMessage: t.message ?? 'container status unknown' };
  }
  const text = t.message?.trim();
  let parseError: Error | undefined;
  if (text) {
    const parsed = parseStageResultOf(text, role);
    if (parsed instanceof Error) parseError = parsed;
    else return { ...base, state: 'Finished', result: parsed };
  }
  return { ...base, ...classify(pod, c, container, parseError) };
}

function withTimes(o: ObservedStage, pod: V1Pod, gpus: number): ObservedStage {
  const span = containerSpan(pod);
  const start = time(pod.status?.startTime) ?? span.start ?? time(pod.metadata?.creationTimestamp);
  if (start !== undefined) o.startTime = iso(start);
  if (o.state === 'Finished' || o.state === 'Lost') {
    const ready = condition(pod, 'Ready');
    const finish = span.finish ?? (o.state === 'Finished' ? time(ready?.lastTransitionTime) : undefined);
    if (finish !== undefined) o.finishTime = iso(finish);
    if (gpus > 0 && span.start !== undefined && span.finish !== undefined) {
      o.gpuSeconds = (gpus * Math.max(0, span.finish - span.start)) / 1000;
    }
  }
  return o;
}

/**
 * The stage a Pod runs and where it stands, or undefined for a Pod that is not a stage Pod.
 * Finished as soon as the agent container has terminated (its result is final under
 * restartPolicy Never), without waiting for the Pod's phase to catch up.
 */
export function observeStage(pod: V1Pod): ObservedStage | undefined {
  const key = stageKey(pod);
  const name = pod.metadata?.name;
  if (!key || !name) return undefined;
  const gpus = podGpus(pod, pod.metadata?.annotations?.[GPU_RESOURCE_ANNOTATION] ?? poolDefaults().gpuResource);
  const base: ObservedStage = { ...key, name, state: 'Pending' };
  return withTimes(observeState(pod, base, key.role), pod, gpus);
}

function observeState(pod: V1Pod, base: ObservedStage, role: Role): ObservedStage {
  const status = pod.status ?? {};
  const phase = status.phase;
  const agent = statusOf(status.containerStatuses, AGENT_CONTAINER);
  if (agent?.state?.terminated) return finished(base, pod, agent, AGENT_CONTAINER, role);

  // A failed checkout ends the run Pod before the agent starts; the agent program in the init
  // container may still have written a result (for example outcome Error, reason GitUnreachable).
  const checkout = statusOf(status.initContainerStatuses, CHECKOUT_CONTAINER);
  const ct = checkout?.state?.terminated;
  if (checkout && ct && ct.exitCode !== 0) {
    const o = finished(base, pod, checkout, CHECKOUT_CONTAINER, role);
    if (o.failureReason === 'ExitCode') o.failureReason = 'CheckoutFailed';
    return o;
  }

  const pr = podReason(pod);
  if (phase === 'Unknown' || pr?.reason === 'NodeLost') {
    return { ...base, state: 'Lost', failureReason: 'NodeLost', failureMessage: pr?.message ?? status.message ?? 'the Pod\'s node stopped reporting' };
  }
  if (phase === 'Succeeded' || phase === 'Failed') {
    const reason = pr?.reason ?? (phase === 'Succeeded' ? 'BadTerminationMessage' : 'PodFailed');
    const message = pr?.message ?? status.message ?? (phase === 'Succeeded' ? 'the Pod succeeded but reported no agent container status' : 'the Pod failed before its agent container ran');
    return { ...base, state: 'Finished', failureReason: reason, failureMessage: message };
  }
  // Deleted before it finished (by a person, a drain, preemption, the node going away): no result
  // will come, even though the Pod may linger while it terminates.
  if (pod.metadata?.deletionTimestamp) {
    return { ...base, state: 'Lost', failureReason: pr?.reason ?? 'Deleted', failureMessage: pr?.message ?? 'the Pod was deleted before its stage finished' };
  }
  if (phase === 'Running') return { ...base, state: 'Running' };

  const o: ObservedStage = { ...base, state: 'Pending' };
  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    o.unschedulable = true;
    o.unschedulableMessage = scheduled.message ?? 'the scheduler cannot place the Pod';
  }
  // A container that cannot start (bad image, missing Secret) keeps the Pod Pending until its
  // activeDeadlineSeconds; say why, without calling the stage failed: it may still recover.
  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const w = c.state?.waiting;
    if (w?.reason && STUCK_WAITING.has(w.reason)) {
      o.failureReason = w.reason;
      o.failureMessage = `container ${c.name}: ${w.message ?? w.reason}`;
      break;
    }
  }
  return o;
}

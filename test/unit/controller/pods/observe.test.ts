import type { V1ContainerState, V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Role, StageResult } from '../../../../operator/src/api/types.js';
import { stageName } from '../../../../operator/src/core/names.js';
import { buildStagePod } from '../../../../operator/src/controller/pods/build.js';
import { observeStage } from '../../../../operator/src/controller/pods/observe.js';
import { pool, task } from './fixtures.js';

const T0 = '2025-01-01T10:00:00Z';
const T1 = '2025-01-01T10:00:05Z';
const T2 = '2025-01-01T10:01:45Z';

function pod(role: Role, status: V1PodStatus, meta: Partial<NonNullable<V1Pod['metadata']>> = {}): V1Pod {
  const t = task();
  const key = { iteration: 1, role, attempt: 0 };
  const p = buildStagePod({ task: t, pool: pool(), key, name: stageName('fizzbuzz', key), context: {} });
  p.metadata = { ...p.metadata, creationTimestamp: new Date(T0), ...meta };
  p.status = status;
  return p;
}

function container(name: string, state: V1ContainerState): V1ContainerStatus {
  return { name, state, image: 'x', imageID: '', ready: false, restartCount: 0 };
}

const terminated = (exitCode: number, extra: Partial<NonNullable<V1ContainerState['terminated']>> = {}): V1ContainerState => ({
  terminated: { exitCode, startedAt: new Date(T1), finishedAt: new Date(T2), ...extra },
});

const runResult: StageResult = {
  role: 'run',
  outcome: 'Failed',
  commit: 'abc123',
  tests: { passed: 9, failed: 1, total: 10, failing: ['test_fizz'] },
  summary: '9/10 tests pass',
};

function finishedRun(message: string | undefined, exitCode = 1, extra: Partial<NonNullable<V1ContainerState['terminated']>> = {}, podStatus: Partial<V1PodStatus> = {}): V1Pod {
  return pod('run', {
    phase: 'Failed',
    startTime: new Date(T0),
    initContainerStatuses: [container('checkout', { terminated: { exitCode: 0, startedAt: new Date(T0), finishedAt: new Date(T1) } })],
    containerStatuses: [container('agent', terminated(exitCode, { ...(message === undefined ? {} : { message }), ...extra }))],
    ...podStatus,
  });
}

describe('observeStage', () => {
  it('ignores Pods that are not stage Pods', () => {
    expect(observeStage({ metadata: { name: 'other', labels: { app: 'x' } } })).toBeUndefined();
  });

  it('reads the stage key from the labels', () => {
    expect(observeStage(pod('repair', { phase: 'Pending' }))).toMatchObject({ name: 'fizzbuzz-i1-repair-a0', iteration: 1, role: 'repair', attempt: 0, state: 'Pending' });
  });

  it('Pending, unschedulable, with the scheduler message', () => {
    const o = observeStage(
      pod('run', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/16 nodes are available: 16 Insufficient nvidia.com/gpu.' }] }),
    );
    expect(o).toMatchObject({ state: 'Pending', unschedulable: true, unschedulableMessage: '0/16 nodes are available: 16 Insufficient nvidia.com/gpu.' });
    expect(o!.failureReason).toBeUndefined();
  });

  it('Pending with a container that cannot start names the reason but does not fail the stage', () => {
    const o = observeStage(pod('code', { phase: 'Pending', startTime: new Date(T0), containerStatuses: [container('agent', { waiting: { reason: 'CreateContainerConfigError', message: 'secret "anthropic" not found' } })] }));
    expect(o).toMatchObject({ state: 'Pending', failureReason: 'CreateContainerConfigError', failureMessage: 'container agent: secret "anthropic" not found' });
    expect(o!.unschedulable).toBeUndefined();
  });

  it('Running with its start time', () => {
    const o = observeStage(pod('code', { phase: 'Running', startTime: new Date(T0), containerStatuses: [container('agent', { running: { startedAt: new Date(T1) } })] }));
    expect(o).toEqual({ name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Running', startTime: new Date(T0).toISOString() });
  });

  it('Finished with the parsed result, times and GPU-seconds (first container start to last finish)', () => {
    const o = observeStage(finishedRun(JSON.stringify(runResult)));
    expect(o).toEqual({
      name: 'fizzbuzz-i1-run-a0',
      iteration: 1,
      role: 'run',
      attempt: 0,
      state: 'Finished',
      result: runResult,
      startTime: new Date(T0).toISOString(),
      finishTime: new Date(T2).toISOString(),
      gpuSeconds: 105,
    });
  });

  it('Finished as soon as the agent container terminated, before the phase catches up', () => {
    const p = finishedRun(JSON.stringify({ ...runResult, outcome: 'Succeeded' }), 0, {}, { phase: 'Running' });
    expect(observeStage(p)).toMatchObject({ state: 'Finished', result: { outcome: 'Succeeded' } });
  });

  it('accepts timestamps as strings (raw JSON from a watch)', () => {
    const p = JSON.parse(JSON.stringify(finishedRun(JSON.stringify(runResult)))) as V1Pod;
    expect(observeStage(p)).toMatchObject({ startTime: new Date(T0).toISOString(), finishTime: new Date(T2).toISOString(), gpuSeconds: 105 });
  });

  it('no GPU-seconds for a role without GPUs', () => {
    const p = pod('code', { phase: 'Succeeded', containerStatuses: [container('agent', terminated(0, { message: JSON.stringify({ role: 'code', outcome: 'Succeeded', summary: 'ok' }) }))] });
    const o = observeStage(p)!;
    expect(o.state).toBe('Finished');
    expect(o.gpuSeconds).toBeUndefined();
  });

  it.each([
    ['a missing message, exit 0', undefined, 0, {}, {}, 'Finished', 'BadTerminationMessage', /code 0 without a result/],
    ['a malformed message', '{"role": "run", "outcome"', 1, {}, {}, 'Finished', 'BadTerminationMessage', /invalid result: not JSON/],
    ['a message for another role', JSON.stringify({ ...runResult, role: 'code' }), 0, {}, {}, 'Finished', 'BadTerminationMessage', /role code but the stage is run/],
    ['an invalid count', JSON.stringify({ ...runResult, tests: { passed: -2, failed: 0, total: 0, failing: [] } }), 0, {}, {}, 'Finished', 'BadTerminationMessage', /tests.passed/],
    ['an exit code without a message', undefined, 3, {}, {}, 'Finished', 'ExitCode', /exited with code 3/],
    ['OOMKilled', undefined, 137, { reason: 'OOMKilled' }, {}, 'Finished', 'OOMKilled', /memory limit/],
    ['OOMKilled with a partial message', '{"role":"run","out', 137, { reason: 'OOMKilled' }, {}, 'Finished', 'OOMKilled', /memory limit/],
    ['DeadlineExceeded', undefined, 137, { reason: 'Error' }, { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }, 'Finished', 'DeadlineExceeded', /deadline/],
    // What the real kubelet reports (test/integration/realnode/endings): SIGTERM, which the agent handles.
    ['DeadlineExceeded, the agent exiting on SIGTERM', undefined, 143, { reason: 'Error' }, { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }, 'Finished', 'DeadlineExceeded', /deadline/],
    ['Evicted', undefined, 137, { reason: 'Error' }, { reason: 'Evicted', message: 'The node was low on resource: ephemeral-storage.' }, 'Finished', 'Evicted', /ephemeral-storage/],
    ['killed by a drain', undefined, 143, {}, { phase: 'Running', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' }] }, 'Lost', 'Evicted', /Eviction API/],
    ['ContainerStatusUnknown', undefined, 137, { reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' }, {}, 'Lost', 'NodeLost', /could not be located/],
  ] as const)('agent container with %s', (_name, message, exitCode, extra, podStatus, state, reason, why) => {
    const o = observeStage(finishedRun(message, exitCode, extra, podStatus as Partial<V1PodStatus>))!;
    expect(o.state).toBe(state);
    expect(o.result).toBeUndefined();
    expect(o.failureReason).toBe(reason);
    expect(o.failureMessage).toMatch(why);
  });

  it('a valid result wins over the Pod running out its deadline just after', () => {
    const o = observeStage(finishedRun(JSON.stringify(runResult), 0, {}, { reason: 'DeadlineExceeded' }))!;
    expect(o).toMatchObject({ state: 'Finished', result: runResult });
    expect(o.failureReason).toBeUndefined();
  });

  it('DeadlineExceeded before any container finished', () => {
    const o = observeStage(pod('code', { phase: 'Failed', reason: 'DeadlineExceeded', message: 'too long', startTime: new Date(T0), containerStatuses: [container('agent', { waiting: { reason: 'ImagePullBackOff' } })] }))!;
    expect(o).toMatchObject({ state: 'Finished', failureReason: 'DeadlineExceeded', failureMessage: 'too long' });
  });

  it('Evicted with no container status', () => {
    expect(observeStage(pod('run', { phase: 'Failed', reason: 'Evicted', message: 'The node had condition: [DiskPressure].' }))).toMatchObject({ state: 'Finished', failureReason: 'Evicted' });
  });

  it('rejected by the kubelet at admission (OutOf<resource>)', () => {
    expect(observeStage(pod('run', { phase: 'Failed', reason: 'OutOfnvidia.com/gpu', message: 'Node didn\'t have enough resource: nvidia.com/gpu' }))).toMatchObject({
      state: 'Finished',
      failureReason: 'OutOfnvidia.com/gpu',
    });
  });

  it.each([
    ['phase Unknown', { phase: 'Unknown' }],
    ['status.reason NodeLost', { phase: 'Running', reason: 'NodeLost', message: 'Node n1 which was running pod is unresponsive' }],
    ['deleted by the Pod GC after its node went away', { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' }] }],
    ['deleted by the taint manager', { phase: 'Running', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' }] }],
  ] as const)('Lost with NodeLost: %s', (_name, status) => {
    expect(observeStage(pod('run', status as V1PodStatus))).toMatchObject({ state: 'Lost', failureReason: 'NodeLost' });
  });

  it.each([
    ['Running', {}, 'Deleted'],
    ['Pending', {}, 'Deleted'],
    ['Running', { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler', message: 'preempted' }] }, 'Preempted'],
  ] as const)('a %s Pod being deleted is Lost (%j → %s)', (phase, extra, reason) => {
    const o = observeStage(pod('test', { phase, ...extra } as V1PodStatus, { deletionTimestamp: new Date(T2) }))!;
    expect(o).toMatchObject({ state: 'Lost', failureReason: reason });
  });

  it('a finished Pod being deleted still reports its result', () => {
    const p = finishedRun(JSON.stringify(runResult));
    p.metadata!.deletionTimestamp = new Date(T2);
    expect(observeStage(p)).toMatchObject({ state: 'Finished', result: runResult });
  });

  it.each([
    ['exit code, no message', {}, 'CheckoutFailed', undefined],
    ['a result written by the checkout', { message: JSON.stringify({ role: 'run', outcome: 'Error', reason: 'GitUnreachable', summary: 'could not fetch' }) }, undefined, 'GitUnreachable'],
    ['OOMKilled', { reason: 'OOMKilled' }, 'OOMKilled', undefined],
  ] as const)('the checkout init container failed: %s', (_name, extra, failureReason, resultReason) => {
    const p = pod('run', {
      phase: 'Failed',
      initContainerStatuses: [container('checkout', terminated(128, extra))],
      containerStatuses: [container('agent', { waiting: { reason: 'PodInitializing' } })],
    });
    const o = observeStage(p)!;
    expect(o.state).toBe('Finished');
    expect(o.failureReason).toBe(failureReason);
    expect(o.result?.reason).toBe(resultReason);
  });

  it('the deadline passing during the checkout: SIGTERM ends it with 143, the stage is DeadlineExceeded, not CheckoutFailed', () => {
    const p = pod('run', {
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
      initContainerStatuses: [container('checkout', terminated(143, { reason: 'Error' }))],
      containerStatuses: [container('agent', { waiting: { reason: 'PodInitializing' } })],
    });
    expect(observeStage(p)).toMatchObject({ state: 'Finished', failureReason: 'DeadlineExceeded', failureMessage: expect.stringMatching(/deadline/) });
  });

  it('a succeeded Pod without an agent status has a bad termination message', () => {
    expect(observeStage(pod('code', { phase: 'Succeeded' }))).toMatchObject({ state: 'Finished', failureReason: 'BadTerminationMessage' });
  });

  it('never throws on odd input', () => {
    const odd: V1Pod[] = [
      pod('run', {}),
      pod('run', { phase: 'Failed', containerStatuses: [container('agent', { terminated: { exitCode: 1, message: '\u0000\uffff' } })] }),
      pod('run', { phase: 'Running', startTime: 'garbage' as unknown as Date }),
      { metadata: { name: 'fizzbuzz-i1-run-a0', labels: { 'autorun.dev/task': 'fizzbuzz' } } },
    ];
    for (const p of odd) expect(() => observeStage(p)).not.toThrow();
    // Without the key labels the name still identifies the stage.
    expect(observeStage(odd[3]!)).toMatchObject({ role: 'run', iteration: 1, attempt: 0, state: 'Pending' });
  });
});

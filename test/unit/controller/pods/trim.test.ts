// The cache keeps a trimmed stage Pod: everything the operator reads back must survive the trim.
// Checked on the Pods buildStagePod makes, finished the way a kubelet reports them.
import type { V1Pod } from '@kubernetes/client-node';
import { buildStagePod } from '../../../../operator/src/controller/pods/build.js';
import { podGpus } from '../../../../operator/src/controller/pods/gpus.js';
import { observeStage } from '../../../../operator/src/controller/pods/observe.js';
import { trimPodForCache } from '../../../../operator/src/controller/pods/trim.js';
import { stageName } from '../../../../operator/src/core/names.js';
import type { Role } from '../../../../operator/src/api/types.js';
import { pool, task } from './fixtures.js';

function finished(role: Role): V1Pod {
  const t = task();
  const key = { iteration: 2, role, attempt: 1 };
  const pod = buildStagePod({ task: t, pool: pool(), key, name: stageName(t.metadata.name, key), context: { codeRef: 'abc123', testsRef: 'def456' }, reportConfigMap: role === 'repair' ? 'fizzbuzz-i1-report' : undefined });
  const result = JSON.stringify({ role, outcome: 'Succeeded', commit: 'c0ffee', summary: 'done' });
  return {
    ...pod,
    metadata: { ...pod.metadata, namespace: 'team-a', uid: 'pod-uid', creationTimestamp: new Date('2026-11-24T00:00:00Z') },
    spec: { ...pod.spec!, nodeName: 'gke-l4-1' },
    status: {
      phase: 'Succeeded',
      startTime: new Date('2026-11-24T00:00:01Z'),
      containerStatuses: pod.spec!.containers.map((c) => ({ name: c.name, image: c.image!, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message: result, reason: 'Completed', finishedAt: new Date('2026-11-24T00:00:09Z') } } })),
    },
  };
}

describe('trimPodForCache', () => {
  test.each<Role>(['code', 'test', 'run', 'repair', 'acceptance'])('%s: the observed stage, GPU count and container names are unchanged; env and volumes are gone', (role) => {
    const pod = finished(role);
    const before = { observed: observeStage(pod), gpus: podGpus(pod, 'nvidia.com/gpu'), containers: pod.spec!.containers.map((c) => c.name), size: JSON.stringify(pod).length };
    trimPodForCache(pod);
    expect(observeStage(pod)).toEqual(before.observed);
    expect(before.observed).toMatchObject({ state: 'Finished', result: { outcome: 'Succeeded', commit: 'c0ffee' } });
    expect(podGpus(pod, 'nvidia.com/gpu')).toBe(before.gpus);
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(before.containers);
    expect(pod.spec!.nodeName).toBe('gke-l4-1');
    expect(JSON.stringify(pod.spec)).not.toMatch(/"env"|"volumes"|"securityContext"|"command"/);
    expect(JSON.stringify(pod).length).toBeLessThan(before.size / 2);
  });

  test('the run Pod still counts its GPU', () => {
    const pod = finished('run');
    trimPodForCache(pod);
    expect(podGpus(pod, 'nvidia.com/gpu')).toBe(1);
  });
});

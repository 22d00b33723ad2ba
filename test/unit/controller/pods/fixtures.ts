// Tasks and pools as the apiserver would return them (CRD defaults applied), for the Pod tests.
import type { AgentPool, CodingTask } from '../../../../operator/src/api/types.js';
import { withDefaults } from '../../../../operator/src/api/defaults.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function task(spec: DeepPartial<CodingTask['spec']> = {}, meta: Partial<CodingTask['metadata']> = {}): CodingTask {
  return withDefaults('CodingTask', {
    apiVersion: 'autorun.dev/v1alpha1',
    kind: 'CodingTask',
    metadata: { name: 'fizzbuzz', namespace: 'team-a', uid: '6f1c2d3e-0000-4000-8000-000000000001', generation: 1, ...meta },
    spec: {
      goal: 'Implement fizzbuzz(n) in fizzbuzz.py',
      language: 'python',
      repository: { url: 'https://git.example/team-a/fizzbuzz.git', credentialsSecretRef: { name: 'git-creds' } },
      test: { acceptance: { configMapRef: { name: 'fizzbuzz-acceptance' } } },
      ...spec,
    } as CodingTask['spec'],
  });
}

/** The design's L4 pool: run gets one GPU, the LLM roles none. */
export function pool(spec: DeepPartial<AgentPool['spec']> = {}, meta: Partial<AgentPool['metadata']> = {}): AgentPool {
  return withDefaults('AgentPool', {
    apiVersion: 'autorun.dev/v1alpha1',
    kind: 'AgentPool',
    metadata: { name: 'default', namespace: 'team-a', generation: 3, ...meta },
    spec: {
      maxConcurrentTasks: 16,
      gpu: { resource: 'nvidia.com/gpu', limit: 16 },
      nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      serviceAccountName: 'autorun-agent',
      runtimeClassName: 'gvisor',
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5', apiKeySecretRef: { name: 'anthropic', key: 'api-key' } },
      roles: {
        run: { image: 'python:3.12-slim', gpus: 1, timeoutSeconds: 900, resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: 4294967296 } } },
        code: { resources: { requests: { cpu: '500m' } } },
      },
      ...spec,
    } as AgentPool['spec'],
  });
}

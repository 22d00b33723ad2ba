import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { contextFromEnv } from '../../../../operator/src/agent/context.js';
import { withDefaults } from '../../../../operator/src/api/defaults.js';
import type { AgentPool, Role } from '../../../../operator/src/api/types.js';
import { stageName } from '../../../../operator/src/core/names.js';
import type { StageContext, StageKey } from '../../../../operator/src/core/types.js';
import {
  ACCEPTANCE_DIR,
  AGENT_CONTAINER,
  MODEL_KEY_DIR,
  CHECKOUT_CONTAINER,
  EXEC_CONTAINER,
  EXEC_SOCKET,
  EXEC_SOCKET_DIR,
  REPORT_DIR,
  RUNNER_DIR,
  buildStagePod,
} from '../../../../operator/src/controller/pods/build.js';
import type { StagePodInput } from '../../../../operator/src/controller/pods/build.js';
import { GPU_RESOURCE_ANNOTATION, STAGE_POD_SELECTOR } from '../../../../operator/src/controller/pods/labels.js';
import { REPORT_KEY } from '../../../../operator/src/controller/pods/report.js';
import { roleSettings } from '../../../../operator/src/api/pool-roles.js';
import { pool, task } from './fixtures.js';

const ROLES: Role[] = ['code', 'test', 'run', 'repair', 'acceptance'];
const LLM: Role[] = ['code', 'test', 'repair'];
const EXEC: Role[] = ['run', 'acceptance'];

function build(role: Role, over: Partial<StagePodInput> = {}, ctx: StageContext = { codeRef: 'abc123', testsRef: 'def456' }): V1Pod {
  const t = over.task ?? task();
  const key: StageKey = { iteration: 2, role, attempt: 1 };
  return buildStagePod({ task: t, pool: pool(), key, name: stageName(t.metadata.name, key), context: ctx, reportConfigMap: role === 'repair' ? 'fizzbuzz-i1-report' : undefined, ...over });
}

const main = (pod: V1Pod): V1Container => pod.spec!.containers.find((c) => c.name === AGENT_CONTAINER)!;
const init = (pod: V1Pod): V1Container | undefined => pod.spec!.initContainers?.find((c) => c.name === CHECKOUT_CONTAINER);
const exec = (pod: V1Pod): V1Container => pod.spec!.initContainers!.find((c) => c.name === EXEC_CONTAINER)!;
const envOf = (c: V1Container): Record<string, V1EnvVar> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
const literalEnv = (c: V1Container): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
const secretRefs = (c: V1Container): string[] => (c.env ?? []).filter((e) => e.valueFrom).map((e) => `${e.name}=${e.valueFrom!.secretKeyRef!.name}/${e.valueFrom!.secretKeyRef!.key}`);
const allContainers = (pod: V1Pod): V1Container[] => [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers];

describe('buildStagePod: identity', () => {
  it.each(ROLES)('%s: name, namespace, owner, labels', (role) => {
    const pod = build(role);
    expect(pod.metadata!.name).toBe(`fizzbuzz-i2-${role}-a1`);
    expect(pod.metadata!.namespace).toBe('team-a');
    expect(pod.metadata!.ownerReferences).toEqual([
      { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', name: 'fizzbuzz', uid: '6f1c2d3e-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true },
    ]);
    expect(pod.metadata!.labels).toEqual({
      'autorun.dev/task': 'fizzbuzz',
      'autorun.dev/role': role,
      'autorun.dev/iteration': '2',
      'autorun.dev/attempt': '1',
      'autorun.dev/pool': 'default',
      'app.kubernetes.io/managed-by': 'autorun',
    });
    expect(pod.metadata!.labels![STAGE_POD_SELECTOR]).toBe('fizzbuzz');
    expect(pod.spec!.restartPolicy).toBe('Never');
  });

  it('is deterministic and plain JSON', () => {
    const a = build('run');
    expect(build('run')).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('refuses a task without a uid (the garbage collector would delete the Pod at once)', () => {
    expect(() => build('code', { task: task({}, { uid: undefined }) })).toThrow(/uid/);
  });
});

describe('buildStagePod: role templates', () => {
  it.each([
    ['code', 'ghcr.io/autorun-dev/autorun-agent:0.1.0', ['autorun', 'agent', '--role', 'code'], 1800],
    ['test', 'ghcr.io/autorun-dev/autorun-agent:0.1.0', ['autorun', 'agent', '--role', 'test'], 1800],
    ['repair', 'ghcr.io/autorun-dev/autorun-agent:0.1.0', ['autorun', 'agent', '--role', 'repair'], 1800],
    ['run', 'python:3.12-slim', [`${RUNNER_DIR}/node`, `${RUNNER_DIR}/dist/bundle/autorun.mjs`, 'agent', '--role', 'run', '--phase', 'test'], 900],
    ['acceptance', 'python:3.12-slim', [`${RUNNER_DIR}/node`, `${RUNNER_DIR}/dist/bundle/autorun.mjs`, 'agent', '--role', 'acceptance', '--phase', 'test'], 900],
  ] as const)('%s: image %s, command %j, deadline %d', (role, image, command, deadline) => {
    const pod = build(role);
    expect(main(pod).image).toBe(image);
    expect(main(pod).command).toEqual(command);
    expect(pod.spec!.activeDeadlineSeconds).toBe(deadline);
    // The exec sidecar reports nothing: the agent container's message is the stage's result.
    for (const c of allContainers(pod).filter((c) => c.name !== EXEC_CONTAINER)) {
      expect(c.terminationMessagePath).toBe('/dev/termination-log');
      expect(c.terminationMessagePolicy).toBe('File');
    }
  });

  it('uses the role image, command and timeout when the pool sets them', () => {
    const p = pool({ roles: { test: { image: 'example/agent:dev', command: ['/bin/agent', 'agent', '--role', 'test'], timeoutSeconds: 60 } } });
    const pod = build('test', { pool: p });
    expect(main(pod).image).toBe('example/agent:dev');
    expect(main(pod).command).toEqual(['/bin/agent', 'agent', '--role', 'test']);
    expect(pod.spec!.activeDeadlineSeconds).toBe(60);
  });

  it('falls back to the operator image when the pool names no agent image', () => {
    const p = pool();
    delete p.spec.agentImage;
    expect(main(build('code', { pool: p, operatorImage: 'example/autorun:1.2.3' })).image).toBe('example/autorun:1.2.3');
  });

  it('mirrors the CRD defaults for a pool that does not set them', () => {
    const raw: AgentPool = { apiVersion: 'autorun.dev/v1alpha1', kind: 'AgentPool', metadata: { name: 'p' }, spec: { model: { apiKeySecretRef: { name: 'k' } } } };
    for (const role of ROLES) expect(roleSettings(raw, role)).toEqual(roleSettings(withDefaults('AgentPool', raw), role));
  });

  it('converts resource quantities to strings and keeps CPU and memory', () => {
    const r = main(build('run')).resources!;
    expect(r.requests).toEqual({ cpu: '1', memory: '2Gi', 'ephemeral-storage': '512Mi', 'nvidia.com/gpu': '1' });
    expect(r.limits).toEqual({ memory: '4294967296', 'ephemeral-storage': '7168Mi', 'nvidia.com/gpu': '1' });
    expect(main(build('code')).resources).toEqual({ requests: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '512Mi' }, limits: { 'ephemeral-storage': '7168Mi' } });
  });
});

describe('buildStagePod: requests and disk', () => {
  const bare = pool({ roles: {} });
  const qos = (pod: V1Pod): string => {
    // The kubelet's rule: BestEffort when no container requests or limits cpu or memory.
    const any = allContainers(pod).some((c) => ['cpu', 'memory'].some((k) => c.resources?.requests?.[k] ?? c.resources?.limits?.[k]));
    return any ? 'not BestEffort' : 'BestEffort';
  };

  it.each(ROLES)('%s: a pool without resources still requests CPU, memory and disk', (role) => {
    const pod = build(role, { pool: bare });
    expect(qos(pod)).toBe('not BestEffort');
    const llm = LLM.includes(role);
    for (const c of allContainers(pod)) {
      expect([c.name, c.resources?.requests]).toEqual([c.name, expect.objectContaining(llm ? { cpu: '250m', memory: '512Mi' } : { cpu: '500m', memory: '1Gi' })]);
      expect(c.resources?.requests?.['ephemeral-storage']).toBe('512Mi');
      // workspace 4Gi + tmp 1Gi + the exec container's or the runner's 1Gi + 1Gi for logs and the writable layer
      expect(c.resources?.limits?.['ephemeral-storage']).toBe('7168Mi');
    }
    const sizes = Object.fromEntries(pod.spec!.volumes!.filter((v) => v.emptyDir).map((v) => [v.name, v.emptyDir!.sizeLimit]));
    expect(sizes).toEqual(llm ? { workspace: '4Gi', tmp: '1Gi', 'exec-tmp': '1Gi', 'exec-socket': '1Mi' } : { workspace: '4Gi', tmp: '1Gi', runner: '1Gi' });
  });

  it('the pool sets the volume sizes, and the ephemeral-storage limit follows them', () => {
    const p = pool({ roles: { test: { storage: { workspace: '1.5Gi', tmp: '512Mi' } }, run: { storage: { workspace: '20Gi' } } } });
    const t = build('test', { pool: p });
    expect(t.spec!.volumes!.filter((v) => v.emptyDir).map((v) => v.emptyDir!.sizeLimit)).toEqual(['1.5Gi', '512Mi', '512Mi', '1Mi']);
    expect(main(t).resources!.limits!['ephemeral-storage']).toBe('3584Mi');
    const r = build('run', { pool: p });
    expect(main(r).resources!.limits!['ephemeral-storage']).toBe(`${(20 + 1 + 1 + 1) * 1024}Mi`);
  });

  it('a limit without a request is left for the apiserver to copy; the pool\'s own ephemeral-storage values win', () => {
    const p = pool({ roles: { code: { resources: { limits: { memory: '256Mi', 'ephemeral-storage': '2Gi' }, requests: { 'ephemeral-storage': '1Gi' } } } } });
    const r = main(build('code', { pool: p })).resources!;
    expect(r.requests).toEqual({ cpu: '250m', 'ephemeral-storage': '1Gi' });
    expect(r.limits).toEqual({ memory: '256Mi', 'ephemeral-storage': '2Gi' });
    // A request above the computed limit raises the limit (request > limit is an invalid Pod).
    const big = pool({ roles: { code: { resources: { requests: { 'ephemeral-storage': '50Gi' } } } } });
    expect(main(build('code', { pool: big })).resources!.limits!['ephemeral-storage']).toBe(`${50 * 1024}Mi`);
  });
});

describe('buildStagePod: GPUs only where gpus > 0', () => {
  it.each(ROLES)('default L4 pool, %s', (role) => {
    const pod = build(role);
    const gpu = EXEC.includes(role);
    const r = main(pod).resources;
    expect(r?.requests?.['nvidia.com/gpu']).toBe(gpu ? '1' : undefined);
    expect(r?.limits?.['nvidia.com/gpu']).toBe(gpu ? '1' : undefined);
    expect(pod.spec!.nodeSelector).toEqual(gpu ? { 'cloud.google.com/gke-accelerator': 'nvidia-l4' } : undefined);
    expect(pod.spec!.tolerations).toEqual(gpu ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] : undefined);
    expect(pod.metadata!.annotations?.[GPU_RESOURCE_ANNOTATION]).toBe(gpu ? 'nvidia.com/gpu' : undefined);
    // The checkout init container never holds the GPU.
    expect(init(pod)?.resources?.requests?.['nvidia.com/gpu']).toBeUndefined();
  });

  it('a pool serving its own model gives the LLM roles GPUs, selector and tolerations too', () => {
    const p = pool({ gpu: { resource: 'example.com/gpu', limit: 8 }, roles: { code: { gpus: 2 }, run: { gpus: 0 } } });
    const code = build('code', { pool: p });
    expect(main(code).resources!.limits).toEqual({ 'ephemeral-storage': '7168Mi', 'example.com/gpu': '2' });
    expect(code.spec!.nodeSelector).toBeDefined();
    expect(code.spec!.tolerations).toHaveLength(1);
    const run = build('run', { pool: p });
    expect(main(run).resources?.limits?.['example.com/gpu']).toBeUndefined();
    expect(run.spec!.nodeSelector).toBeUndefined();
    expect(run.spec!.tolerations).toBeUndefined();
  });

  it('drops a GPU the role template lists under resources: GPUs come from gpus alone', () => {
    const p = pool({ roles: { test: { resources: { limits: { 'nvidia.com/gpu': 1, memory: '1Gi' } } } } });
    const pod = build('test', { pool: p });
    expect(main(pod).resources).toEqual({ requests: { cpu: '250m', 'ephemeral-storage': '512Mi' }, limits: { memory: '1Gi', 'ephemeral-storage': '7168Mi' } });
    expect(pod.spec!.tolerations).toBeUndefined();
  });
});

describe('buildStagePod: per-role nodeSelector and tolerations', () => {
  const cpuPool = { 'cloud.google.com/gke-nodepool': 'cpu' };
  const cpuTaint = { key: 'pool', operator: 'Equal' as const, value: 'cpu', effect: 'NoSchedule' as const };

  it.each(LLM)('%s without GPUs gets its own selector and tolerations, none of the pool\'s GPU ones', (role) => {
    const p = pool({ roles: { [role]: { nodeSelector: cpuPool, tolerations: [cpuTaint] } } });
    const pod = build(role, { pool: p });
    expect(pod.spec!.nodeSelector).toEqual(cpuPool);
    expect(pod.spec!.tolerations).toEqual([cpuTaint]);
    // The other LLM roles are not steered by this role's settings.
    for (const other of LLM.filter((r) => r !== role)) expect(build(other, { pool: p }).spec!.nodeSelector).toBeUndefined();
  });

  it.each(EXEC)('%s with a GPU adds the run role\'s own to the pool\'s, the role winning a shared key', (role) => {
    const p = pool({ roles: { run: { gpus: 1, nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4-spot', zone: 'a' }, tolerations: [cpuTaint] } } });
    const pod = build(role, { pool: p });
    expect(pod.spec!.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4-spot', zone: 'a' });
    expect(pod.spec!.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, cpuTaint]);
  });

  it('a run role without GPUs gets only its own', () => {
    const p = pool({ roles: { run: { gpus: 0, nodeSelector: cpuPool } } });
    expect(build('run', { pool: p }).spec!.nodeSelector).toEqual(cpuPool);
    expect(build('acceptance', { pool: p }).spec!.tolerations).toBeUndefined();
  });

  it('roleSettings reports what the Pod gets, for the local tier and the GPU accounting alike', () => {
    const p = pool({ roles: { code: { nodeSelector: cpuPool } } });
    expect(roleSettings(p, 'code').nodeSelector).toEqual(cpuPool);
    expect(roleSettings(p, 'run').nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
  });
});

describe('buildStagePod: the exec container of LLM Pods', () => {
  it.each(LLM)('%s: a native sidecar from the agent image running the exec server', (role) => {
    const pod = build(role);
    const c = exec(pod);
    expect(c).toMatchObject({ image: main(pod).image, command: ['autorun', 'exec-server', '--socket', EXEC_SOCKET], restartPolicy: 'Always', workingDir: '/workspace' });
    expect(c.resources).toEqual(main(pod).resources);
  });

  it.each(LLM)('%s: it holds no secret: no Secret mounted, no secret env, no token, a /tmp of its own', (role) => {
    const pod = build(role, { pool: pool({ roles: { [role]: { env: [{ name: 'PIP_TOKEN', valueFrom: { secretKeyRef: { name: 'pip', key: 'token' } } }, { name: 'PLAIN', value: 'x' }] } } }) });
    const c = exec(pod);
    expect(c.env).toEqual([{ name: 'HOME', value: '/tmp' }]);
    expect(c.envFrom).toBeUndefined();
    const secretVolumes = new Set(pod.spec!.volumes!.filter((v) => v.secret || v.configMap).map((v) => v.name));
    expect(c.volumeMounts!.filter((m) => secretVolumes.has(m.name))).toEqual([]);
    expect(c.volumeMounts).toEqual([
      { name: 'workspace', mountPath: '/workspace' },
      { name: 'exec-tmp', mountPath: '/tmp' },
      { name: 'exec-socket', mountPath: EXEC_SOCKET_DIR },
    ]);
    expect(pod.spec!.automountServiceAccountToken).toBe(false);
    expect(pod.spec!.shareProcessNamespace).toBeUndefined();
    // The agent connects to the socket, and cannot write where the exec container serves it.
    expect(main(pod).volumeMounts).toContainEqual({ name: 'exec-socket', mountPath: EXEC_SOCKET_DIR, readOnly: true });
    expect(main(pod).volumeMounts!.map((m) => m.name)).not.toContain('exec-tmp');
  });

  it.each([...EXEC, 'publish'] as Role[])('%s has none: it runs no model command', (role) => {
    const pod = build(role, role === 'publish' ? { context: { pullRequest: { title: 't', body: 'b' } } as StageContext } : {});
    expect(pod.spec!.initContainers?.find((c) => c.name === EXEC_CONTAINER)).toBeUndefined();
    expect(literalEnv(main(pod)).AUTORUN_EXEC_SOCKET).toBeUndefined();
  });
});

describe('buildStagePod: credentials', () => {
  it.each(LLM)('%s gets the model key as a 0400 Secret file (in no environment) and the git token by secretKeyRef', (role) => {
    const pod = build(role);
    const c = main(pod);
    expect(secretRefs(c).sort()).toEqual(['AUTORUN_GIT_TOKEN=git-creds/token']);
    expect(Object.keys(literalEnv(c))).not.toContain('ANTHROPIC_API_KEY');
    expect(literalEnv(c).AUTORUN_MODEL_API_KEY_FILE).toBe(`${MODEL_KEY_DIR}/api-key`);
    expect(pod.spec!.volumes!.find((v) => v.name === 'model-key')).toEqual({ name: 'model-key', secret: { secretName: 'anthropic', items: [{ key: 'api-key', path: 'api-key' }], defaultMode: 0o400 } });
    expect(c.volumeMounts).toContainEqual({ name: 'model-key', mountPath: MODEL_KEY_DIR, readOnly: true });
    // Commands go to the exec container (bubblewrap cannot run under RuntimeDefault seccomp).
    expect(literalEnv(c).AUTORUN_EXEC_SOCKET).toBe(EXEC_SOCKET);
    expect(literalEnv(c).AUTORUN_SANDBOX).toBeUndefined();
  });

  it.each(EXEC)('%s mounts no model key and runs its tests unsandboxed: the Pod holds no secret', (role) => {
    const pod = build(role);
    expect(pod.spec!.volumes!.some((v) => v.secret)).toBe(false);
    expect(literalEnv(main(pod)).AUTORUN_SANDBOX).toBe('off');
    expect(literalEnv(init(pod)!).AUTORUN_MODEL_API_KEY_FILE).toBeUndefined();
  });

  it.each([
    ['openai-compatible', 'vllm'],
    ['vertex', undefined],
  ] as const)('provider %s', (provider, expected) => {
    const p = pool({ model: { provider, name: 'm', baseURL: 'http://vllm:8000/v1', apiKeySecretRef: { name: 'vllm', key: 'key' } } });
    const pod = build('code', { pool: p });
    expect(secretRefs(main(pod)).filter((r) => !r.startsWith('AUTORUN_GIT_TOKEN'))).toEqual([]);
    expect(pod.spec!.volumes!.filter((v) => v.secret).map((v) => v.secret!.secretName)).toEqual(expected ? [expected] : []);
  });

  it('vertex: project and region as plain env, no key', () => {
    const p = pool({ model: { provider: 'vertex', name: 'claude-sonnet-4-5@20250929', vertex: { projectID: 'proj', region: 'us-east5' } } });
    const c = main(build('code', { pool: p }));
    expect(envOf(c).ANTHROPIC_VERTEX_PROJECT_ID?.value).toBe('proj');
    expect(envOf(c).CLOUD_ML_REGION?.value).toBe('us-east5');
    expect(envOf(c).AUTORUN_MODEL_PROVIDER?.value).toBe('vertex');
    expect(envOf(main(build('run', { pool: p }))).CLOUD_ML_REGION).toBeUndefined();
  });

  it('a repository without credentials gives no git token anywhere', () => {
    const t = task({ repository: { url: 'https://git.example/public.git' } });
    for (const role of ROLES) for (const c of allContainers(build(role, { task: t }))) expect(secretRefs(c).filter((r) => r.startsWith('AUTORUN_GIT_TOKEN'))).toEqual([]);
  });

  it.each(ROLES)('%s: service account only for LLM roles, never a token', (role) => {
    const pod = build(role);
    expect(pod.spec!.serviceAccountName).toBe(LLM.includes(role) ? 'autorun-agent' : undefined);
    expect(pod.spec!.automountServiceAccountToken).toBe(false);
    expect(pod.spec!.enableServiceLinks).toBe(false);
  });
});

describe('buildStagePod: the run and acceptance Pods are locked down', () => {
  it.each(EXEC)('%s: no secret at all in the main container', (role) => {
    const p = pool({ roles: { run: { env: [{ name: 'PYTHONHASHSEED', value: '0' }, { name: 'SNEAKY', valueFrom: { secretKeyRef: { name: 'anthropic', key: 'api-key' } } } as never] } } });
    const c = main(build(role, { pool: p }));
    expect((c.env ?? []).filter((e) => e.valueFrom)).toEqual([]);
    expect(c.envFrom).toBeUndefined();
    expect(envOf(c).PYTHONHASHSEED?.value).toBe('0');
    expect(envOf(c).SNEAKY).toBeUndefined();
    expect(envOf(c).AUTORUN_GOAL).toBeUndefined();
    const pod = build(role, { pool: p });
    const secretVolumes = (pod.spec!.volumes ?? []).filter((v) => v.secret || v.projected);
    expect(secretVolumes).toEqual([]);
  });

  it.each(EXEC)('%s: pod and container security contexts', (role) => {
    const pod = build(role);
    expect(pod.spec!.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of allContainers(pod)) {
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, readOnlyRootFilesystem: true });
    }
    expect(pod.spec!.runtimeClassName).toBe('gvisor');
  });

  it.each(LLM)('%s: restricted Pod Security without read-only root, no runtimeClass', (role) => {
    const pod = build(role);
    expect(pod.spec!.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(main(pod).securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
    expect(pod.spec!.runtimeClassName).toBeUndefined();
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual([EXEC_CONTAINER]);
    expect(exec(pod).securityContext).toEqual(main(pod).securityContext);
  });

  it.each(EXEC)('%s: the checkout init container has the git token and copies the runner', (role) => {
    const pod = build(role);
    const c = init(pod)!;
    expect(c.image).toBe('ghcr.io/autorun-dev/autorun-agent:0.1.0');
    expect(secretRefs(c)).toEqual(['AUTORUN_GIT_TOKEN=git-creds/token']);
    expect(c.command!.slice(0, 2)).toEqual(['sh', '-c']);
    expect(c.command![2]).toContain(`cp -R /opt/autorun/. ${RUNNER_DIR}/`);
    expect(c.command![2]).toContain('exec autorun agent --role "$1" --phase checkout');
    expect(c.command![4]).toBe(role);
    const hidden = role === 'acceptance' ? [`${ACCEPTANCE_DIR}:ro`] : [];
    expect(c.volumeMounts!.map((m) => `${m.mountPath}${m.readOnly ? ':ro' : ''}`).sort()).toEqual([RUNNER_DIR, ...hidden, '/tmp', '/workspace'].sort());
    expect(main(pod).volumeMounts!.find((m) => m.mountPath === RUNNER_DIR)?.readOnly).toBe(true);
    const emptyDirs = pod.spec!.volumes!.filter((v) => v.emptyDir).map((v) => v.name).sort();
    expect(emptyDirs).toEqual(['runner', 'tmp', 'workspace']);
  });

  it('mounts the hidden acceptance tests into the acceptance Pod only', () => {
    for (const role of ROLES) {
      const pod = build(role);
      const cm = pod.spec!.volumes!.filter((v) => v.configMap?.name === 'fizzbuzz-acceptance');
      const mountedIn = allContainers(pod).filter((c) => c.volumeMounts?.some((m) => m.mountPath === ACCEPTANCE_DIR && m.readOnly)).map((c) => c.name);
      // The checkout copies them into the workspace; the container that runs the tests needs no mount.
      expect([role, cm.length, mountedIn]).toEqual([role, role === 'acceptance' ? 1 : 0, role === 'acceptance' ? [CHECKOUT_CONTAINER] : []]);
      for (const c of allContainers(pod)) expect(envOf(c).AUTORUN_ACCEPTANCE_DIR?.value).toBe(role === 'acceptance' ? ACCEPTANCE_DIR : undefined);
    }
    // Without hidden tests, the acceptance Pod mounts nothing extra.
    const none = build('acceptance', { task: task({ test: { command: 'pytest -q' } }) });
    expect(none.spec!.volumes!.some((v) => v.configMap)).toBe(false);
  });

  it('mounts the failure report into the repair Pod at the path its env names', () => {
    const pod = build('repair');
    const vol = pod.spec!.volumes!.find((v) => v.configMap?.name === 'fizzbuzz-i1-report')!;
    const m = main(pod).volumeMounts!.find((x) => x.name === vol.name)!;
    expect(m).toEqual({ name: vol.name, mountPath: REPORT_DIR, readOnly: true });
    expect(envOf(main(pod)).AUTORUN_FAILURE_REPORT?.value).toBe(`${REPORT_DIR}/${REPORT_KEY}`);
    expect(build('repair', { reportConfigMap: undefined }).spec!.volumes!.some((v) => v.configMap)).toBe(false);
  });
});

describe('buildStagePod: the stage context reaches the agent', () => {
  it('the code Pod env parses back into the agent context', () => {
    const pod = build('code', {}, { freshStart: true, testsRef: 'def456', flaggedTests: ['test_x'] });
    const ctx = contextFromEnv(literalEnv(main(pod)));
    expect(ctx).toMatchObject({
      task: 'fizzbuzz',
      role: 'code',
      iteration: 2,
      attempt: 1,
      goal: 'Implement fizzbuzz(n) in fizzbuzz.py',
      language: 'python',
      repository: { url: 'https://git.example/team-a/fizzbuzz.git', baseRef: 'main' },
      testsRef: 'def456',
      flaggedTests: ['test_x'],
      freshStart: true,
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 50 },
      engine: 'sdk',
      workspace: '/workspace',
      terminationPath: '/dev/termination-log',
    });
  });

  it('the run Pod env parses back, without the goal or model settings', () => {
    const ctx = contextFromEnv(literalEnv(main(build('run'))));
    expect(ctx).toMatchObject({ role: 'run', codeRef: 'abc123', testsRef: 'def456', goal: '' });
    const env = envOf(main(build('run')));
    expect(env.AUTORUN_MODEL_NAME).toBeUndefined();
    expect(env.HOME?.value).toBe('/tmp');
  });

  it('passes the budget the loop core gave the stage, not the whole remainder', () => {
    const t = task({ limits: { maxCostUSD: '5' } });
    t.status = { cost: { totalUSD: '1.25' } };
    expect(envOf(main(build('code', { task: t }, { budgetUSD: 1.875 }))).AUTORUN_BUDGET_USD?.value).toBe('1.875');
    expect(envOf(main(build('run', { task: t }, { budgetUSD: 1.875 }))).AUTORUN_BUDGET_USD).toBeUndefined();
    // A strict stage (all of a parallel group but code) is told so; a lenient one is not.
    expect(envOf(main(build('test', { task: t }, { budgetUSD: 1.875, budgetStrict: true }))).AUTORUN_BUDGET_STRICT?.value).toBe('true');
    expect(envOf(main(build('code', { task: t }, { budgetUSD: 1.875 }))).AUTORUN_BUDGET_STRICT).toBeUndefined();
  });

  it('role env may replace HOME but never the stage context or a credential', () => {
    const p = pool({ roles: { code: { env: [{ name: 'HOME', value: '/home/agent' }, { name: 'AUTORUN_ROLE', value: 'run' }, { name: 'AUTORUN_MODEL_API_KEY_FILE', value: '/elsewhere' }, { name: 'FOO', value: 'a' }, { name: 'FOO', value: 'b' }, { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] } } });
    const c = main(build('code', { pool: p }));
    const names = (c.env ?? []).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const env = envOf(c);
    expect(env.HOME!.value).toBe('/home/agent');
    expect(env.AUTORUN_ROLE!.value).toBe('code');
    expect(env.AUTORUN_MODEL_API_KEY_FILE!.value).toBe(`${MODEL_KEY_DIR}/api-key`);
    expect(env.FOO!.value).toBe('b');
    expect(env.TOKEN!.valueFrom).toEqual({ secretKeyRef: { name: 's', key: 'k' } });
  });
});

describe('buildStagePod: passes API validation rules', () => {
  const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
  it.each(ROLES)('%s: label values, env names, quantities, unique volume names', (role) => {
    // The longest name an object may have: the Pod's name and labels are shortened with a hash.
    const pod = build(role, { task: task({}, { name: `${'a'.repeat(126)}.${'b'.repeat(126)}` }) });
    for (const v of Object.values(pod.metadata!.labels!)) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(LABEL_VALUE);
    }
    expect(pod.metadata!.name!.length).toBeLessThanOrEqual(63);
    for (const c of allContainers(pod)) {
      for (const e of c.env ?? []) expect(e.name).toMatch(ENV_NAME);
      for (const q of [...Object.values(c.resources?.requests ?? {}), ...Object.values(c.resources?.limits ?? {})]) expect(typeof q).toBe('string');
      for (const m of c.volumeMounts ?? []) expect(pod.spec!.volumes!.map((v) => v.name)).toContain(m.name);
    }
    const vols = pod.spec!.volumes!.map((v) => v.name);
    expect(new Set(vols).size).toBe(vols.length);
  });
});

describe('buildStagePod: the publish Pod', () => {
  const withPR = task({
    repository: {
      url: 'https://git.example/team-a/fizzbuzz.git',
      credentialsSecretRef: { name: 'git-creds' },
      pullRequest: { provider: 'gitlab', apiURL: 'https://git.example', draft: true, credentialsSecretRef: { name: 'pr-creds', key: 'api-token' } },
    },
  });
  const ctx: StageContext = { codeRef: 'abc123', pullRequest: { title: 'Implement fizzbuzz', body: 'tests 10/10' } };

  it('holds the pull-request token and nothing else: no git token, no model key, no service account', () => {
    const pod = build('publish', { task: withPR }, ctx);
    expect(pod.spec!.initContainers).toBeUndefined();
    expect(pod.spec!.containers).toHaveLength(1);
    const c = main(pod);
    expect(c.image).toBe(roleSettings(pool(), 'publish').agentImage);
    expect(c.command).toEqual(['autorun', 'agent', '--role', 'publish']);
    expect(secretRefs(c)).toEqual(['AUTORUN_PR_TOKEN=pr-creds/api-token']);
    expect(pod.spec!.serviceAccountName).toBeUndefined();
    expect(pod.spec!.activeDeadlineSeconds).toBe(300);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
    // Not BestEffort, and its disk bounded like every stage's.
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '512Mi' }, limits: { 'ephemeral-storage': '6144Mi' } });
    expect(c.env!.find((e) => e.name === 'AUTORUN_SANDBOX')?.value).toBe('off');
  });

  it('no other stage gets the pull-request token', () => {
    for (const role of ROLES) for (const c of allContainers(build(role, { task: withPR }))) expect(secretRefs(c).filter((r) => r.startsWith('AUTORUN_PR_TOKEN'))).toEqual([]);
  });

  it('the agent reads back where and what to open', () => {
    const back = contextFromEnv(literalEnv(main(build('publish', { task: withPR }, ctx))));
    expect(back).toMatchObject({ role: 'publish', codeRef: 'abc123', repository: { url: 'https://git.example/team-a/fizzbuzz.git', baseRef: 'main' } });
    expect(back.pullRequest).toEqual({ provider: 'gitlab', apiURL: 'https://git.example', draft: true, title: 'Implement fizzbuzz', body: 'tests 10/10' });
  });
});

describe('buildStagePod: provider local', () => {
  const local = (model: Record<string, unknown>, roles: Record<string, unknown> = {}) => pool({ model: { provider: 'local', name: 'qwen2.5-coder-1.5b-instruct-q4_k_m', ...model }, roles } as never);

  it.each(LLM)('%s: the model volume read-only at /models as the model cache, threads from the CPU limit, no key', (role) => {
    const pod = build(role, { pool: local({ volume: { claimName: 'models' } }, { [role]: { resources: { requests: { cpu: '1' }, limits: { cpu: '2500m' } } } }) });
    expect(pod.spec!.volumes!.find((v) => v.name === 'models')).toEqual({ name: 'models', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(main(pod).volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(literalEnv(main(pod))).toMatchObject({ AUTORUN_MODEL_CACHE: '/models', AUTORUN_LOCAL_THREADS: '3' });
    expect(literalEnv(main(pod)).AUTORUN_MODEL_API_KEY_FILE).toBeUndefined();
  });

  it('a hostPath volume; threads from the request when there is no CPU limit', () => {
    const pod = build('code', { pool: local({ volume: { hostPath: '/var/lib/autorun/models' } }, { code: { resources: { requests: { cpu: '500m' } } } }) });
    expect(pod.spec!.volumes!.find((v) => v.name === 'models')).toEqual({ name: 'models', hostPath: { path: '/var/lib/autorun/models', type: 'Directory' } });
    expect(literalEnv(main(pod)).AUTORUN_LOCAL_THREADS).toBe('1');
  });

  it('without a volume no mount and no cache setting (the Pod fetches into its /tmp); run Pods never get the model', () => {
    const code = build('code', { pool: local({}) });
    expect(code.spec!.volumes!.map((v) => v.name)).not.toContain('models');
    expect(literalEnv(main(code)).AUTORUN_MODEL_CACHE).toBeUndefined();
    const run = build('run', { pool: local({ volume: { claimName: 'models' } }) });
    expect(run.spec!.volumes!.map((v) => v.name)).not.toContain('models');
    expect(allContainers(run).flatMap((c) => (c.env ?? []).map((e) => e.name))).not.toContain('AUTORUN_MODEL_CACHE');
  });
});

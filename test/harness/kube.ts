// Clients for integration tests, bound to the control plane the integration global setup started
// (its admin kubeconfig is in process.env.KUBECONFIG; cluster facts in AUTORUN_CLUSTER_INFO).
//
//   import { kube, createTestNamespace, eventually } from '../../harness/kube.js';
//   const ns = await createTestNamespace('ops');        // unique, default ServiceAccount ready
//   await kube().core.createNamespacedPod({ namespace: ns, body: pod });
//   await eventually(async () => expect(await ...).toBe(...));   // retries until it holds
//   await deleteNamespace(ns);
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { RealNodeInfo } from './real-node.js';

export interface ClusterInfo {
  kubeconfig: string;
  server: string;
  /** The control plane's temp dir; logs/ holds each component's log. */
  dir: string;
  toolsBin: string;
  /** The real node (real-node.ts), unless AUTORUN_REAL_NODE=0. */
  realNode?: RealNodeInfo;
}

export function clusterInfo(): ClusterInfo {
  const path = process.env.AUTORUN_CLUSTER_INFO;
  if (!path) throw new Error('AUTORUN_CLUSTER_INFO is unset: run integration tests through jest --selectProjects integration (its global setup starts the control plane)');
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterInfo;
}

export interface Clients {
  config: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
  coordination: k8s.CoordinationV1Api;
  apiextensions: k8s.ApiextensionsV1Api;
  custom: k8s.CustomObjectsApi;
  objects: k8s.KubernetesObjectApi;
}

let clients: Clients | undefined;

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG ?? clusterInfo().kubeconfig);
  return kc;
}

/** Shared clients for the admin identity (system:masters). */
export function kube(): Clients {
  if (clients) return clients;
  const config = kubeConfig();
  clients = {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    rbac: config.makeApiClient(k8s.RbacAuthorizationV1Api),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    apiextensions: config.makeApiClient(k8s.ApiextensionsV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(config),
  };
  return clients;
}

/** The HTTP status of a client-node error, or undefined for other errors. */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Retries `check` until it stops throwing (or returns a value other than false). */
export async function eventually<T>(check: () => Promise<T> | T, { timeoutMs = 30_000, intervalMs = 100 } = {}): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error('condition was false');
  for (;;) {
    try {
      const v = await check();
      if (v !== false) return v as Exclude<T, false>;
      lastError = new Error('condition was false');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      if (lastError instanceof Error) lastError.message = `not true after ${timeoutMs} ms: ${lastError.message}`;
      throw lastError;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A unique DNS label: prefix plus random hex. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates a namespace with a unique name and waits for its default ServiceAccount (the
 * controller manager creates it; until then the ServiceAccount admission plugin rejects Pods).
 */
export async function createTestNamespace(prefix = 'test'): Promise<string> {
  const name = uniqueName(prefix);
  const { core } = kube();
  await core.createNamespace({ body: { metadata: { name, labels: { 'autorun.dev/test': 'true' } } } });
  await eventually(() => core.readNamespacedServiceAccount({ namespace: name, name: 'default' }), { timeoutMs: 30_000 });
  return name;
}

/** Deletes a namespace without waiting for the namespace controller to empty it. */
export async function deleteNamespace(name: string): Promise<void> {
  try {
    await kube().core.deleteNamespace({ name });
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
}

// What global-setup and `make cluster` share: a control plane with the autorun CRDs installed
// and Established, and a cluster.json next to its kubeconfig for tests to find it.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane, type StartOptions } from './control-plane.js';
import type { ClusterInfo } from './kube.js';
import { kubectlOk } from './kubectl.js';
import { repoRoot, toolsBinDir } from './tools.js';

export interface Cluster {
  controlPlane: ControlPlane;
  info: ClusterInfo;
  infoFile: string;
}

export async function installCrds(kubeconfig: string): Promise<string[]> {
  // AUTORUN_CRDS_DIR as in operator/src/api/paths.ts: lets a schema change be tried without editing crds/.
  const dir = process.env.AUTORUN_CRDS_DIR ?? join(repoRoot(), 'crds');
  await kubectlOk(['apply', '--server-side', '--field-manager=autorun-test-harness', '-f', dir], { kubeconfig });
  const names = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/^autorun\.dev_(.*)\.yaml$/, '$1.autorun.dev'));
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)], { kubeconfig });
  return names;
}

export async function startCluster(options: StartOptions = {}): Promise<Cluster> {
  const toolsBin = toolsBinDir();
  const controlPlane = await ControlPlane.start(options);
  try {
    await installCrds(controlPlane.kubeconfig);
    const info: ClusterInfo = { kubeconfig: controlPlane.kubeconfig, server: controlPlane.server, dir: controlPlane.dir, toolsBin };
    const infoFile = join(controlPlane.dir, 'cluster.json');
    writeFileSync(infoFile, JSON.stringify(info, null, 2));
    return { controlPlane, info, infoFile };
  } catch (err) {
    await controlPlane.stop();
    throw err;
  }
}

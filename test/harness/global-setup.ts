// jest globalSetup of the integration project: one control plane for the whole run, CRDs
// installed. Runs in jest's parent process before the workers fork, so the environment set here
// (KUBECONFIG, AUTORUN_CLUSTER_INFO, AUTORUN_TOOLS_BIN) is what every test file sees.
import { startCluster, type Cluster } from './cluster.js';

declare global {
  var __autorunCluster: Cluster | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const cluster = await startCluster({ verbose: !!process.env.AUTORUN_VERBOSE });
  globalThis.__autorunCluster = cluster;
  process.env.KUBECONFIG = cluster.info.kubeconfig;
  process.env.AUTORUN_CLUSTER_INFO = cluster.infoFile;
  process.stderr.write(`\ncontrol plane up in ${Date.now() - started} ms (${cluster.info.server}, logs in ${cluster.info.dir}/logs)\n`);
}

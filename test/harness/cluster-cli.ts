#!/usr/bin/env node
// `make cluster`: the integration tests' control plane plus 16 fake GKE L4 nodes, for a person to
// poke at with kubectl or to run the operator against. Stays up until Ctrl-C, then removes
// everything it started.
import { startCluster } from './cluster.js';
import { createL4Nodes } from './nodes.js';
import { REAL_NODE_LABEL } from './real-node.js';

async function up(nodes: number): Promise<void> {
  const started = Date.now();
  const cluster = await startCluster({ verbose: true });
  process.env.KUBECONFIG = cluster.info.kubeconfig;
  if (nodes > 0) await createL4Nodes({ count: nodes, prefix: 'gke' });
  process.stdout.write(
    `\ncontrol plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s with ${nodes} fake nvidia-l4 nodes; component logs in ${cluster.info.dir}/logs\n\n` +
    `export KUBECONFIG=${cluster.info.kubeconfig}\n` +
    `export PATH=${cluster.info.toolsBin}:$PATH   # kubectl and helm matching the cluster\n\n` +
    (cluster.info.realNode
      ? `real node ${cluster.info.realNode.name} (taint ${REAL_NODE_LABEL}=true:NoSchedule) at ${cluster.info.realNode.ip}; Pods reach the apiserver at ${cluster.info.realNode.apiserverFromPods}\n` +
        `ctr --address ${cluster.info.realNode.containerdSocket} -n k8s.io images ls   # its containerd\n\n`
      : '') +
    'Ctrl-C stops it.\n',
  );
  // The children are unref'd and signal listeners do not hold the event loop: this timer does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(keepAlive);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('\nstopping...\n');
  await cluster.stop();
}

const [command = 'up', ...rest] = process.argv.slice(2);
const nodesFlag = rest.find((a) => a.startsWith('--nodes='));
if (command !== 'up') {
  process.stderr.write('usage: cluster-cli up [--nodes=16]\n');
  process.exit(2);
}
up(nodesFlag ? Number(nodesFlag.slice('--nodes='.length)) : 16).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});

// jest globalSetup of the integration project: one control plane for the whole run, CRDs
// installed. Runs in jest's parent process before the workers fork, so the environment set here
// (KUBECONFIG, AUTORUN_CLUSTER_INFO, AUTORUN_TOOLS_BIN) is what every test file sees.
import { registerHooks } from 'node:module';
import type { Cluster } from './cluster.js';

declare global {
  var __autorunCluster: Cluster | undefined;
}

/**
 * jest requires this file as CommonJS without its moduleNameMapper, so the harness's `./x.js`
 * imports (NodeNext style) would not resolve: map them to the `./x.ts` sources, which jest's
 * require hook transforms while the setup runs.
 */
function resolveTsSources(): void {
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (err) {
        if (!/^\.{1,2}\/.*\.js$/.test(specifier)) throw err;
        return next(specifier.replace(/\.js$/, '.ts'), context);
      }
    },
  });
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  resolveTsSources();
  const { startCluster } = await import('./cluster.js');
  const cluster = await startCluster({ verbose: !!process.env.AUTORUN_VERBOSE });
  globalThis.__autorunCluster = cluster;
  process.env.KUBECONFIG = cluster.info.kubeconfig;
  process.env.AUTORUN_CLUSTER_INFO = cluster.infoFile;
  process.stderr.write(`\ncontrol plane up in ${Date.now() - started} ms (${cluster.info.server}, logs in ${cluster.info.dir}/logs)\n`);
}

// jest globalTeardown of the integration project: stops the control plane global-setup started.
// Interrupted runs are covered by the exit and signal hooks in processes.ts.
export default async function globalTeardown(): Promise<void> {
  const cluster = globalThis.__autorunCluster;
  globalThis.__autorunCluster = undefined;
  await cluster?.stop();
}

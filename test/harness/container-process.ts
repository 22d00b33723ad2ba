// Runs a stage Pod's agent container as a local process, as a kubelet would run it: its command
// (`autorun …` is the built CLI, dist/bundle), its env with every secretKeyRef resolved from the
// real Secret, a scratch HOME and termination-message file. Returns what the container wrote to its
// termination message, for a finisher (kubelet.ts completePod) to report through the Pod status.
// What the process does on the network is real: the tests point it at loopback fakes.
import type * as k8s from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kube } from './kube.js';
import { cliPath } from './tools.js';

async function resolveEnv(namespace: string, env: k8s.V1EnvVar[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const s = await kube().core.readNamespacedSecret({ namespace, name: ref.name! });
      const data = s.data?.[ref.key];
      if (data === undefined) throw new Error(`secret ${namespace}/${ref.name} has no key ${ref.key}`);
      out[e.name] = Buffer.from(data, 'base64').toString('utf8');
    } else if (e.valueFrom) {
      throw new Error(`env ${e.name}: only secretKeyRef is resolved here`);
    } else {
      out[e.name] = e.value ?? '';
    }
  }
  return out;
}

export interface ContainerRun {
  exitCode: number | null;
  terminationMessage: string;
  stdout: string;
  stderr: string;
}

export async function runContainer(pod: k8s.V1Pod, containerName?: string): Promise<ContainerRun> {
  const c = (pod.spec?.containers ?? []).find((x) => !containerName || x.name === containerName);
  if (!c?.command?.length) throw new Error(`pod ${pod.metadata?.name} has no container with a command`);
  const [bin, ...args] = c.command;
  if (bin !== 'autorun') throw new Error(`cannot run ${bin}: only the autorun program is known here`);
  const scratch = mkdtempSync(join(tmpdir(), 'autorun-container-'));
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(await resolveEnv(pod.metadata!.namespace!, c.env ?? [])), HOME: scratch, AUTORUN_TERMINATION_PATH: join(scratch, 'termination-log') };
    const child = spawn(process.execPath, [cliPath(), ...args], { cwd: scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let terminationMessage = '';
    try {
      terminationMessage = readFileSync(join(scratch, 'termination-log'), 'utf8');
    } catch {
      // No message: the finisher reports an empty one, as the kubelet would.
    }
    return { exitCode, terminationMessage, stdout, stderr };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// Runs the kubectl built with the control plane (same version as the apiserver) against the test
// cluster. Never throws on a non-zero exit: tests assert on code, stdout and stderr.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { tool } from './tools.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Text for stdin, for `apply -f -`. */
  input?: string;
  /** Defaults to process.env.KUBECONFIG (set by the integration global setup). */
  kubeconfig?: string;
  timeoutMs?: number;
}

export function kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const kubeconfig = options.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('kubectl: no kubeconfig (KUBECONFIG is unset; is the integration global setup running?)');
  return new Promise((resolve, reject) => {
    const child = spawn(tool('kubectl'), args, {
      // Discovery cache beside the kubeconfig: it dies with the cluster and leaves ~/.kube alone.
      env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dirname(kubeconfig), 'kubectl-cache'), KUBECTL_COMMAND_HEADERS: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Like kubectl() but throws with stderr unless the command succeeds. */
export async function kubectlOk(args: string[], options: KubectlOptions = {}): Promise<string> {
  const r = await kubectl(args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

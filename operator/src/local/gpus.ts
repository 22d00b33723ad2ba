// The GPUs of this machine, for roles whose pool settings ask for GPUs. A GPU stage gets its devices
// through CUDA_VISIBLE_DEVICES, and a stage without GPUs gets an empty CUDA_VISIBLE_DEVICES so that
// it sees none, as a Pod without a GPU request would.
import { execFileSync } from 'node:child_process';

export type RunCommand = (cmd: string, args: string[]) => string;

const run: RunCommand = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });

/**
 * Device ids usable by stages. CUDA_VISIBLE_DEVICES in our own environment wins (the user already
 * chose); otherwise the indexes `nvidia-smi -L` lists; none when nvidia-smi is missing or fails.
 */
export function detectGpus(env: NodeJS.ProcessEnv = process.env, exec: RunCommand = run): string[] {
  const preset = env.CUDA_VISIBLE_DEVICES;
  if (preset !== undefined) return preset.split(',').map((d) => d.trim()).filter((d) => d !== '' && d !== '-1');
  let out: string;
  try {
    out = exec('nvidia-smi', ['-L']);
  } catch {
    return [];
  }
  const ids: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^GPU (\d+):/.exec(line.trim());
    if (m) ids.push(m[1]!);
  }
  return ids;
}

/** Hands out whole devices; a stage asking for more than the machine has gets all of them. */
export class GpuAllocator {
  private readonly free: string[];

  constructor(readonly devices: string[], limit = devices.length) {
    this.free = devices.slice(0, Math.max(0, Math.min(limit, devices.length)));
  }

  get capacity(): number {
    return this.devices.length;
  }

  /** Devices a stage asking for `want` GPUs would get now, or undefined if they are not free. */
  canTake(want: number): boolean {
    if (want <= 0 || this.devices.length === 0) return true;
    return this.free.length >= Math.min(want, this.devices.length);
  }

  take(want: number): string[] {
    if (want <= 0 || this.devices.length === 0) return [];
    const n = Math.min(want, this.devices.length);
    if (this.free.length < n) throw new Error(`${n} GPUs wanted, ${this.free.length} free`);
    return this.free.splice(0, n);
  }

  /** Marks devices as held, for stages adopted from a previous run. */
  hold(devices: string[]): void {
    for (const d of devices) {
      const i = this.free.indexOf(d);
      if (i >= 0) this.free.splice(i, 1);
    }
  }

  release(devices: string[]): void {
    for (const d of devices) if (this.devices.includes(d) && !this.free.includes(d)) this.free.push(d);
  }
}

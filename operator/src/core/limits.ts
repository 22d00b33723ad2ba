// The task's limits: wall-clock timeout, iteration cap and cost cap, with the CRD's defaults so a
// spec that skipped withDefaults() still gets the documented behaviour.
import type { CodingTaskSpec } from '../api/types.js';

export const DEFAULT_MAX_ITERATIONS = 5;
export const DEFAULT_MAX_COST_USD = 5;
export const DEFAULT_TIMEOUT = '2h';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("90m", "1h30m", "1.5h") into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  return matched > 0 && matched === text.length ? total : undefined;
}

export function maxIterationsOf(spec: CodingTaskSpec): number {
  return spec.limits?.maxIterations ?? DEFAULT_MAX_ITERATIONS;
}

/** Iterations the task may run: spec.limits.maxIterations plus what people granted (escalation). */
export function iterationCapOf(spec: CodingTaskSpec): number {
  return maxIterationsOf(spec) + (spec.escalation?.grants ?? []).reduce((n, g) => n + g.iterations, 0);
}

/** How many times people resumed the task (each grant forgives one stall). */
export function resumesOf(spec: CodingTaskSpec): number {
  return spec.escalation?.grants?.length ?? 0;
}

export function maxCostOf(spec: CodingTaskSpec): number {
  const v = Number(spec.limits?.maxCostUSD ?? DEFAULT_MAX_COST_USD);
  return Number.isFinite(v) ? v : DEFAULT_MAX_COST_USD;
}

/** When the task times out: createdAt + spec.limits.timeout. */
export function deadlineOf(spec: CodingTaskSpec, createdAt: string): Date {
  const ms = parseDuration(spec.limits?.timeout ?? DEFAULT_TIMEOUT) ?? (parseDuration(DEFAULT_TIMEOUT) as number);
  return new Date(Date.parse(createdAt) + ms);
}

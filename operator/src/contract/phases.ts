// The phase sets both shells (and the core) decide by. One list each, so a new phase is placed in
// every decision at once: terminal or not, holding a pool slot or not.
import type { CodingTaskStatus, Phase } from '../api/types.js';

/** Phases a task never leaves (a new spec starts nothing; only deleting and re-applying does). */
export const TERMINAL_PHASES: ReadonlySet<Phase> = new Set<Phase>(['Succeeded', 'Failed']);

/** Phases in which a task does no work and holds no pool slot (unless a stage of it still runs). */
export const IDLE_PHASES: ReadonlySet<Phase> = new Set<Phase>(['Pending', 'Queued', 'Suspended', 'NeedsInput', ...TERMINAL_PHASES]);

/** The working phases: a task in one of them holds a slot of its pool. */
export const WORKING_PHASES: ReadonlySet<Phase> = new Set<Phase>(['Coding', 'Running', 'Repairing', 'Accepting', 'Publishing']);

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase !== undefined && TERMINAL_PHASES.has(phase as Phase);
}

export function isTerminal(status: CodingTaskStatus | undefined): boolean {
  return isTerminalPhase(status?.phase);
}

/** Does a task in this phase (undefined: never reconciled, i.e. Pending) hold no slot by its phase? */
export function isIdlePhase(phase: string | undefined): boolean {
  return IDLE_PHASES.has((phase ?? 'Pending') as Phase);
}

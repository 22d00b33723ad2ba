// The contract of the loop core: a pure function from what is known about a task to what should
// happen next. No I/O here: the operator (Pods) and the local tier (processes) are the shells that
// observe stages and carry out actions.
import type { CodingTaskSpec, CodingTaskStatus, Role, StageResult } from '../api/types.js';

/** Identifies one stage run. The shells derive the Pod/process name from it with stageName(). */
export interface StageKey {
  iteration: number;
  role: Role;
  /** Retry number after an infrastructure failure of the same stage, from 0. */
  attempt: number;
}

/** What a shell has observed of a stage it started (a Pod, or a local process). */
export interface ObservedStage extends StageKey {
  name: string;
  state: 'Pending' | 'Running' | 'Finished' | 'Lost';
  /** Parsed termination message when state is Finished and it was valid JSON of the contract. */
  result?: StageResult;
  /**
   * Why the stage ended without a usable result (state Finished without result, or Lost):
   * ExitCode, OOMKilled, Evicted, NodeLost, DeadlineExceeded, BadTerminationMessage, ...
   */
  failureReason?: string;
  failureMessage?: string;
  /** Pending because the scheduler cannot place it. */
  unschedulable?: boolean;
  unschedulableMessage?: string;
  startTime?: string;
  finishTime?: string;
  /** GPU-seconds this stage held (finish - start) × gpus; the shell computes it. */
  gpuSeconds?: number;
}

/** Pool facts the core needs; the shells compute them across tasks. */
export interface PoolView {
  exists: boolean;
  /** May this task hold a slot? True when it already holds one or one is free and it is next in line. */
  admitted: boolean;
  /** Would starting a stage of this role exceed the pool's GPU limit right now? */
  gpuAvailable: (role: Role) => boolean;
  /** Position in the queue (1-based) when not admitted, for the message. */
  queuePosition?: number;
  /** Dollars per GPU-hour, for the cost of GPU time; 0 when unknown. */
  gpuHourUSD: number;
  /** Most attempts of a stage of this role (the role's maxAttempts). */
  maxAttempts: (role: Role) => number;
}

export interface LoopInput {
  /** The task's name; stage names derive from it. */
  name: string;
  generation: number;
  /** Spec with CRD defaults applied. */
  spec: CodingTaskSpec;
  status: CodingTaskStatus;
  /** Every stage the shell knows of for this task (live and finished). */
  observed: ObservedStage[];
  pool: PoolView;
  /** Creation time of the task (for the timeout). */
  createdAt: string;
  now: Date;
}

export type Action =
  /** Create the stage (idempotent: the name is deterministic; "already exists" is success). */
  | { type: 'StartStage'; stage: StageKey; name: string; context: StageContext }
  /** Delete a live stage (suspend never does this; a terminal task stops its stages). */
  | { type: 'StopStage'; name: string }
  /** A user-visible event (Kubernetes Event, Slack, terminal line). */
  | { type: 'Event'; kind: 'Normal' | 'Warning'; reason: string; message: string }
  /** Re-run the core at this time even if nothing changes (timeouts, backoff). */
  | { type: 'RequeueAt'; at: string };

/** What the agent of a stage needs beyond the spec: handed over as env / mounted file. */
export interface StageContext {
  /** Commits/refs the stage starts from: code and test refs for run, the tested commit for repair. */
  codeRef?: string;
  testsRef?: string;
  /** Failing tests and messages from the last run, for repair; the full report is read by the shell. */
  failing?: string[];
  /**
   * Repair after the hidden acceptance tests failed: how many, and the author's hint. Nothing else
   * of them (names, messages, traces, report) may reach a model, so with this set the shells hand
   * the repair agent no failure report.
   */
  hiddenFailures?: { failed: number; hint?: string };
  /** Repair after the test command hung (killed at spec.test.timeoutSeconds); test: the one running, when known. */
  testsHung?: { test?: string };
  /** Summaries of previous repair attempts. */
  previousAttempts?: string[];
  /** Tests the repair agent flagged as wrong, for the test agent to revise. */
  flaggedTests?: string[];
  /** True for the code agent after a stall: start again from the goal and the tests. */
  freshStart?: boolean;
  /** spec.guidance: people's hints, for repair and a fresh start. */
  guidance?: string[];
  /** Publish only: the pull request's title and body (pull-request.ts). */
  pullRequest?: { title: string; body: string };
  /** Model stages: the dollars this stage may spend (core/budget.ts), its share of what the task has left. */
  budgetUSD?: number;
  /** Model stages beside the one lenient stage of their group: check each call's worst case first (core/budget.ts). */
  budgetStrict?: boolean;
}

export interface LoopOutput {
  /** The next status (pure: the shell writes it only when it differs from the current one). */
  status: CodingTaskStatus;
  actions: Action[];
  /**
   * The status differs from the input's only in detail that no decision reads and that the next
   * call derives again from the same stages (a live stage going Pending → Running; a stage that
   * succeeded while its parallel partner still runs). A shell that pays per write may skip it:
   * the next needed write carries it. Events still come with the call that saw the change.
   */
  deferrable: boolean;
}

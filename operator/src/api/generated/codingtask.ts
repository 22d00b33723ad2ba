// Generated from crds/autorun.dev_codingtasks.yaml by scripts/generate.mjs. Do not edit: run `make generate`.

/**
 * What to build, where, and within which limits.
 */
export interface CodingTaskSpec {
  /**
   * Name of the AgentPool, in the task's namespace, that supplies the agents and hardware. The task waits with condition PoolMissing until that pool exists.
   */
  pool?: string;
  /**
   * What to build, in plain language. The code and test agents both work from this text alone, so state the interface (file, function, behaviour) the tests should exercise.
   */
  goal: string;
  /**
   * Language of the project; picks the default test command (python: pytest, javascript and typescript: npm test with jest, go: go test ./...). Use 'other' with spec.test.command.
   */
  language?: "python" | "javascript" | "typescript" | "go" | "other";
  /**
   * The git repository the agents work in. Without it the factory starts a fresh repository (the local tier under .autorun/, the cluster in an emptyDir that is lost).
   */
  repository?: {
    /**
     * Clone URL (https://, ssh://, git@host:path, file:// or, in the local tier, a path).
     */
    url: string;
    /**
     * Branch, tag or commit to start from.
     */
    baseRef?: string;
    /**
     * Branch the agents push their result to. Defaults to autorun/<task name>.
     */
    branch?: string;
    /**
     * Secret holding git credentials, mounted only into the code, test and repair Pods and the run Pod's checkout init container, never into the container that runs tests.
     */
    credentialsSecretRef?: {
      /**
       * Name of the Secret in the task's namespace.
       */
      name: string;
      /**
       * Key in the Secret holding the token.
       */
      key?: string;
    };
    /**
     * Open a pull request (GitHub) or merge request (GitLab) from the task branch into baseRef when the tests pass; a request already open for the branch is updated, not duplicated. A publish stage does it, the only stage that holds credentialsSecretRef.
     */
    pullRequest?: {
      /**
       * github or gitlab.
       */
      provider: "github" | "gitlab";
      /**
       * API base URL for GitHub Enterprise (https://HOST/api/v3) or a self-managed GitLab (https://HOST). Defaults to https://api.github.com or https://gitlab.com.
       */
      apiURL?: string;
      /**
       * owner/name on GitHub, the project path (group/subgroup/name) on GitLab. Derived from spec.repository.url when unset.
       */
      repository?: string;
      /**
       * Open the request as a draft.
       */
      draft?: boolean;
      /**
       * Secret holding an API token that may open pull requests. Mounted into the publish stage's Pod only, never into a stage that runs code. In the local tier the token comes from AUTORUN_PR_TOKEN, GITHUB_TOKEN or GITLAB_TOKEN.
       */
      credentialsSecretRef?: {
        /**
         * Name of the Secret in the task's namespace.
         */
        name: string;
        /**
         * Key in the Secret holding the token.
         */
        key?: string;
      };
    };
  };
  /**
   * How the tests are run and judged.
   */
  test?: {
    /**
     * Shell command that runs the tests, for example "pytest -q". Detected from spec.language when empty.
     */
    command?: string;
    /**
     * Seconds one test run may take before it is killed and reported as a failure.
     */
    timeoutSeconds?: number;
    /**
     * Let the repair agent change test files. Off by default: the repair agent fixes the code and may only flag a test it believes is wrong.
     */
    allowRepairToEditTests?: boolean;
    /**
     * Hidden acceptance tests run after the agents' own tests pass. The agents never see them; the task succeeds only when they pass too.
     */
    acceptance?: {
      /**
       * ConfigMap whose keys are file names and values file contents, copied into the tests directory.
       */
      configMapRef: {
        /**
         * Name of the ConfigMap in the task's namespace.
         */
        name: string;
      };
      /**
       * Command that runs the acceptance tests. Defaults to spec.test.command.
       */
      command?: string;
      /**
       * What the repair agent is told when the hidden tests fail, besides how many failed (it never sees their code, names or messages). Written by the task's author, for example "inputs may be negative".
       */
      hint?: string;
    };
  };
  /**
   * When to give up. Each limit stops the task as Failed with its own reason.
   */
  limits?: {
    /**
     * Most loop iterations (the first code and test round counts as 1, each repair round and a fresh start as one more). Stops with reason MaxIterations. 1 to 20.
     */
    maxIterations?: number;
    /**
     * Most US dollars the task may spend on models and GPU time, as a decimal string such as "5" or "2.50". Stops with reason CostLimit.
     */
    maxCostUSD?: string;
    /**
     * Longest wall-clock time for the whole task, as a Go duration such as "90m" or "2h"; at most 168h. Stops with reason Timeout.
     */
    timeout?: string;
  };
  /**
   * Among tasks queued on a full pool at the same time, higher priority starts first.
   */
  priority?: number;
  /**
   * Pause the task: running stages finish but no new stage starts until it is set back to false. A suspended task does not hold a pool slot.
   */
  suspend?: boolean;
  /**
   * Stop the task for good: its stages are stopped and it ends Failed with reason Stopped. Slack's Stop button sets it.
   */
  stop?: boolean;
  /**
   * Ask a person instead of giving up: a task that would end Failed with reason Stalled or MaxIterations waits in phase NeedsInput instead (no stage runs, no pool slot held, no cost accrues; spec.limits.timeout still applies) until a grant resumes it.
   */
  escalation?: {
    /**
     * Wait in NeedsInput instead of failing on Stalled or MaxIterations.
     */
    enabled?: boolean;
    /**
     * A Slack user group ID (S…) mentioned in the task's thread when it needs input.
     */
    notifyUserGroup?: string;
    /**
     * Resumes given by people (Slack, kubectl patch), oldest first. Each grant adds its iterations to spec.limits.maxIterations and lets the loop carry on past one stall; add spec.guidance with it to tell the agents what to do differently.
     *
     * @maxItems 10
     *
     * Items: One resume by a person.
     */
    grants?:
      | []
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ]
      | [
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          },
          {
            /**
             * Extra iterations granted.
             */
            iterations: number;
            /**
             * Who granted them (a Slack user, a kubectl user).
             */
            by?: string;
          }
        ];
  };
  /**
   * Hints from people (a Slack thread reply, kubectl patch), oldest first. Every later repair stage, and the code stage of a fresh start, receives them with the failure report.
   *
   * @maxItems 20
   *
   * Items: One hint, in plain language.
   */
  guidance?:
    | []
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string, string, string]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ];
}

/**
 * What the factory has done so far. Written by the operator only.
 */
export interface CodingTaskStatus {
  /**
   * The spec generation this status was computed from.
   */
  observedGeneration?: number;
  /**
   * One-word summary of where the task is; conditions carry the detail.
   */
  phase?:
    | "Pending"
    | "Queued"
    | "Coding"
    | "Running"
    | "Repairing"
    | "Accepting"
    | "Publishing"
    | "Suspended"
    | "NeedsInput"
    | "Succeeded"
    | "Failed";
  /**
   * Machine-readable reason for the phase, for example Stalled or CostLimit.
   */
  reason?: string;
  /**
   * Human-readable explanation of the phase.
   */
  message?: string;
  /**
   * Standard conditions. Types are Ready, Progressing, Succeeded, Failed, PoolReady, Schedulable and NeedsInput.
   */
  conditions?: CodingTaskCondition[];
  /**
   * Current loop iteration, starting at 1.
   */
  iteration?: number;
  /**
   * How many times a stall made the task start again from the goal and the tests.
   */
  freshStarts?: number;
  /**
   * When the task left the queue and its first stage started.
   */
  startTime?: string;
  /**
   * When the task reached Succeeded or Failed.
   */
  completionTime?: string;
  /**
   * When the task entered the pool's queue; the queue is first come first served.
   */
  queuedAt?: string;
  /**
   * Results of the latest test run.
   */
  tests?: {
    /**
     * Tests that passed.
     */
    passed?: number;
    /**
     * Tests that failed, not counting flaky ones.
     */
    failed?: number;
    /**
     * Tests collected.
     */
    total?: number;
    /**
     * Names of failing tests (at most 50).
     *
     * Items: A test name as the test runner reports it, for example tests/test_fizzbuzz.py::test_fifteen.
     */
    failing?: string[];
    /**
     * Tests that failed and then passed when re-run; recorded, not repaired.
     *
     * Items: A test name as the test runner reports it.
     */
    flaky?: string[];
    /**
     * Passed over total, as printed by kubectl get.
     */
    summary?: string;
  };
  /**
   * What the task has spent.
   */
  cost?: {
    /**
     * Model usage in US dollars.
     */
    llmUSD?: string;
    /**
     * GPU-seconds held by the task's Pods.
     */
    gpuSeconds?: number;
    /**
     * Models plus GPU time in US dollars.
     */
    totalUSD?: string;
    /**
     * Total as printed by kubectl get, for example $0.41.
     */
    summary?: string;
  };
  /**
   * Every stage the task has run or is running, oldest first.
   */
  stages?: StageStatus[];
  /**
   * Where the finished work is.
   */
  result?: {
    /**
     * Branch holding the code and tests.
     */
    branch?: string;
    /**
     * Commit whose tests passed.
     */
    commit?: string;
    /**
     * The pull (or merge) request carrying the result.
     */
    pullRequestURL?: string;
  };
}
/**
 * A condition of the task, following the Kubernetes API conventions.
 */
export interface CodingTaskCondition {
  /**
   * Condition type.
   */
  type: string;
  /**
   * True, False or Unknown.
   */
  status: "True" | "False" | "Unknown";
  /**
   * The spec generation the condition was set for.
   */
  observedGeneration?: number;
  /**
   * When the status last changed.
   */
  lastTransitionTime: string;
  /**
   * CamelCase machine-readable reason.
   */
  reason: string;
  /**
   * Human-readable detail.
   */
  message: string;
}
/**
 * One agent run (a Pod in the cluster, a process in the local tier).
 */
export interface StageStatus {
  /**
   * Pod (or process) name, deterministic from task, iteration, role and attempt.
   */
  name: string;
  /**
   * Loop iteration the stage belongs to.
   */
  iteration: number;
  /**
   * The agent role.
   */
  role: "code" | "test" | "run" | "repair" | "acceptance" | "publish";
  /**
   * Retry number after infrastructure failures, from 0.
   */
  attempt: number;
  /**
   * Pending, Running, Succeeded (the stage did its job), Failed (its result says the job failed, such as failing tests) or Error (no usable result).
   */
  state?: "Pending" | "Running" | "Succeeded" | "Failed" | "Error";
  /**
   * When the stage was created.
   */
  startTime?: string;
  /**
   * When its result was recorded.
   */
  completionTime?: string;
  /**
   * Why the stage ended as it did, for example OOMKilled or DeadlineExceeded.
   */
  reason?: string;
  /**
   * The agent's one-line summary.
   */
  summary?: string;
  /**
   * Commit the stage produced or tested.
   */
  commit?: string;
  /**
   * Test counts, for run and acceptance stages.
   */
  tests?: {
    /**
     * Tests that passed.
     */
    passed?: number;
    /**
     * Tests that failed.
     */
    failed?: number;
    /**
     * Tests collected.
     */
    total?: number;
    /**
     * Failing test names, truncated.
     *
     * Items: A test name as the test runner reports it.
     */
    failing?: string[];
    /**
     * Tests that passed when re-run.
     *
     * Items: A test name as the test runner reports it.
     */
    flaky?: string[];
  };
  /**
   * Tests the repair agent believes are wrong, for the test agent to revise.
   *
   * @maxItems 50
   *
   * Items: A test name as the test runner reports it.
   */
  flaggedTests?: string[];
  /**
   * For a run or acceptance stage killed at spec.test.timeoutSeconds, the test that was running, when the runner said.
   */
  hungTest?: string;
  /**
   * Model cost of this stage in US dollars.
   */
  costUSD?: string;
  /**
   * GPU-seconds this stage held.
   */
  gpuSeconds?: number;
  /**
   * The pull request a publish stage opened or updated.
   */
  pullRequestURL?: string;
  /**
   * Model input tokens.
   */
  inputTokens?: number;
  /**
   * Model output tokens.
   */
  outputTokens?: number;
}

// Generated from crds/autorun.dev_agentpools.yaml by scripts/generate.mjs. Do not edit: run `make generate`.

/**
 * Capacity, hardware and model settings shared by every task that names this pool.
 */
export interface AgentPoolSpec {
  /**
   * Tasks in flight at once; the rest wait in phase Queued, first come first served.
   */
  maxConcurrentTasks?: number;
  /**
   * GPUs the pool may hold at once across all its Pods.
   */
  gpu?: {
    /**
     * Extended resource name of the GPU.
     */
    resource?: string;
    /**
     * Most GPUs the pool's Pods hold at once; a GPU stage that would exceed it waits. Unset means no limit of the pool's own (the nodes' capacity still applies); 0 allows no GPU stage.
     */
    limit?: number;
  };
  /**
   * Node labels GPU Pods must match, for example cloud.google.com/gke-accelerator nvidia-l4.
   */
  nodeSelector?: {
    /**
     * Value the node's label with this key must have.
     */
    [k: string]: string | undefined;
  };
  /**
   * Tolerations given to GPU Pods, for example for the nvidia.com/gpu NoSchedule taint.
   *
   * Items: A Kubernetes toleration.
   */
  tolerations?: {
    /**
     * Taint key the toleration applies to; empty with operator Exists matches all.
     */
    key?: string;
    /**
     * Exists or Equal.
     */
    operator?: "Exists" | "Equal";
    /**
     * Taint value for operator Equal.
     */
    value?: string;
    /**
     * NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
     */
    effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute" | "";
    /**
     * For NoExecute, how long the Pod stays bound after the taint appears.
     */
    tolerationSeconds?: number;
  }[];
  /**
   * RuntimeClass for the run role's Pods, for example gvisor for GKE Sandbox.
   */
  runtimeClassName?: string;
  /**
   * ServiceAccount for the code, test and repair Pods (for Workload Identity). The run Pod never mounts a token.
   */
  serviceAccountName?: string;
  /**
   * Image of the autorun agent program, used by every role that does not set its own image.
   */
  agentImage?: string;
  /**
   * How long a stage rides out a model outage (429, 529, 5xx, no answer) with backoff before it ends ModelUnavailable and the loop retries the stage. A Go duration, for example 10m.
   */
  modelRetryWindow?: string;
  /**
   * The model the LLM roles call, and the credentials they call it with.
   */
  model: {
    /**
     * anthropic (the Anthropic API), vertex (Claude on Vertex AI with Workload Identity), openai-compatible (for example vLLM on the pool's L4s) or local (a GGUF model run inside the agent by llama.cpp: no server, no key).
     */
    provider?: "anthropic" | "vertex" | "openai-compatible" | "local";
    /**
     * Model id as the provider names it. For provider local: a known model name (fetched once into the model cache and checked against its pinned sha256) or the path of a .gguf file.
     */
    name?: string;
    /**
     * Most tokens of one model response (max_tokens); the engine's default when unset.
     */
    maxTokens?: number;
    /**
     * How tool calls come back from an openai-compatible server. native (the default): the server parses the model's calls (vLLM's --tool-call-parser, llama-server --jinja). grammar: every turn is constrained by a JSON schema (response_format) to exactly one call of a known tool with schema-valid arguments, and the model ends with a `finished` tool; for small models whose calls the server does not parse (Qwen2.5-Coder-1.5B on llama-server writes them as ```json blocks).
     */
    toolCalls?: "native" | "grammar";
    /**
     * Seconds one model request may take before it is abandoned (openai-compatible); default 600.
     */
    requestTimeoutSeconds?: number;
    /**
     * For provider local: the volume that holds the GGUF files, mounted read-only at /models in the code, test and repair Pods as their model cache. A known model name is read from /models/<name>-<sha256 prefix>.gguf, the file `AUTORUN_MODEL_CACHE=<dir> autorun model pull` writes; a path names a file, for example /models/my-model.gguf. Exactly one of claimName (on GKE a ReadOnlyMany PersistentVolumeClaim: Hyperdisk ML, Filestore or Cloud Storage FUSE, shared by every Pod of the pool) or hostPath (a directory on the node). Without it each Pod fetches the model into its own /tmp.
     */
    volume?: {
      /**
       * A PersistentVolumeClaim in the pool's namespace, mounted read-only.
       */
      claimName?: string;
      /**
       * An absolute directory on the node, mounted read-only.
       */
      hostPath?: string;
    };
    /**
     * US dollars per million tokens, for a model the built-in price table does not know (a self-hosted or gateway model); without it such a model's tokens cost $0 against maxCostUSD and the stage says "no price known".
     */
    price?: {
      /**
       * Price of a million input tokens, a decimal string such as "0.20".
       */
      inputUSDPerMTok: string;
      /**
       * Price of a million output tokens, a decimal string such as "0.60".
       */
      outputUSDPerMTok: string;
    };
    /**
     * API endpoint; required for openai-compatible, optional otherwise (a proxy).
     */
    baseURL?: string;
    /**
     * Secret holding the API key; injected by secretKeyRef into LLM roles only.
     */
    apiKeySecretRef?: {
      /**
       * Name of the Secret in the pool's namespace.
       */
      name: string;
      /**
       * Key in the Secret.
       */
      key?: string;
    };
    /**
     * Vertex AI settings for provider vertex.
     */
    vertex?: {
      /**
       * Google Cloud project.
       */
      projectID?: string;
      /**
       * Vertex AI region, for example us-east5.
       */
      region?: string;
    };
  };
  /**
   * Per-role settings. Roles are code, test, run and repair; unset roles use defaults.
   */
  roles?: {
    code?: LlmRoleSpec;
    test?: LlmRoleSpec;
    repair?: LlmRoleSpec;
    run?: RunRoleSpec;
  };
}
/**
 * Settings of an LLM role (code, test and repair share this shape).
 */
export interface LlmRoleSpec {
  /**
   * sdk runs the built-in tool loop on the Anthropic SDK; claude-code runs Claude Code headless.
   */
  engine?: "sdk" | "claude-code";
  /**
   * Container image; defaults to spec.agentImage.
   */
  image?: string;
  /**
   * Overrides the image entrypoint; the agent program must still run as "autorun agent --role <role>".
   *
   * Items: One argument of the command, the executable first; not run through a shell.
   */
  command?: string[];
  /**
   * Extra environment variables. Secrets only through valueFrom.secretKeyRef.
   *
   * Items: One environment variable.
   */
  env?: {
    /**
     * Variable name.
     */
    name: string;
    /**
     * Literal value.
     */
    value?: string;
    /**
     * Source for the value.
     */
    valueFrom?: {
      /**
       * A key of a Secret in the task's namespace.
       */
      secretKeyRef: {
        /**
         * Secret name.
         */
        name: string;
        /**
         * Key in the Secret.
         */
        key: string;
      };
    };
  }[];
  /**
   * CPU, memory and ephemeral-storage requests and limits of the role's container (GPUs come from gpus). A resource left unset in both requests and limits gets a default request (code, test, repair: cpu 250m, memory 512Mi; run and acceptance: cpu 500m, memory 1Gi; all: ephemeral-storage 512Mi), so no stage Pod is BestEffort; an unset ephemeral-storage limit is the sum of the storage sizes plus 1Gi for logs and the container's writable layer.
   */
  resources?: {
    /**
     * Minimum resources, for example cpu "500m", memory 1Gi.
     */
    requests?: {
      /**
       * Quantity of the resource named by the key (such as cpu or memory) the scheduler reserves for the container.
       */
      [k: string]: number | string | undefined;
    };
    /**
     * Maximum resources.
     */
    limits?: {
      /**
       * Quantity of the resource named by the key (such as cpu or memory) the container may use at most; above the memory limit it is OOMKilled.
       */
      [k: string]: number | string | undefined;
    };
  };
  /**
   * Sizes of the stage's scratch volumes (emptyDir sizeLimit): the kubelet evicts a Pod whose volume outgrows its size, so generated code cannot fill the node's disk.
   */
  storage?: {
    /**
     * Size of /workspace, the git checkout and everything the stage builds in it.
     */
    workspace?: string;
    /**
     * Size of /tmp, also HOME and the caches of the stage's tools.
     */
    tmp?: string;
  };
  /**
   * Node labels this role's Pods must match, for example a CPU node pool for the LLM roles. Added to the pool's nodeSelector when the role has GPUs (the role's value wins for the same key).
   */
  nodeSelector?: {
    /**
     * Value the node's label with this key must have.
     */
    [k: string]: string | undefined;
  };
  /**
   * Tolerations of this role's Pods, for example for a tainted node pool; added to the pool's tolerations when the role has GPUs.
   *
   * @maxItems 32
   *
   * Items: A Kubernetes toleration.
   */
  tolerations?: {
    /**
     * Taint key the toleration applies to; empty with operator Exists matches all.
     */
    key?: string;
    /**
     * Exists or Equal.
     */
    operator?: "Exists" | "Equal";
    /**
     * Taint value for operator Equal.
     */
    value?: string;
    /**
     * NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
     */
    effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute" | "";
    /**
     * For NoExecute, how long the Pod stays bound after the taint appears.
     */
    tolerationSeconds?: number;
  }[];
  /**
   * Whole GPUs per Pod of this role. Only roles with gpus above 0 get the pool's nodeSelector and tolerations (besides their own).
   */
  gpus?: number;
  /**
   * Seconds a stage of this role may run (the Pod's activeDeadlineSeconds).
   */
  timeoutSeconds?: number;
  /**
   * Most model turns in one stage.
   */
  maxTurns?: number;
  /**
   * Tries of a stage whose Pod fails for reasons other than its result (crash, OOMKilled, eviction, lost node) before the task fails.
   */
  maxAttempts?: number;
}
/**
 * Settings of the run role, which executes the tests in a locked-down Pod with no secrets.
 */
export interface RunRoleSpec {
  /**
   * The project's toolchain image (python, node, go...). The agent is copied in by an init container, so any image with a shell works.
   */
  image?: string;
  /**
   * Overrides the image entrypoint; the agent program must still run as "autorun agent --role <role>".
   *
   * Items: One argument of the command, the executable first; not run through a shell.
   */
  command?: string[];
  /**
   * Extra environment variables, literal values only (the run role holds no secrets).
   *
   * Items: One environment variable.
   */
  env?: {
    /**
     * Variable name.
     */
    name: string;
    /**
     * Literal value.
     */
    value: string;
  }[];
  /**
   * CPU, memory and ephemeral-storage requests and limits of the role's container (GPUs come from gpus). A resource left unset in both requests and limits gets a default request (code, test, repair: cpu 250m, memory 512Mi; run and acceptance: cpu 500m, memory 1Gi; all: ephemeral-storage 512Mi), so no stage Pod is BestEffort; an unset ephemeral-storage limit is the sum of the storage sizes plus 1Gi for logs and the container's writable layer.
   */
  resources?: {
    /**
     * Minimum resources, for example cpu "500m", memory 1Gi.
     */
    requests?: {
      /**
       * Quantity of the resource named by the key (such as cpu or memory) the scheduler reserves for the container.
       */
      [k: string]: number | string | undefined;
    };
    /**
     * Maximum resources.
     */
    limits?: {
      /**
       * Quantity of the resource named by the key (such as cpu or memory) the container may use at most; above the memory limit it is OOMKilled.
       */
      [k: string]: number | string | undefined;
    };
  };
  /**
   * Sizes of the stage's scratch volumes (emptyDir sizeLimit): the kubelet evicts a Pod whose volume outgrows its size, so generated code cannot fill the node's disk.
   */
  storage?: {
    /**
     * Size of /workspace, the git checkout and everything the stage builds in it.
     */
    workspace?: string;
    /**
     * Size of /tmp, also HOME and the caches of the stage's tools.
     */
    tmp?: string;
  };
  /**
   * Node labels this role's Pods must match, for example a CPU node pool for the LLM roles. Added to the pool's nodeSelector when the role has GPUs (the role's value wins for the same key).
   */
  nodeSelector?: {
    /**
     * Value the node's label with this key must have.
     */
    [k: string]: string | undefined;
  };
  /**
   * Tolerations of this role's Pods, for example for a tainted node pool; added to the pool's tolerations when the role has GPUs.
   *
   * @maxItems 32
   *
   * Items: A Kubernetes toleration.
   */
  tolerations?: {
    /**
     * Taint key the toleration applies to; empty with operator Exists matches all.
     */
    key?: string;
    /**
     * Exists or Equal.
     */
    operator?: "Exists" | "Equal";
    /**
     * Taint value for operator Equal.
     */
    value?: string;
    /**
     * NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
     */
    effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute" | "";
    /**
     * For NoExecute, how long the Pod stays bound after the taint appears.
     */
    tolerationSeconds?: number;
  }[];
  /**
   * Whole GPUs per run Pod; with gpus above 0 the Pod gets the pool's nodeSelector and tolerations (besides its own).
   */
  gpus?: number;
  /**
   * Seconds a run stage may take (the Pod's activeDeadlineSeconds).
   */
  timeoutSeconds?: number;
  /**
   * Tries of a run stage whose Pod fails for reasons other than its result before the task fails.
   */
  maxAttempts?: number;
}

/**
 * Load of the pool, written by the operator.
 */
export interface AgentPoolStatus {
  /**
   * The spec generation this status was computed from.
   */
  observedGeneration?: number;
  /**
   * Tasks in flight.
   */
  activeTasks?: number;
  /**
   * Tasks waiting for a slot.
   */
  queuedTasks?: number;
  /**
   * GPUs requested by the pool's live Pods.
   */
  gpusInUse?: number;
  /**
   * Standard conditions; Ready says whether the pool accepts work.
   */
  conditions?: AgentPoolCondition[];
}
/**
 * A condition of the pool, following the Kubernetes API conventions.
 */
export interface AgentPoolCondition {
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

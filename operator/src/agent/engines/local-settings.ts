// Settings of the local engine that `autorun run` reads too, apart from the engine so that reading
// them does not load llama.cpp.

/** Threads for llama.cpp: AUTORUN_LOCAL_THREADS, else every core. */
export const LOCAL_THREADS_ENV = 'AUTORUN_LOCAL_THREADS';
/** `cuda`, `vulkan`, `metal` or `auto` offloads the model to a GPU (the prebuilt CUDA/Vulkan/Metal addons); unset runs on the CPU. */
export const LOCAL_GPU_ENV = 'AUTORUN_LOCAL_GPU';
/** The model cache directory (default ~/.cache/autorun/models); in a Pod, spec.model.volume's mount. */
export const MODEL_CACHE_ENV = 'AUTORUN_MODEL_CACHE';

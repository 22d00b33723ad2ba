#!/usr/bin/env bash
# Builds llama.cpp's OpenAI-compatible `llama-server` (CPU only) from the llama.cpp vendored in the
# pinned llama-cpp-python sdist, once, into a cache keyed by that version, its sha256 and this
# script. Prints the binary's path. The openai-compatible engine's real-server test drives it.
# Why the sdist: PyPI is reachable here and GitHub release archives are not; the sdist pins one
# llama.cpp commit and its checksum is checked before anything of it is built.
# Concurrent runs (several worktrees, CI) wait on one lock and reuse the first one's build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=0.3.36
sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
key="$( (echo "$version $sha256"; cat "$here/$(basename "$0")") | sha256sum | cut -c1-16)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/autorun"
cache="${AUTORUN_LLAMA_SERVER_CACHE:-$root/llama-server-$version-$key}"
bin="$cache/bin/llama-server"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$root"
exec 8>"$cache.lock"
flock 8
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
for t in cmake g++ make; do command -v "$t" >/dev/null || { echo "build-llama-server: $t is missing (hack/install-debs.sh installs it)" >&2; exit 1; }; done
rm -rf "$cache"; mkdir -p "$cache"
tmp="$(mktemp -d "$cache/build.XXXX")"
start=$(date +%s)
echo "building llama-server (llama-cpp-python $version's llama.cpp) into $cache (about 5 minutes on 2 free cores, more on busy ones)" >&2
sdist="$root/llama_cpp_python-$version.tar.gz"
if [[ ! -f "$sdist" ]] || ! echo "$sha256  $sdist" | sha256sum -c --quiet - 2>/dev/null; then
  # --no-build-isolation with no build backend: pip still needs none to download the sdist itself.
  python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation -d "$tmp/dl" "llama-cpp-python==$version" >&2 \
    || python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp/dl" "llama-cpp-python==$version" >&2
  echo "$sha256  $tmp/dl/llama_cpp_python-$version.tar.gz" | sha256sum -c --quiet - >&2 \
    || { echo "build-llama-server: llama_cpp_python-$version.tar.gz does not match its pinned sha256" >&2; exit 1; }
  mv "$tmp/dl/llama_cpp_python-$version.tar.gz" "$sdist"
fi
tar -xzf "$sdist" -C "$tmp" "llama_cpp_python-$version/vendor/llama.cpp"
src="$tmp/llama_cpp_python-$version/vendor/llama.cpp"
# Static libraries, CPU only, no curl (the tests load a local file), the server and nothing else.
# GGML_NATIVE=OFF: the cache is shared across machines of one CI pool, which may differ in ISA.
cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$tmp/build" --target llama-server -j"$(nproc)" >&2
mkdir -p "$cache/bin"
install -m 0755 "$tmp/build/bin/llama-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
rm -rf "$tmp"
echo "built in $(( $(date +%s) - start ))s" >&2
echo "$bin"

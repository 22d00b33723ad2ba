#!/usr/bin/env bash
# Builds the project's images without Docker, as OCI archives: what the tests import into the real
# node's containerd is what a release pushes (images/README.md). Prints the output directory, which
# holds <name>.tar per image and images.json ({name: {ref, refs, archive, digest}}).
#   autorun  the operator and agent image: Debian bookworm + git, Node 24, Claude Code, /opt/autorun,
#            node-llama-cpp with llama.cpp's linux-x64 CPU build (the local engine)
#   python   run-role toolchain: python3 + pytest
#   node     run-role toolchain: Node 24 + npm + jest
# Layers, each cached under ~/.cache/autorun by its inputs: the debootstrapped rootfs (minutes,
# once), the runtime (node, Claude Code, jest: seconds, when a version changes), and the autorun
# app (bundle, CRDs, package.json): a bundle-only change repacks only that last, small layer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${AUTORUN_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autorun}"
out="$cache/images"
if [[ $(id -u) != 0 ]]; then
  echo "build-images: needs root (debootstrap chroots into the rootfs it builds, and the layers keep its root-owned files); run make as root" >&2
  exit 1
fi
mkdir -p "$out"
exec 8>"$cache/images.lock"
flock 8
start=$(date +%s)
# Image dates are fixed (2000-01-01): the same inputs give the same digests, so a warm test run
# finds every image already imported.
export SOURCE_DATE_EPOCH=946684800

version="$(jq -r .version "$root/package.json")"
node_bin="$root/node_modules/node/bin/node"
node_version="$(jq -r .version "$root/node_modules/node/package.json")"
claude_dir="$root/node_modules/@anthropic-ai/claude-code"
claude_version="$(jq -r .version "$claude_dir/package.json")"
jest_version="$(jq -r .version "$root/node_modules/jest/package.json")"
npm_version="$(npm --version)"
[[ -x $node_bin && $node_version == 24.* ]] || { echo "build-images: $node_bin is not Node 24 (run npm ci)" >&2; exit 1; }
[[ -x $claude_dir/bin/claude.exe ]] || { echo "build-images: Claude Code's native binary is missing in $claude_dir/bin (its postinstall did not run: npm ci)" >&2; exit 1; }

REF_AUTORUN="ghcr.io/autorun-dev/autorun:$version"
# The chart's default agent image (charts/autorun/templates/_helpers.tpl): the same image.
REF_AGENT="ghcr.io/autorun-dev/autorun-agent:$version"
REF_PYTHON="ghcr.io/autorun-dev/toolchain-python:3.11"
REF_NODE="ghcr.io/autorun-dev/toolchain-node:${node_version%%.*}"
PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/autorun-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The two debootstraps side by side (mostly downloads and dpkg): a cold build waits for one.
"$here/images/rootfs.sh" python python3,python3-pytest > "$work/python-rootfs" &
python_pid=$!
agent_rootfs="$("$here/images/rootfs.sh" agent git,ca-certificates,openssh-client)"
wait "$python_pid" || { echo "build-images: the python rootfs failed" >&2; exit 1; }
python_rootfs="$(cat "$work/python-rootfs")"

hash_of() { sha256sum | cut -c1-16; }
# A tree's content as its layer will hold it (names, modes, owners, link targets, bytes).
tree_hash() { tar -C "$1" --sort=name --numeric-owner --format=gnu -cf - . | hash_of; }

# Builds a tree with the function $2 into $cache/$1-<key> once; prints its path.
cached_tree() {
  local name="$1" fn="$2" key dir
  key="$( (declare -f "$fn"; echo "$3") | hash_of)"
  dir="$cache/$name-$key"
  if [[ ! -f $dir.complete ]]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    "$fn" "$dir.tmp" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir.complete"
  fi
  echo "$dir"
}

# Node at /opt/autorun/node (the run role's init container copies /opt/autorun, node included, into
# the toolchain Pod) and on PATH; Claude Code's native binary as `claude`.
autorun_runtime() {
  local t="$1" cc="$1/usr/local/lib/node_modules/@anthropic-ai/claude-code"
  mkdir -p "$t/opt/autorun" "$t/usr/local/bin" "$cc/bin"
  install -m 0755 "$node_bin" "$t/opt/autorun/node"
  ln -s /opt/autorun/node "$t/usr/local/bin/node"
  install -m 0755 "$claude_dir/bin/claude.exe" "$cc/bin/claude.exe"
  install -m 0644 "$claude_dir/package.json" "$claude_dir/LICENSE.md" "$claude_dir/README.md" "$cc/"
  ln -s ../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe "$t/usr/local/bin/claude"
}

# Node, npm and jest as a global install: the run role finds jest (or npm test) on PATH.
node_toolchain() {
  local t="$1"
  mkdir -p "$t/usr/local/bin"
  install -m 0755 "$node_bin" "$t/usr/local/bin/node"
  npm install --global --prefix "$t/usr/local" --no-audit --no-fund --no-update-notifier --loglevel=error "npm@$npm_version" "jest@$jest_version"
  rm -rf "$t/usr/local/etc"
}

# The local engine (provider local): node-llama-cpp, which the bundle imports at run time, with its
# dependencies as the lock installed them and only the linux-x64 CPU binary of llama.cpp
# (AUTORUN_IMAGE_LLAMA_BINARIES names others: README "The local engine in the cluster"). At
# /opt/node_modules, where Node's lookup from /opt/autorun/dist/bundle ends up, and outside
# /opt/autorun, which every run Pod's init container copies.
llama_binaries="${AUTORUN_IMAGE_LLAMA_BINARIES:-@node-llama-cpp/linux-x64}"
# shellcheck disable=SC2086 # one package name a word
llama_modules="$(node "$here/images/runtime-modules.mjs" $llama_binaries)"
autorun_llama() {
  local t="$1" d
  while read -r d; do
    mkdir -p "$t/opt/$d"
    tar -C "$root/$d" --exclude=./node_modules -cf - . | tar -C "$t/opt/$d" --no-same-owner -xf -
  done <<< "$llama_modules"
  chmod -R u=rwX,go=rX "$t/opt"
  find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

runtime="$(cached_tree image-layer-autorun-runtime autorun_runtime "$node_version $claude_version")"
llama="$(cached_tree image-layer-autorun-llama autorun_llama "$(cd "$root" && sed 's#$#/package.json#' <<< "$llama_modules" | xargs sha256sum)")"
toolchain="$(cached_tree image-layer-node-toolchain node_toolchain "$node_version $npm_version $jest_version")"

# The app layer: a fresh bundle of this checkout (not dist/'s, which keeps older builds' chunks).
app="$work/app"
mkdir -m 0755 "$app"
mkdir -p "$app/opt/autorun/dist" "$app/usr/local/bin"
(cd "$root" && node scripts/build.mjs --bundle-only --outdir "$app/opt/autorun/dist/bundle") >&2
cp -R "$root/crds" "$app/opt/autorun/crds"
cp "$root/package.json" "$app/opt/autorun/package.json"
ln -s /opt/autorun/dist/bundle/autorun.mjs "$app/usr/local/bin/autorun"
# `exec: autorun: Permission denied` on a real node (issue #10): the entry must be executable and
# start with its interpreter. Checked here, before anything is packed.
[[ -x $app/opt/autorun/dist/bundle/autorun.mjs && "$(head -c 19 "$app/opt/autorun/dist/bundle/autorun.mjs")" == '#!/usr/bin/env node' ]] \
  || { echo "build-images: dist/bundle/autorun.mjs is not an executable script with a node shebang" >&2; exit 1; }
chmod -R u=rwX,go=rX "$app/opt"
find "$app" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# Packs an image unless its archive was already built from the same inputs (the key).
# image NAME KEY REF... -- PACK-ARGS...
image() {
  local name="$1" key="$2"; shift 2
  local refs=()
  while [[ $1 != -- ]]; do refs+=("$1"); shift; done
  shift
  if [[ -f $out/$name.tar && -f $out/$name.digest && "$(cat "$out/$name.key" 2>/dev/null)" == "$key" ]]; then return; fi
  local ref_args=()
  for r in "${refs[@]}"; do ref_args+=(--ref "$r"); done
  local t0=$(date +%s)
  "$here/images/pack.sh" "${ref_args[@]}" --out "$out/$name.tar" "$@"
  tar -xOf "$out/$name.tar" index.json | jq -r '.manifests[0].digest' > "$out/$name.digest"
  echo "$key" > "$out/$name.key"
  echo "image $name packed in $(( $(date +%s) - t0 ))s" >&2
}

# Base layouts (rootfs + runtime), cached: a rebuild of the app layer starts from them.
base_layout() {
  local name="$1"; shift
  local key dir
  key="$( (echo "$@"; cat "$here/images/pack.sh") | hash_of)"
  dir="$cache/image-base-$name-$key"
  if [[ ! -f $dir.complete ]]; then
    local t0=$(date +%s)
    "$here/images/pack.sh" --layout "$dir" "$@"
    touch "$dir.complete"
    echo "base layout $name packed in $(( $(date +%s) - t0 ))s" >&2
  fi
  echo "$dir"
}

autorun_base="$(base_layout autorun "$agent_rootfs" "$runtime" "$llama")"
common=(--config --config.user=65532:65532 --config --config.env="$PATH_ENV" --config --config.env=HOME=/tmp)
image autorun "$(echo "$autorun_base $(tree_hash "$app") $REF_AUTORUN $REF_AGENT" | cat - "$here/build-images.sh" | hash_of)" "$REF_AUTORUN" "$REF_AGENT" -- \
  --from "$autorun_base" "${common[@]}" --config --config.env=NODE_ENV=production \
  --config --config.workingdir=/opt/autorun \
  --config --config.entrypoint=node --config --config.entrypoint=/opt/autorun/dist/bundle/autorun.mjs "$app"
image python "$(echo "$python_rootfs $REF_PYTHON" | cat - "$here/images/pack.sh" "$here/build-images.sh" | hash_of)" "$REF_PYTHON" -- \
  "${common[@]}" --config --config.env=PYTHONDONTWRITEBYTECODE=1 "$python_rootfs"
image node "$(echo "$agent_rootfs $toolchain $REF_NODE" | cat - "$here/images/pack.sh" "$here/build-images.sh" | hash_of)" "$REF_NODE" -- \
  "${common[@]}" "$agent_rootfs" "$toolchain"

digest() { cat "$out/$1.digest"; }
jq -n \
  --arg autorun "$out/autorun.tar" --arg python "$out/python.tar" --arg node "$out/node.tar" \
  --arg ra "$REF_AUTORUN" --arg rg "$REF_AGENT" --arg rp "$REF_PYTHON" --arg rn "$REF_NODE" \
  --arg da "$(digest autorun)" --arg dp "$(digest python)" --arg dn "$(digest node)" \
  '{autorun: {ref: $ra, refs: [$ra, $rg], archive: $autorun, digest: $da},
    python: {ref: $rp, refs: [$rp], archive: $python, digest: $dp},
    node: {ref: $rn, refs: [$rn], archive: $node, digest: $dn}}' > "$out/images.json.tmp"
mv "$out/images.json.tmp" "$out/images.json"
echo "images ready in $(( $(date +%s) - start ))s: $out" >&2
echo "$out"

#!/usr/bin/env bash
# Packs directory trees into an OCI image with umoci, one layer per tree, without Docker. The same
# archive is what `ctr -n k8s.io images import` loads on the test node and what `skopeo copy
# oci-archive:...` pushes to a registry (images/README.md).
#
#   hack/images/pack.sh [--from LAYOUT] [--layout DIR] [--ref REF]... [--out FILE.tar]
#                       [--config UMOCI-CONFIG-FLAG]... [LAYER-DIR]...
#
#   --from LAYOUT  start from the image in this OCI layout (one written by --layout); its blobs are
#                  hard-linked, never changed (a layout of the cache stays valid)
#   --layout DIR   keep the resulting OCI layout here (to cache it or build on it with --from)
#   --ref REF      a name of the image: an index.json entry annotated io.containerd.image.name=REF
#                  and org.opencontainers.image.ref.name=REF (repeatable: the same manifest, two names)
#   --out FILE     write the OCI archive (a tar of the layout) here, atomically
#   --config FLAG  passed to `umoci config`, e.g. --config --config.entrypoint=/pause (repeatable)
#   LAYER-DIR      a tree laid out from /, appended as one layer (owners, modes, mtimes kept)
# The image inside the layout is tagged "image". Prints nothing on stdout. With SOURCE_DATE_EPOCH
# set, the config's and history's dates are that time: the same trees give the same image digest.
set -euo pipefail
from='' layout='' out='' refs=() config=() layers=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --layout) layout="$2"; shift 2 ;;
    --ref) refs+=("$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config+=("$2"); shift 2 ;;
    --) shift; layers+=("$@"); break ;;
    -*) echo "pack.sh: unknown option $1" >&2; exit 2 ;;
    *) layers+=("$1"); shift ;;
  esac
done
[[ -n $out && ${#refs[@]} == 0 ]] && { echo "pack.sh: --out needs at least one --ref" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/autorun-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
oci="$work/oci"
if [[ -n $from ]]; then
  mkdir -p "$oci/blobs"
  cp -al "$from/blobs/." "$oci/blobs/"
  cp "$from/index.json" "$from/oci-layout" "$oci/"
else
  umoci init --layout "$oci"
  umoci new --image "$oci:image"
fi
created=()
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
  created=(--history.created "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)")
fi
for dir in "${layers[@]}"; do
  [[ -d $dir ]] || { echo "pack.sh: layer $dir is not a directory" >&2; exit 2; }
  # Sorted and numeric so that the same tree gives the same layer digest; GNU format keeps no atime.
  # The tree's own directory is not an entry: its mode (mktemp's 0700) would become the image's /.
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort) > "$work/members"
  tar -C "$dir" --sort=name --numeric-owner --format=gnu -cf "$work/layer.tar" -T "$work/members"
  umoci raw add-layer --image "$oci:image" "${created[@]}" --history.created_by "autorun pack $(basename "$dir")" "$work/layer.tar"
  rm -f "$work/layer.tar"
done
if [[ ${#config[@]} -gt 0 ]]; then
  [[ ${#created[@]} -gt 0 ]] && config+=(--created "${created[1]}" "${created[@]}")
  umoci config --image "$oci:image" "${config[@]}"
fi
umoci gc --layout "$oci"
if [[ ${#refs[@]} -gt 0 ]]; then
  # One index entry per name, all pointing at the manifest tagged "image".
  jq '.manifests |= ([.[] | select(.annotations["org.opencontainers.image.ref.name"] == "image")][0] as $m
      | [$ARGS.positional[] as $r | $m | .annotations = {"io.containerd.image.name": $r, "org.opencontainers.image.ref.name": $r}]
      + [$m])' "$oci/index.json" --args "${refs[@]}" > "$work/index.json"
  mv "$work/index.json" "$oci/index.json"
fi
if [[ -n $out ]]; then
  # The archive holds the named entries only (an "image" tag would import as a third, odd name).
  arch="$work/archive"
  mkdir -p "$arch/blobs" "$(dirname "$out")"
  cp -al "$oci/blobs/." "$arch/blobs/"
  cp "$oci/oci-layout" "$arch/"
  jq '.manifests |= [.[] | select(.annotations["org.opencontainers.image.ref.name"] != "image")]' "$oci/index.json" > "$arch/index.json"
  tar -C "$arch" --sort=name --numeric-owner --format=gnu -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
fi
if [[ -n $layout ]]; then
  rm -rf "$layout.tmp" && mkdir -p "$(dirname "$layout")"
  mv "$oci" "$layout.tmp" && rm -rf "$layout" && mv "$layout.tmp" "$layout"
fi

#!/usr/bin/env bash
# Builds the Go binaries the tests need (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok, helm) and the real node's kubelet from the versions pinned in hack/tools/go.mod,
# and the pause binary of that Kubernetes module (build/pause/linux/pause.c, gcc -static), once,
# into a cache outside the checkout keyed by that go.mod and this script. Prints the bin directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The script is part of the key: a change to the flags below rebuilds (a relink, GOCACHE keeps the rest).
key="$(cat "$here/tools/go.mod" "$here/tools/go.sum" "$here/$(basename "$0")" | sha256sum | cut -c1-16)"
k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$here/tools/go.mod")"
helm_version="$(awk '$1=="helm.sh/helm/v3"{print $2; exit}' "$here/tools/go.mod")"
cache="${AUTORUN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autorun/tools-$k8s_version-$key}"
bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok helm kubelet pause)
ok=1
for b in "${bins[@]}"; do [[ -x "$cache/bin/$b" ]] || ok=0; done
if [[ $ok == 1 ]]; then echo "$cache/bin"; exit 0; fi
mkdir -p "$cache/bin"
minor="$(echo "$k8s_version" | cut -d. -f2)"
echo "building control-plane binaries $k8s_version into $cache (about 9 minutes on 2 cores with an empty Go build cache, seconds with a warm one)" >&2
start=$(date +%s)
(
  cd "$here/tools"
  tmp="$(mktemp -d "$cache/build.XXXX")"
  go build -o "$tmp/" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X helm.sh/helm/v3/internal/version.version=$helm_version" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet \
    go.etcd.io/etcd/server/v3 sigs.k8s.io/kwok/cmd/kwok helm.sh/helm/v3/cmd/helm >&2
  # `go build` names the etcd binary after its module path element.
  mv "$tmp/server" "$tmp/etcd"
  # The real node's sandbox image holds this one static binary (test/harness/real-node.ts packs it).
  k8s_dir="$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)"
  gcc -static -O2 -Wall -DVERSION="$k8s_version" -o "$tmp/pause" "$k8s_dir/build/pause/linux/pause.c" >&2
  mv "$tmp"/* "$cache/bin/"
  rmdir "$tmp"
)
echo "built in $(( $(date +%s) - start ))s" >&2
echo "$cache/bin"

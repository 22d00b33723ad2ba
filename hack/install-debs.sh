#!/usr/bin/env bash
# Installs the Debian packages the real-node tests and the image build need, only those not yet
# installed (dpkg is asked first, so a warm machine pays nothing and needs no network).
# Usage: hack/install-debs.sh [package...]   (no arguments: the project's whole list)
set -euo pipefail
pkgs=("$@")
if [[ ${#pkgs[@]} == 0 ]]; then
  # containerd/runc/CNI plugins: the real node; umoci/debootstrap: the image build; busybox-static:
  # tiny test images; bubblewrap: unprivileged namespaces; skopeo: pushing the OCI archives; jq: index.json;
  # chromium with fonts-liberation (only a Recommends of chromium, and without a font the page's text
  # is not drawn): the report page's browser tests (test/harness/browser.ts); cmake, g++, make:
  # llama.cpp's server for the openai-compatible engine's real-server test (hack/build-llama-server.sh).
  pkgs=(containerd runc containernetworking-plugins umoci debootstrap busybox-static bubblewrap skopeo jq chromium fonts-liberation cmake g++ make)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[[ ${#missing[@]} == 0 ]] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
# A lock held by another engineer's apt run: wait for it instead of failing.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2

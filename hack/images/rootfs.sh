#!/usr/bin/env bash
# A Debian bookworm minbase root filesystem with the given packages, debootstrapped once into
# ~/.cache/autorun/rootfs-NAME-<hash of suite, mirror, packages and this script>. Prints its path.
#   hack/images/rootfs.sh NAME PACKAGE[,PACKAGE...]
# The tree is the image's base layer as it is: apt's caches and lists removed, /dev empty (the
# runtime mounts its own), and the distroless "nonroot" user 65532 that every stage container runs
# as (ssh refuses a uid without a passwd entry). Needs root (debootstrap chroots).
set -euo pipefail
name="$1" packages="$2"
here="$(cd "$(dirname "$0")" && pwd)"
suite=bookworm
# The mirror this machine's apt uses (a snapshot on the CI machines), so a rebuild is reproducible.
mirror="$(awk '$1=="URIs:"{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${AUTORUN_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
key="$(printf '%s\n' "$suite" "$mirror" "$packages" | cat - "$here/rootfs.sh" | sha256sum | cut -c1-16)"
cache="${AUTORUN_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autorun}"
dir="$cache/rootfs-$name-$key"
if [[ -f $dir.complete ]]; then echo "$dir"; exit 0; fi
mkdir -p "$cache"
exec 9>"$dir.lock"
flock 9
if [[ -f $dir.complete ]]; then echo "$dir"; exit 0; fi
# What no stage reads: manuals, translations (git runs with LC_ALL=C), docs but the licences.
trim() {
  rm -rf "$1"/usr/share/man/* "$1"/usr/share/info/*
  find "$1/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  find "$1/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete
}
start=$(date +%s)
echo "debootstrap $suite minbase + $packages into $dir (1-3 minutes, once)" >&2
tmp="$dir.tmp"
rm -rf "$tmp"
debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >&2
chroot "$tmp" apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp"/var/log/* "$tmp"/dev/* "$tmp"/run/* "$tmp"/tmp/*
trim "$tmp"
# debootstrap writes the build machine's resolv.conf and hostname; the kubelet mounts its own.
: > "$tmp/etc/resolv.conf"
echo localhost > "$tmp/etc/hostname"
grep -q '^nonroot:' "$tmp/etc/passwd" || echo 'nonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin' >> "$tmp/etc/passwd"
grep -q '^nonroot:' "$tmp/etc/group" || echo 'nonroot:x:65532:' >> "$tmp/etc/group"
rm -rf "$dir" && mv "$tmp" "$dir"
# Beside the tree, not in it: everything in it is the image's layer.
touch "$dir.complete"
echo "rootfs $name built in $(( $(date +%s) - start ))s" >&2
echo "$dir"

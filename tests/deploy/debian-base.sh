#!/usr/bin/env bash
# Make a Debian base image for the image test without a container registry: debootstrap a
# minimal root file system from the Debian mirror apt already uses, with Python, and import it
# into podman as localhost/hubbub-test-base:<release>. Prints the image name.
#
# Cached twice, keyed by the release: the root file system as a tarball under
# ${HUBBUB_IMAGE_CACHE:-~/.cache/hubbub-image}/ (debootstrap takes minutes; the tarball is
# reused until deleted) and the image in podman's store (kept until `podman rmi`).
#
# Usage: tests/deploy/debian-base.sh [release]   (default: this machine's release)
set -euo pipefail

release=${1:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
arch=$(dpkg --print-architecture)
image=localhost/hubbub-test-base:$release
cache=${HUBBUB_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubbub-image}
tarball=$cache/debian-$release-$arch.tar

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  # The mirror apt is configured with (deb822 or one-line sources), else Debian's own.
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  mkdir -p "$cache"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  # minbase: dpkg, apt and the required packages (passwd's useradd among them); python3-venv
  # brings ensurepip, which the Dockerfile's `python3 -m venv` needs (official Python images
  # have it built in).
  echo "debootstrap $release from $mirror (a few minutes, once)" >&2
  debootstrap --variant=minbase --include=python3,python3-venv \
    "$release" "$rootfs" "$mirror" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi

podman import --quiet "$tarball" "$image" >&2
echo "$image"

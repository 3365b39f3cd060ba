#!/usr/bin/env bash
# Stand-in for debian:<suite>-slim: a minimal Debian root file system made with
# debootstrap from Debian's own packages and imported as an image. Used only when no image
# registry can be reached (see ../compose_test.sh). Usage: debian.sh <image name>
set -euo pipefail

image=$1
tag=${image#*:}
suite=${tag%-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/c4-standin-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

timeout 900 debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >/dev/null
# The sources the real image has, so apt-get works in images built on it.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  - "$image" >/dev/null

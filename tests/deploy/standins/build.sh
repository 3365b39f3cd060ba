#!/usr/bin/env bash
# Makes every image named on the command line available to the local Docker engine:
# an image already there is kept, one that can be pulled is pulled, and only one that
# can't (no image registry reachable) is replaced by a local stand-in built from Debian
# packages, tagged with the very same name. One recipe per repository, beside this file:
#   debian  debian.sh (debootstrap + docker import)      redis, postgres, nginx  <name>/Dockerfile
#   rust    rust/Dockerfile + the host's Rust toolchain (the one `rustc` here runs) and CA bundle
# Stand-ins honour what our Dockerfile and docker-compose.yml rely on of the real images;
# they are for testing on a machine without a registry, never for production.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { printf '==> %s\n' "$*"; }

standin() {
  local image=$1 repo=${1%%:*}
  case $repo in
    debian) "$HERE/debian.sh" "$image" ;;
    redis | postgres | nginx)
      docker build -q -t "$image" "$HERE/$repo" >/dev/null ;;
    rust)
      local sysroot
      sysroot=$(rustc --print sysroot)
      # The context is a tar stream: the recipe, the host's CA bundle and the toolchain
      # (without its docs).
      tar -c -C "$HERE/rust" Dockerfile -C /etc/ssl/certs ca-certificates.crt \
          -C "$sysroot" --transform 's,^\(bin\|lib\|libexec\),toolchain/\1,' bin lib libexec \
        | docker build -q -t "$image" - >/dev/null ;;
    *) echo "no stand-in recipe for $image" >&2; return 1 ;;
  esac
}

# The Debian base first: the other recipes are built on it.
mapfile -t images < <(printf '%s\n' "$@" | sort -u | awk '/^debian:/ { print; next } { rest[NR] = $0 } END { for (i in rest) print rest[i] }')
for image in "${images[@]}"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    continue
  fi
  if timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
    log "pulled $image"
    continue
  fi
  log "STAND-IN: $image can't be pulled; building a local stand-in from Debian packages"
  start=$SECONDS
  standin "$image"
  log "stand-in $image built in $((SECONDS - start)) s"
done

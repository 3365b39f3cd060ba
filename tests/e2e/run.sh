#!/usr/bin/env bash
# Browser end-to-end tests, on their own: installs what is missing (Debian's Chromium,
# nginx, the PostgreSQL and Redis clients, the npm packages), builds the server (debug
# profile) and runs every spec. Redis and PostgreSQL must be running on 127.0.0.1
# (see docs / .ci/run). Extra arguments go to the test runner, e.g.
#   tests/e2e/run.sh --test-name-pattern=spectator
set -euo pipefail

E2E_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$E2E_DIR/../.." && pwd)"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-cli >/dev/null || missing+=(redis-tools)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! redis-cli -u "${C4_E2E_REDIS_URL:-redis://127.0.0.1:6379}" ping >/dev/null 2>&1; then
  echo "Redis is not reachable on ${C4_E2E_REDIS_URL:-redis://127.0.0.1:6379}" >&2
  exit 1
fi
if ! psql "${C4_E2E_PG_ADMIN:-postgres://postgres@127.0.0.1:5432}/postgres" -qtc 'select 1' >/dev/null 2>&1; then
  echo "PostgreSQL is not reachable at ${C4_E2E_PG_ADMIN:-postgres://postgres@127.0.0.1:5432}" >&2
  exit 1
fi

(cd "$E2E_DIR" && npm ci --no-audit --no-fund)
(cd "$REPO" && cargo build)
cd "$E2E_DIR"
if [ "$#" -gt 0 ]; then
  npm test -- "$@"
else
  npm test
fi

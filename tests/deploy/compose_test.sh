#!/usr/bin/env bash
# The deployment test: builds the image and runs docker-compose.yml for real (Redis,
# PostgreSQL, the migration job, three replicas, nginx), plays a full game through nginx
# with the two players on different replicas, kills the replica of one of them mid-game
# (failover_game.py), then checks that PostgreSQL holds every move exactly once and that
# `connect4-arena verify` accepts the audit files of all three replicas.
#
# Works on a machine with or without an image registry and with or without a running
# Docker engine: it installs and starts one when none answers (and says so), and
# builds local stand-ins from Debian packages for base images that can't be pulled
# (standins/). The Dockerfile and docker-compose.yml are used exactly as users run them.
# Whatever happens, the cluster is taken down with its volumes (docker compose down -v);
# on failure the services' state and logs are printed first.
#
#   tests/deploy/compose_test.sh          (as root, or a user allowed to use Docker)
#
# Prints the image size and the build time of `up --build` (cold when no build cache).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

log() { printf '\n==> [deploy] %s\n' "$*"; }
loud() { printf '\n!!!!! [deploy] %s\n' "$*" >&2; }
die() { printf '\n[deploy] FAILED: %s\n' "$*" >&2; exit 1; }

# Waits until "$@" succeeds, polling every second, for at most $1 seconds.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what: not within ${limit} s"
    sleep 1
  done
}

apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/c4-deploy.XXXXXX")"
DOCKERD_PID=

# --- 1. A Docker engine --------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    loud "NO DOCKER ENGINE ON THIS MACHINE: installing Debian's docker.io"
    apt_install docker.io
  fi
  if ! docker info >/dev/null 2>&1; then
    loud "NO DOCKER ENGINE RUNNING: starting dockerd (log: $WORK/dockerd.log); stopped again at the end"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    wait_until 60 "dockerd answering" docker info
  fi
fi

# The image's cache mounts need BuildKit. A Docker CLI from 23 on builds with BuildKit only
# through the buildx plugin; when it has none, use the engine's own CLI (20.10 has BuildKit
# built in) for this run.
export DOCKER_BUILDKIT=1
if ! docker buildx version >/dev/null 2>&1 \
   && [ "$(docker version -f '{{.Client.Version}}' | cut -d. -f1)" -ge 23 ]; then
  engine_cli=/usr/bin/docker
  [ -x "$engine_cli" ] && [ "$("$engine_cli" version -f '{{.Client.Version}}' | cut -d. -f1)" -lt 23 ] \
    || die "the docker CLI on PATH has no buildx plugin to build with BuildKit"
  loud "the docker CLI on PATH has no buildx plugin: using the engine's own $engine_cli"
  mkdir -p "$WORK/bin"
  ln -s "$engine_cli" "$WORK/bin/docker"
  export PATH="$WORK/bin:$PATH"
fi

# Compose v2 when the docker CLI has it; otherwise docker-compose 1.29 (Debian's), which
# builds through the docker CLI with BuildKit when told to.
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
else
  command -v docker-compose >/dev/null || { loud "installing Debian's docker-compose"; apt_install docker-compose; }
  COMPOSE=(docker-compose)
  export COMPOSE_DOCKER_CLI_BUILD=1
fi
log "$(docker version -f 'engine {{.Server.Version}}, client {{.Client.Version}}'); $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -n1)"

# The game client's one dependency: a Python with websockets, else Debian's package.
PYTHON=
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c 'import websockets' 2>/dev/null; then PYTHON=$candidate; break; fi
done
if [ -z "$PYTHON" ]; then
  log "installing python3-websockets"
  apt_install python3 python3-websockets
  PYTHON=/usr/bin/python3
fi

# --- 2. Base images: pulled, or stand-ins when no registry answers --------------------
# The names the Dockerfile uses (its FROM lines with the ARG defaults) and those of
# compose services that are not built here.
dockerfile_images() {
  local line name value
  local -A args=()
  while read -r line; do
    case $line in
      ARG\ *=*) name=${line#ARG }; value=${name#*=}; args[${name%%=*}]=$value ;;
      FROM\ *)
        line=${line#FROM }; line=${line%% *}
        for name in "${!args[@]}"; do line=${line//\$\{$name\}/${args[$name]}}; done
        echo "$line" ;;
    esac
  done <Dockerfile
}
compose_images() {
  "${COMPOSE[@]}" config | awk '
    /^[^ ]/           { in_services = ($0 == "services:") }
    in_services && /^  [^ ].*:$/ { service = $1 }
    in_services && /^    build:/  { built[service] = 1 }
    in_services && /^    image:/  { image[service] = $2 }
    END { for (s in image) if (!(s in built)) print image[s] }'
}
mapfile -t base_images < <({ dockerfile_images; compose_images; } | sort -u)
log "base images: ${base_images[*]}"
"$HERE/standins/build.sh" "${base_images[@]}"

# --- 3. The cluster --------------------------------------------------------------------
export COMPOSE_PROJECT_NAME="c4deploy$$"
HTTP_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export HTTP_PORT HTTP_BIND=127.0.0.1
# Reserved URL characters: the entry point must percent-encode them into DATABASE_URL.
export POSTGRES_PASSWORD='c4 p@ss/w:rd?#%'

finish() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ]; then
    printf '\n[deploy] FAILED (exit %s); state and logs of the cluster:\n' "$status" >&2
    timeout 60 "${COMPOSE[@]}" ps -a >&2
    timeout 120 "${COMPOSE[@]}" logs --no-color --tail=150 >&2
  fi
  log "docker compose down -v"
  timeout 180 "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 \
    || printf '[deploy] compose down failed or timed out\n' >&2
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID"
    timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

log "${COMPOSE[*]} up --build -d (project $COMPOSE_PROJECT_NAME, nginx on 127.0.0.1:$HTTP_PORT)"
build_start=$SECONDS
timeout 2400 "${COMPOSE[@]}" up --build -d
log "up --build took $((SECONDS - build_start)) s"

# Every container of the project: one-off jobs (restart "no", the migration) exited 0,
# all services healthy.
all_healthy() {
  local id state
  for id in $("${COMPOSE[@]}" ps -aq); do
    state=$(docker inspect -f '{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
    case $state in
      *" no exited 0 ") ;;
      *" running 0 healthy") ;;
      *) echo "$state"; return 1 ;;
    esac
  done
}
wait_until 180 "every service healthy" all_healthy
"${COMPOSE[@]}" ps

image=$(docker inspect -f '{{.Config.Image}}' "$("${COMPOSE[@]}" ps -q app1)")
log "image $image: $(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'), runs as $(docker image inspect -f '{{.Config.User}}' "$image")"
curl -fsS "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null || die "/health/ready through nginx"

# --- 4. The game, with a replica killed halfway -----------------------------------------
log "full game through nginx, one replica killed mid-game"
C4_BASE_URL="http://127.0.0.1:$HTTP_PORT" C4_COMPOSE="${COMPOSE[*]}" \
  timeout 300 "$PYTHON" "$HERE/failover_game.py" | tee "$WORK/game.log"
read -r _ game_id moves < <(grep '^GAME ' "$WORK/game.log")

# --- 5. PostgreSQL holds every move once; the audit files verify -------------------------
log "moves of game $game_id in PostgreSQL"
counts=$("${COMPOSE[@]}" exec -T postgres psql -U connect4 -d connect4 -Atc \
  "select count(*), count(distinct move_number), min(move_number), max(move_number)
     from moves where game_id = '$game_id'")
echo "count|distinct|first|last = $counts"
[ "$counts" = "$moves|$moves|1|$moves" ] || die "expected $moves moves numbered 1..$moves, each once"

log "connect4-arena verify over the audit volumes of app1, app2, app3"
mounts=() files=()
for service in app1 app2 app3; do
  volume=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data/audit"}}{{.Name}}{{end}}{{end}}' \
    "$("${COMPOSE[@]}" ps -aq "$service")")
  mounts+=(-v "$volume:/audit/$service:ro")
  files+=("/audit/$service/events-$service.jsonl")
done
timeout 120 docker run --rm "${mounts[@]}" "$image" verify "${files[@]}"

log "compose test passed"

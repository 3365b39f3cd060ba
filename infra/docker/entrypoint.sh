#!/bin/sh
# Entry point of the connect4-arena container.
#
# Fills in what an orchestrator cannot pass as one ready-made variable, then replaces
# itself with the server (exec), so SIGTERM reaches the server directly and it drains.
#
#   DATABASE_URL  used as given when set. Otherwise, when DB_HOST is set, assembled as
#                 postgres://DB_USER:DB_PASSWORD@DB_HOST:DB_PORT/DB_NAME[?DB_OPTIONS]
#                 with user and password percent-encoded (DB_PORT defaults to 5432,
#                 DB_NAME to connect4; DB_OPTIONS e.g. sslmode=require). This lets the
#                 password come from a secret store as its own variable.
#   INSTANCE_ID   used as given when set. Otherwise, on Amazon ECS, the task id (from
#                 the task metadata endpoint), so every task appends to its own audit
#                 file even when tasks share the audit volume. Elsewhere the server
#                 falls back to the host name.
#
# Arguments are passed to the server: serve (default), migrate, verify <files...>.
set -eu

# Percent-encodes everything but RFC 3986 unreserved characters.
urlencode() {
    rest=$1
    out=
    while [ -n "$rest" ]; do
        tail=${rest#?}
        char=${rest%"$tail"}
        rest=$tail
        case $char in
            [A-Za-z0-9._~-]) out=$out$char ;;
            *) out=$out$(printf '%%%02X' "'$char") ;;
        esac
    done
    printf '%s' "$out"
}

if [ -z "${DATABASE_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
    : "${DB_USER:?DB_USER is required when DB_HOST is set}"
    : "${DB_PASSWORD:?DB_PASSWORD is required when DB_HOST is set}"
    DATABASE_URL="postgres://$(urlencode "$DB_USER"):$(urlencode "$DB_PASSWORD")@${DB_HOST}:${DB_PORT:-5432}/${DB_NAME:-connect4}"
    if [ -n "${DB_OPTIONS:-}" ]; then
        DATABASE_URL="${DATABASE_URL}?${DB_OPTIONS}"
    fi
    export DATABASE_URL
fi
# The parts are not needed any more; keep the password in one variable only.
unset DB_PASSWORD

if [ -z "${INSTANCE_ID:-}" ] && [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ]; then
    task_arn=$(curl -fsS --max-time 2 "${ECS_CONTAINER_METADATA_URI_V4}/task" 2>/dev/null \
        | tr -d '\n' \
        | sed -n 's/.*"TaskARN"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p') || task_arn=
    if [ -n "$task_arn" ]; then
        INSTANCE_ID=${task_arn##*/}
        export INSTANCE_ID
    fi
fi

exec connect4-arena "$@"

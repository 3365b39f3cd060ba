#!/bin/sh
# Like the real image: redis-server runs as user redis and accepts connections from other
# containers without a password (the real image builds Redis with protected mode off).
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"

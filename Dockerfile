# Connect 4 Arena container image.
#
#   docker build -t connect4-arena .
#   docker run -p 8000:8000 connect4-arena                 # embedded mode (SQLite, in-memory hot state)
#   docker compose up --build                              # cluster: Redis, PostgreSQL, 3 replicas, nginx
#
# Needs BuildKit (the default builder since Docker 23; DOCKER_BUILDKIT=1 on 20.10) for
# the cache mounts. There is deliberately no `# syntax=` line: the builder's own Dockerfile
# frontend is used, so building needs no image but the two bases below.
#
# Stage 1 builds the release binary (migrations are compiled into it); stage 2 is a slim
# Debian with the binary, the web app and curl for the health check, run as a non-root user.

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /build

COPY Cargo.toml Cargo.lock ./
COPY migration/Cargo.toml migration/Cargo.toml
COPY src src
# The manifest names the solver bench; cargo refuses a manifest whose targets are missing.
COPY benches benches
COPY migration/src migration/src

# BuildKit cache mounts keep the crates.io downloads and the compiled dependencies from
# one build to the next, so a source-only change recompiles just the two local crates.
# The crate roots are touched because a copied file may carry an older mtime than the
# cached build, and cargo would then keep a stale binary. The binary is copied out of
# the cache: a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/build/target,sharing=locked \
    touch src/lib.rs src/main.rs migration/src/lib.rs \
 && cargo build --release --locked --bin connect4-arena \
 && install -m 0755 target/release/connect4-arena /usr/local/bin/connect4-arena \
 && /usr/local/bin/connect4-arena --help >/dev/null


FROM debian:${DEBIAN_RELEASE}-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so volumes (and the EFS access point of the AWS stack) can be owned by it.
RUN groupadd --system --gid 10001 connect4 \
 && useradd --system --uid 10001 --gid connect4 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin connect4 \
 && mkdir -p /app/data /data/audit \
 && chown -R connect4:connect4 /app/data /data

COPY --from=builder /usr/local/bin/connect4-arena /usr/local/bin/connect4-arena
COPY infra/docker/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh
COPY static /app/static

WORKDIR /app
# Without DATABASE_URL (or DB_HOST, see the entry point) and REDIS_URL the container runs
# embedded: SQLite under /app/data, hot state in memory. Set both for a cluster.
ENV STATIC_DIR=/app/static \
    AUDIT_DIR=/data/audit \
    BIND=0.0.0.0 \
    PORT=8000 \
    RUST_LOG=info
VOLUME ["/data/audit"]

USER connect4:connect4
EXPOSE 8000

# The server drains on SIGTERM (not-ready, sockets told to reconnect with close code
# 1012, audit log flushed) and exits within about 10 s: give it a stop timeout above that.
STOPSIGNAL SIGTERM

# Ready = Redis and the database answer and the instance is not draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/health/ready" || exit 1

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve"]

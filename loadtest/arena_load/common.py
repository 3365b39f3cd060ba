"""Paths, fixed addresses, logging and the setup error shared by every module."""

import os
import time

# The loadtest folder (k6 scripts, the TCP_NODELAY shim) and the repository.
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(HERE)
BINARY = os.path.join(REPO, "target", "release", "connect4-arena")
TEMPLATE = os.path.join(REPO, "infra", "nginx", "connect4.conf.template")
REPORT = os.path.join(REPO, "docs", "PERFORMANCE.md")
K6_SCENARIOS = ("rest_moves", "ws_games", "matchmaking", "soak", "abuse")
SCENARIOS = K6_SCENARIOS + ("idle",)
PG = dict(host="127.0.0.1", port="5432", user="postgres")
REDIS = ("127.0.0.1", 6379)


def log(message):
    print(f"[run.py {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SetupError(Exception):
    pass

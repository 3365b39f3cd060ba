"""Paths, fixed addresses, logging and the setup error shared by every module."""

import os
import time

# The loadtest folder (k6 scripts, the TCP_NODELAY shim) and the repository.
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(HERE)
BINARY = os.path.join(REPO, "target", "release", "connect4-arena")
TEMPLATE = os.path.join(REPO, "infra", "nginx", "connect4.conf.template")
REPORT = os.path.join(REPO, "docs", "PERFORMANCE.md")
K6_SCENARIOS = ("rest_moves", "ws_games", "lifecycle", "matchmaking", "soak", "abuse")
# Scenarios that are another scenario's script with fixed k6 variables: `lifecycle` is
# ws_games with two new players per game and 7 moves per game.
SCRIPT_OF = {"lifecycle": ("ws_games", {"MOVES_PER_GAME": "7", "NEW_PLAYERS": "1"})}
# Scenarios whose runs apply moves (and are verified move by move).
MOVE_SCENARIOS = ("rest_moves", "ws_games", "lifecycle")
# The processes that serve the players; "server CPU per move" sums these (the load
# generator, k6, is left out).
SERVER_GROUPS = ("nginx", "redis-server", "postgres (this run)")
SCENARIOS = K6_SCENARIOS + ("idle",)
PG = dict(host="127.0.0.1", port="5432", user="postgres")
REDIS = ("127.0.0.1", 6379)


def log(message):
    print(f"[run.py {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SetupError(Exception):
    pass

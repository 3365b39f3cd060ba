#!/usr/bin/env python3
"""Load-test runner: stands a Connect 4 Arena cluster up on loopback, loads it with one
k6 scenario, checks that no acknowledged move was lost or doubled, and records the
figures in docs/PERFORMANCE.md.

    python3 loadtest/run.py <scenario> [--instances N] [--duration 60s] [--vus N] ...

The runner itself is the package `arena_load/` next to this file (one concern per
module: see its __init__.py); `--help` lists the scenarios and flags.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from arena_load.cli import main  # noqa: E402  (the package is found through the line above)

if __name__ == "__main__":
    sys.exit(main())

"""The load-test runner behind `loadtest/run.py`, one concern per module:

- `cli`: the command line (flags, signals, exit status); its docstring says what a run does;
- `runner`: one run from start to end (run folder, database, Redis prefix, clean-up);
- `scenarios`: the idle scenario and the k6 scenarios, driven and measured;
- `cluster`: the release binary, the server instances and nginx in front of them;
- `clients`: small clients of HTTP, Redis (RESP) and PostgreSQL (psql);
- `procstats`: CPU and RSS of processes from /proc, the sampler thread;
- `profiling`: Redis MONITOR and strace samples taken in the middle of a run;
- `metrics`: the instances' `/metrics` parsed, histogram quantiles;
- `verify`: acknowledged moves against PostgreSQL and the audit logs, matches, log findings;
- `report`: figures formatted and written into docs/PERFORMANCE.md;
- `common`: paths, fixed addresses, logging, the setup error.

Python standard library only.
"""

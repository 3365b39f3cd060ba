"""CPU and memory of processes from /proc: per-process times, machine load, the sampler thread."""

import os
import re
import threading
import time

from .clients import http_get
from .common import log
from .metrics import parse_metrics

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


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


CLIENT_BACKEND = re.compile(r"\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]|autovacuum worker")


def postgres_pids_of(db):
    """The PostgreSQL processes working for database `db`: its client backends and
    autovacuum workers, plus the server-wide ones (postmaster, WAL writer, checkpointer,
    ...), but not the backends of other databases — other work on the machine (test
    suites on the same server) stays out of this run's figures."""
    pids = []
    for pid in pids_named("postgres"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if db in cmdline or not CLIENT_BACKEND.search(cmdline):
            pids.append(pid)
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

"""Optional profiles taken in the middle of a run: Redis MONITOR by client, strace of socket writes."""

import os
import re
import signal
import socket
import subprocess
import time

from .common import PG, REDIS


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


def perf_profile(seconds, out_dir, instance_pids):
    """Samples every CPU of the machine with `perf record` (cpu-clock, 499 Hz) for
    `seconds` and writes flat reports into out_dir: CPU by command (thread name: the
    instances' threads are `tokio-rt-worker`), the instances' CPU by library and by
    symbol (percentages of the instances' samples), and everything by symbol. Returns the
    report file names."""
    os.makedirs(out_dir, exist_ok=True)
    data = os.path.join(out_dir, "perf.data")
    subprocess.run(["perf", "record", "-a", "-e", "cpu-clock", "-F", "499", "-o", data, "--", "sleep", str(seconds)],
                   capture_output=True, check=True)
    instances = ["--pid", ",".join(str(p) for p in instance_pids), "--percentage", "relative"]
    reports = {
        "perf-by-process.txt": ["--sort", "comm"],
        "perf-instances-by-dso.txt": instances + ["--sort", "dso"],
        "perf-instances.txt": instances + ["--sort", "dso,sym"],
        "perf-all.txt": ["--sort", "comm,dso,sym"],
    }
    for name, extra in reports.items():
        with open(os.path.join(out_dir, name), "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio", "--percent-limit", "0.3"] + extra,
                           stdout=f, stderr=subprocess.DEVNULL)
    os.remove(data)
    return [os.path.join(out_dir, name) for name in reports]

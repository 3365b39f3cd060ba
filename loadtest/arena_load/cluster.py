"""The cluster under test: the release binary, the server instances and nginx in front of them."""

import os
import resource
import shutil
import signal
import subprocess
import time

from .clients import free_port, http_get
from .common import BINARY, REPO, SetupError, TEMPLATE, log
from .procstats import children_of


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

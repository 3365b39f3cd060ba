"""A private Redis Cluster for one run (`--redis-cluster N`): N primaries on loopback, no replicas.

The nodes live in the run folder and are stopped with the run, so the run's Redis
figures (commands per move, CPU) count these nodes only, and the report shows how the
games' keys and broadcasts spread over them.
"""

import os
import shutil
import subprocess
import time

from .clients import free_port, redis_command
from .common import SetupError, log


class RedisCluster:
    def __init__(self, run_dir, nodes):
        if nodes < 3:
            raise SetupError("a Redis Cluster needs at least 3 primaries")
        self.dir = os.path.join(run_dir, "redis-cluster")
        self.nodes = nodes
        self.ports = []
        self.procs = []

    @property
    def addresses(self):
        return [("127.0.0.1", port) for port in self.ports]

    def url(self):
        """The instances' REDIS_URL: every node, comma-separated."""
        return ",".join(f"redis://127.0.0.1:{port}" for port in self.ports)

    def start(self):
        if not shutil.which("redis-server") or not shutil.which("redis-cli"):
            raise SetupError("redis-server and redis-cli are needed for --redis-cluster")
        os.makedirs(self.dir, exist_ok=True)
        while len(self.ports) < self.nodes:
            port = free_port()
            if port < 55535 and port not in self.ports:  # the cluster bus listens on port + 10000
                self.ports.append(port)
        for port in self.ports:
            self.procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", f"nodes-{port}.conf", "--save", "", "--appendonly", "no",
                 "--dir", self.dir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for address in self.addresses:
            self._wait(address, lambda a: redis_command("PING", addr=a) == "PONG", "answer PING")
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"{h}:{p}" for h, p in self.addresses],
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True)
        if created.returncode != 0:
            raise SetupError(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        for address in self.addresses:
            self._wait(address, lambda a: "cluster_state:ok" in redis_command("CLUSTER", "INFO", addr=a),
                       "reach cluster_state:ok")
        log(f"Redis Cluster of {self.nodes} primaries on ports {', '.join(map(str, self.ports))}")

    @staticmethod
    def _wait(address, ready, what):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if ready(address):
                    return
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        raise SetupError(f"Redis Cluster node {address[1]} did not {what}")

    def pids(self):
        return [p.pid for p in self.procs if p.poll() is None]

    def keys(self):
        """Keys held by each node, in node order."""
        return [redis_command("DBSIZE", addr=address) for address in self.addresses]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

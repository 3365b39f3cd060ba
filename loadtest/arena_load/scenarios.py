"""The scenarios: idle (start-up, idle RSS, shutdown) and the k6 ones, driven and measured."""

import json
import os
import subprocess
import time

from .clients import http_get, pg_db_stats, redis_commandstats
from .common import HERE, MOVE_SCENARIOS, SCRIPT_OF, log
from .metrics import histogram_quantiles, parse_metrics
from .profiling import perf_profile, redis_client_ports, redis_monitor, strace_writes
from .report import counter, fmt, headline_text, parse_duration, server_cpu_per_move, trend
from .verify import read_console, verify_matches, verify_moves


def redis_node_stats(ctx):
    """`INFO commandstats` of every Redis node of the run: the shared Redis, or each node of --redis-cluster."""
    cluster = ctx.get("redis_cluster")
    return [redis_commandstats(address) for address in cluster.addresses] if cluster else [redis_commandstats()]


def summed(node_stats):
    """Calls and microseconds per command, added over the nodes."""
    total = {}
    for stats in node_stats:
        for name, (calls, usec) in stats.items():
            prev_calls, prev_usec = total.get(name, (0, 0))
            total[name] = (prev_calls + calls, prev_usec + usec)
    return total


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
    script_name, fixed_env = SCRIPT_OF.get(args.scenario, (args.scenario, {}))
    script = os.path.join(HERE, f"{script_name}.js")
    summary_file = os.path.join(run_dir, "k6-summary.json")
    console_file = os.path.join(run_dir, "k6-console.jsonl")
    base_url = f"http://127.0.0.1:{nginx.port}"
    k6_env = dict(os.environ)
    k6_env.update({"BASE_URL": base_url, "DURATION": args.duration, "SUMMARY_FILE": summary_file,
                   "THINK_MS": str(args.think_ms), "K6_NO_USAGE_REPORT": "true"})
    k6_env.update(fixed_env)
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
    if args.direct and args.scenario in ("ws_games", "lifecycle"):
        ctx["where_text"] = (" behind nginx for REST; the two sockets of each game connect directly to two different "
                             "instances" if len(instances) > 1 else ", sockets connect directly")
    elif args.direct and args.scenario == "soak":
        ctx["where_text"] = ", sockets connect directly to the instance(s), no nginx"

    ctx["redis_nodes_before"] = redis_node_stats(ctx)
    redis_before = summed(ctx["redis_nodes_before"])
    pg_before = pg_db_stats(db)
    metrics_before = [parse_metrics(http_get(i.port, "/metrics")[1]) for i in instances]
    sampler.start()
    cmd = [k6, "run", "--quiet", "--log-format", "raw", "--console-output", console_file, script]
    if args.local_ips:
        cmd[2:2] = ["--local-ips", f"127.0.0.2-127.0.0.{args.local_ips + 1}"]
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
    if args.perf and args.scenario != "soak":
        try:
            proc.wait(timeout=max(5.0, duration_s / 2 - args.perf / 2))
        except subprocess.TimeoutExpired:
            out_dir = os.path.join(args.workdir, "profiles", os.path.basename(run_dir))
            files = perf_profile(args.perf, out_dir, [i.proc.pid for i in instances])
            log("perf reports: " + ", ".join(files))
            ctx["notes"].append(f"perf profile ({args.perf:g} s, whole machine): `{out_dir}`.")
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
    ctx["load"] = os.getloadavg()
    log(f"k6 exited with {k6_code} after {t_end - t_start:.1f} s")
    metrics_after_text = [http_get(i.port, "/metrics")[1] for i in instances]
    metrics_after = [parse_metrics(t) for t in metrics_after_text]
    with open(os.path.join(run_dir, "metrics-after.txt"), "w") as f:
        f.write("\n".join(metrics_after_text))
    redis_nodes_after = redis_node_stats(ctx)
    redis_after = summed(redis_nodes_after)
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
    procs += [(name, sampler.usage(name, w0, w1)) for name in ("nginx", "redis-server", "postgres (this run)",
                                                                "postgres (all)", "k6", "machine (all processes)")]
    machine = sampler.usage("machine (all processes)", w0, w1)
    if machine:
        ours = sum(u["cpu_avg"] for name, u in procs
                   if u and not name.startswith("machine") and name != "postgres (this run)")
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

    if args.scenario in MOVE_SCENARIOS:
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
        cluster = ctx.get("redis_cluster")
        if cluster:
            parts = []
            for port, before, after, keys in zip(cluster.ports, ctx["redis_nodes_before"], redis_nodes_after,
                                                 cluster.keys()):
                calls = {k: after[k][0] - before.get(k, (0, 0))[0] for k in ("spublish", "evalsha") if k in after}
                parts.append(f"{port}: {fmt(calls.get('spublish', 0))} / {fmt(calls.get('evalsha', 0))} / {fmt(keys)}")
            rows.append(("Redis Cluster, per node: `SPUBLISH` (game broadcasts) / `EVALSHA` (lock-and-load, "
                         "commit) / keys at the end", "; ".join(parts)))
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
        headline = server_cpu_per_move(procs, [i.name for i in instances], mean_rate)
        if headline:
            ctx["headline"] = headline
            rows.insert(0, ("**server CPU per move** (instances + nginx + Redis + this run's PostgreSQL processes, "
                            "k6 excluded; steady-window CPU ÷ moves/s)", headline_text(headline)))
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
        t = trend(summary, "soak_broadcast_ms")
        if t:
            played = counter(summary, "soak_broadcast_moves")
            watchers = next((e.split("=", 1)[1] for e in args.env if e.startswith("WATCHERS=")), "?")
            rows.append(("broadcast of a move to the watchers of one game: deliveries received / expected "
                         "(moves × watchers)", f"{fmt(int(t['count']))} / {fmt(played)} × {watchers}"))
            rows.append(("… move time on the server → a watcher receives it, p50 / p95 / p99 / max (ms)",
                         f"{fmt(t['med'], 1)} / {fmt(t['p(95)'], 1)} / {fmt(t['p(99)'], 1)} / {fmt(t['max'], 0)}"))
        delivery_q = histogram_quantiles(metrics_after, "c4_broadcast_delivery_seconds")
        if delivery_q:
            rows.append(("… broadcast reaches the instance → its frame written to a local socket, p50 / p95 / p99 "
                         "(ms, servers' `c4_broadcast_delivery_seconds`, histogram estimate)",
                         " / ".join(fmt(delivery_q.get(q, 0) * 1000, 2) for q in (0.5, 0.95, 0.99))))
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
    rows.append(("machine load average 1 / 5 / 15 min when the load ended (`uptime`)",
                 " / ".join(f"{x:.2f}" for x in ctx["load"])))
    if http_failed:
        rows.append(("HTTP requests failed (k6 `http_req_failed`)",
                     f"{http_failed.get('passes', 0)} of {http_failed.get('passes', 0) + http_failed.get('fails', 0)}"))
    if rejected:
        rows.append(("moves refused by the servers (`c4_moves_rejected_total`)", fmt(int(rejected))))
    ctx["title"] = {"rest_moves": "REST moves", "ws_games": "WebSocket games",
                    "lifecycle": "Full lifecycle (register two, create, join, 7 WebSocket moves)",
                    "matchmaking": "Matchmaking bursts",
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
        if args.scenario in MOVE_SCENARIOS:
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

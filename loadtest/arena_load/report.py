"""Formatting figures and writing a run's section into docs/PERFORMANCE.md."""

import json
import os
import re
import subprocess

from .common import REPO, REPORT, SERVER_GROUPS, SetupError

RUNS_BEGIN = "<!-- loadtest runs: begin (sections below are rewritten by loadtest/run.py) -->"
RUNS_END = "<!-- loadtest runs: end -->"


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
    if args.local_ips:
        parts.append(f"--local-ips {args.local_ips}")
    if args.scenario == "idle":
        parts.append(f"--idle-seconds {args.idle_seconds:g}")
    if args.server_nodelay:
        parts.append("--server-nodelay")
    if args.pg_sslmode:
        parts.append(f"--pg-sslmode {args.pg_sslmode}")
    if args.pg_socket:
        parts.append(f"--pg-socket {args.pg_socket}")
    if args.strace:
        parts.append(f"--strace {args.strace:g}")
    if args.perf:
        parts.append(f"--perf {args.perf:g}")
    if args.profile_redis:
        parts.append(f"--profile-redis {args.profile_redis:g}")
    if args.nginx_workers != 1:
        parts.append(f"--nginx-workers {args.nginx_workers}")
    parts += [f"--env {e}" for e in args.env] + [f"--server-env {e}" for e in args.server_env]
    if args.label:
        parts.append(f"--label {args.label}")
    return " ".join(parts)


def server_cpu_per_move(procs, instance_names, moves_per_s):
    """The headline: milliseconds of server CPU (instances, nginx, Redis, this run's
    PostgreSQL processes; k6 excluded) per move, from the steady window's CPU averages
    and move rate, with its split by process. None without moves."""
    if not moves_per_s:
        return None
    usage = dict(procs)
    split = {}
    for name in list(instance_names) + list(SERVER_GROUPS):
        u = usage.get(name)
        if u:
            split[name] = 10.0 * u["cpu_avg"] / moves_per_s  # (cpu % / 100) s per s / moves per s, in ms
    instances = sum(split.get(name, 0.0) for name in instance_names)
    return {"total_ms": sum(split.values()), "instances_ms": instances, "split_ms": split,
            "moves_per_s": moves_per_s}


def headline_text(headline):
    parts = [f"instances {headline['instances_ms']:.3f}"]
    parts += [f"{name} {ms:.3f}" for name, ms in headline["split_ms"].items() if not re.fullmatch(r"i\d+", name)]
    return f"{headline['total_ms']:.3f} ms ({', '.join(parts)})"


def write_result(workdir, key, run_id, ctx, status):
    """The run's figures as JSON (results/<section>-<run id>.json under the work folder)."""
    folder = os.path.join(workdir, "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{key}-{run_id}.json")
    result = {"section": key, "run_id": run_id, "status": status, "when": ctx.get("when"),
              "commit": ctx.get("commit"), "command": ctx.get("command"), "title": ctx.get("title"),
              "server_cpu_per_move": ctx.get("headline"), "throughput_moves_per_s": ctx.get("throughput"),
              "rows": dict(ctx.get("rows", [])), "processes": {name: u for name, u in ctx.get("procs", []) if u},
              "verification": ctx.get("verification"), "load": ctx.get("load")}
    with open(path, "w") as f:
        json.dump(result, f, indent=1, default=str)
    return path

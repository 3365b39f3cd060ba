"""Checks after the load: acknowledged moves in PostgreSQL and the audit logs exactly once, matches, log findings."""

import json
import os
import re
import subprocess

from .clients import psql


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

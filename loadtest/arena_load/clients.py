"""Small clients of the services a run talks to: free ports, HTTP GET, Redis over RESP, psql."""

import http.client
import re
import socket
import subprocess
import time

from .common import PG, REDIS, SetupError, log


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2.0):
    """(status, body) of GET http://127.0.0.1:port/path; (0, error) when unreachable."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read().decode("utf-8", "replace")
    except OSError as err:
        return 0, str(err)
    finally:
        conn.close()


def redis_command(*args, sock=None, addr=REDIS):
    """One Redis command over RESP (to `addr`, unless `sock` is given); returns the decoded reply."""
    own = sock is None
    if own:
        sock = socket.create_connection(addr, timeout=10)
    try:
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
        sock.sendall(payload)
        reader = sock.makefile("rb")
        return _resp_read(reader)
    finally:
        if own:
            sock.close()


def _resp_read(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(reader) for _ in range(n)]
    raise RuntimeError(f"unexpected Redis reply {line!r}")


def redis_commandstats(addr=REDIS):
    text = redis_command("INFO", "commandstats", addr=addr)
    stats = {}
    for line in text.splitlines():
        m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if m:
            stats[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return stats


def redis_delete_prefix(prefix):
    sock = socket.create_connection(REDIS, timeout=30)
    deleted = 0
    try:
        cursor = "0"
        while True:
            cursor, keys = redis_command("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000, sock=sock)
            if keys:
                deleted += redis_command("UNLINK", *keys, sock=sock)
            if cursor == "0":
                break
    finally:
        sock.close()
    return deleted


def psql(sql, db="postgres"):
    """Rows of a query as lists of strings (tab-separated output of psql -At)."""
    cmd = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-At", "-F", "\t",
           "-v", "ON_ERROR_STOP=1", "-c", sql]
    for attempt in range(20):
        out = subprocess.run(cmd, capture_output=True, text=True)
        # PostgreSQL's connection slots are shared with everything else on the machine.
        if out.returncode == 0 or "too many clients" not in out.stderr:
            break
        time.sleep(0.5 + attempt * 0.25)
    if out.returncode != 0:
        raise SetupError(f"psql failed: {out.stderr.strip()} (query: {sql[:120]})")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def pg_db_stats(db):
    try:
        return _pg_db_stats(db)
    except SetupError as err:
        log(f"pg_stat_database not read: {err}")
        return {}


def _pg_db_stats(db):
    rows = psql("select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, tup_returned, "
                f"blks_hit, blks_read from pg_stat_database where datname = '{db}'")
    keys = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_fetched", "tup_returned",
            "blks_hit", "blks_read")
    return dict(zip(keys, (int(x) for x in rows[0]))) if rows else {}

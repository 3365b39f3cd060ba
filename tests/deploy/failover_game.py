#!/usr/bin/env python3
"""Plays one full game through the load balancer of a running compose cluster, killing
the replica that holds one player's socket halfway through.

Run by compose_test.sh once every service is healthy. It registers two players, starts
a game, connects both over WebSocket through nginx until they sit on different replicas
(told by each replica's c4_open_sockets, then confirmed by the audit files: a move is
written by the instance that received it, into its own file; compose names each
replica's INSTANCE_ID after its service), plays four moves, `docker kill`s the replica
of the first player, reconnects that player through nginx (to a surviving replica),
and finishes the game with a four in a row. Every step has a deadline. On success it prints
`GAME <game id> <number of moves>` as its last line.

Environment: C4_BASE_URL (http://127.0.0.1:<port>), C4_COMPOSE (the compose command,
e.g. "docker compose" or "docker-compose"), COMPOSE_PROJECT_NAME.
"""

import asyncio
import json
import os
import secrets
import shlex
import subprocess
import time
import urllib.request

import websockets

BASE = os.environ["C4_BASE_URL"]
COMPOSE = shlex.split(os.environ["C4_COMPOSE"])
REPLICAS = ["app1", "app2", "app3"]
STEP_DEADLINE = 20.0  # seconds for any one step: an answer, a broadcast, an audit line


def log(message):
    print(f"[failover] {message}", flush=True)


def fail(message):
    raise SystemExit(f"[failover] FAILED: {message}")


def rest(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=STEP_DEADLINE) as response:
        return json.loads(response.read())


def compose(*args, check=True):
    return subprocess.run(
        COMPOSE + list(args), check=check, capture_output=True, text=True, timeout=60
    )


def container_of(service):
    return compose("ps", "-aq", service).stdout.strip()


def is_running(container):
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", container],
        capture_output=True, text=True, timeout=30,
    )
    return state.stdout.strip() == "true"


def instance_of_move(game_id, move_number):
    """The replica whose audit file holds this move: the one that received it."""
    deadline = time.monotonic() + STEP_DEADLINE
    while time.monotonic() < deadline:
        for service in REPLICAS:
            if not is_running(container_of(service)):
                continue
            lines = compose("exec", "-T", service, "sh", "-c", "cat /data/audit/*.jsonl", check=False)
            for line in lines.stdout.splitlines():
                event = json.loads(line)
                if (
                    event.get("event") == "move"
                    and event.get("game_id") == game_id
                    and event.get("data", {}).get("move_number") == move_number
                ):
                    return event["instance"]
        time.sleep(0.3)
    fail(f"move {move_number} of game {game_id} is in no running replica's audit file")


class Seat:
    """One player's WebSocket through nginx, keeping the last seq seen."""

    def __init__(self, name, token, game_id):
        self.name, self.token, self.game_id = name, token, game_id
        self.socket = None
        self.seq = 0
        self.board = None

    async def connect(self):
        url = BASE.replace("http", "ws", 1) + f"/ws/{self.game_id}"
        self.socket = await asyncio.wait_for(websockets.connect(url), STEP_DEADLINE)
        await self.socket.send(json.dumps({"action": "identify", "token": self.token}))
        await self.expect(lambda m: m.get("type") == "identified", "identified")
        state = await self.expect(lambda m: m.get("type") == "state", "state")
        self.seq, self.board = state["seq"], state["board"]

    async def expect(self, wanted, what):
        """Reads messages until one matches; moves and states update seq on the way."""
        async def read():
            while True:
                message = json.loads(await self.socket.recv())
                if message.get("type") in ("state", "move", "game_over") and "seq" in message:
                    self.seq = max(self.seq, message["seq"])
                    self.board = message.get("board", self.board)
                if message.get("type") == "error":
                    fail(f"{self.name} got an error: {message}")
                if wanted(message):
                    return message

        try:
            return await asyncio.wait_for(read(), STEP_DEADLINE)
        except asyncio.TimeoutError:
            fail(f"{self.name} waited {STEP_DEADLINE} s for {what}")

    async def move(self, column):
        await self.socket.send(json.dumps({"action": "move", "column": column}))

    async def closed_by_server(self):
        """Waits until the server side (nginx) closes the socket; returns the close code."""
        try:
            await asyncio.wait_for(self.socket.wait_closed(), STEP_DEADLINE)
        except asyncio.TimeoutError:
            fail(f"{self.name}'s socket stayed open {STEP_DEADLINE} s after its replica died")
        return self.socket.close_code


def open_sockets():
    """WebSocket connections open on each running replica, from its own /metrics."""
    counts = {}
    for service in REPLICAS:
        if not is_running(container_of(service)):
            continue
        metrics = compose("exec", "-T", service, "curl", "-fsS", "http://127.0.0.1:8000/metrics")
        for line in metrics.stdout.splitlines():
            if line.startswith("c4_open_sockets{"):
                counts[service] = int(line.rsplit(" ", 1)[1])
    return counts


async def connect_placed(seat, avoid=None):
    """Connects through nginx until the socket lands on a replica other than `avoid`
    (round robin gets there within a few tries); returns the replica it is on."""
    for _ in range(8):
        before = open_sockets()
        await seat.connect()
        deadline = time.monotonic() + STEP_DEADLINE
        while (replica := next((s for s, n in open_sockets().items() if n > before.get(s, 0)), None)) is None:
            if time.monotonic() > deadline:
                fail(f"{seat.name}'s socket shows on no replica's c4_open_sockets")
            time.sleep(0.2)
        if replica != avoid:
            return replica
        log(f"{seat.name}'s socket landed on {replica} too; reconnecting")
        await seat.socket.close()
        while open_sockets().get(replica) != before.get(replica):
            if time.monotonic() > deadline:
                fail(f"{replica} still counts {seat.name}'s closed socket")
            time.sleep(0.2)
    fail(f"{seat.name}'s socket kept landing on {avoid}")


async def play_move(mover, other, column, move_number):
    await mover.move(column)
    is_move = lambda m: m.get("type") == "move" and m.get("move_count") == move_number
    event = await mover.expect(is_move, f"move {move_number}")
    await other.expect(is_move, f"move {move_number}")
    return event


async def main():
    suffix = secrets.token_hex(3)
    alice = rest("POST", "/players", {"username": f"alice_{suffix}", "password": "alice-pass-1"})
    bob = rest("POST", "/players", {"username": f"bob_{suffix}", "password": "bob-pass-12"})
    game = rest("POST", "/games", {}, alice["token"])
    game_id = game["game_id"]
    rest("POST", f"/games/{game_id}/join", None, bob["token"])
    log(f"players {alice['id']} and {bob['id']}, game {game_id}")

    a = Seat("alice", alice["token"], game_id)
    b = Seat("bob", bob["token"], game_id)
    alice_on = await connect_placed(a)
    bob_on = await connect_placed(b, avoid=alice_on)
    log(f"Alice's socket is on {alice_on}, Bob's on {bob_on}")

    # Alice (seat 1) fills column 0, Bob (seat 2) column 1: Alice wins on move 7.
    # The audit files confirm where each socket is: a move is written by its receiver.
    await play_move(a, b, 0, 1)
    await play_move(b, a, 1, 2)
    if (instance_of_move(game_id, 1), instance_of_move(game_id, 2)) != (alice_on, bob_on):
        fail("the audit files disagree with the socket counts on where the players are")
    await play_move(a, b, 0, 3)
    await play_move(b, a, 1, 4)

    victim = container_of(alice_on)
    log(f"docker kill {alice_on} ({victim[:12]}) with Alice's socket on it, 4 moves in")
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True, timeout=60)
    code = await a.closed_by_server()
    log(f"Alice's socket closed (code {code}); reconnecting through nginx")
    await a.connect()
    if a.seq < 1 or sum(cell != 0 for row in a.board for cell in row) != 4:
        fail(f"Alice's resync after reconnecting shows {a.board}")

    await play_move(a, b, 0, 5)
    alice_now = instance_of_move(game_id, 5)
    if alice_now == alice_on:
        fail(f"Alice reconnected to the killed replica {alice_on}")
    log(f"Alice now on {alice_now}")
    await play_move(b, a, 1, 6)
    last = await play_move(a, b, 0, 7)
    if last.get("winner") != 1:
        fail(f"move 7 should win for Alice: {last}")
    await a.expect(lambda m: m.get("type") == "game_over", "game_over")
    await b.expect(lambda m: m.get("type") == "game_over", "game_over")

    final = rest("GET", f"/games/{game_id}")
    if final["status"] != "finished" or final["winner_id"] != alice["id"] or final["move_count"] != 7:
        fail(f"the game as the API reports it: {final}")
    log("game finished: Alice won on move 7 after her replica was killed")
    await a.socket.close()
    await b.socket.close()
    print(f"GAME {game_id} 7")


if __name__ == "__main__":
    asyncio.run(main())

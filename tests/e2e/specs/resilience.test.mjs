// A game survives its instances: rolling restarts (sockets closed with 1012 come back
// at once on the other instance), a full outage (the board is disabled, then play
// resumes from the shared state), and a lost broadcast (the client notices the gap
// in `seq` and asks for a sync).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { sel, startGame } from "../helpers.mjs";

const arena = useArena();

describe("instances going away", () => {
  test("a rolling restart of both instances does not interrupt the game", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.drop(3);

    let discs = 1;
    for (const instance of arena.cluster.instances) {
      await instance.stop();
      await instance.start();
      // Whoever was connected to the restarted instance is back, on either instance.
      const mover = discs % 2 === 0 ? host : guest;
      await mover.drop(discs % 7);
      discs += 1;
      await (mover === host ? guest : host).waitForDiscs(discs);
    }
    assert.deepEqual(await host.readBoard(), await guest.readBoard());
  });

  test("during a full outage the board is disabled; afterwards play resumes where it was", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.drop(2);
    await guest.drop(2);

    await Promise.all(arena.cluster.instances.map((instance) => instance.stop()));
    try {
      for (const p of [host, guest]) {
        await p.waitForText("game-status", "Reconnecting…");
        assert.equal(await p.locator("board").getAttribute("data-disabled"), "true");
        await p.page.locator(`${sel("toast")}[data-key="connection"]`, { hasText: "Connection lost" }).waitFor({ state: "visible" });
      }
    } finally {
      for (const instance of arena.cluster.instances) await instance.start();
    }
    await host.waitForText("game-status", "Your turn", 30_000);
    await guest.waitForText("game-status", "Opponent's turn", 30_000);
    assert.equal(await host.locator("board").getAttribute("data-disabled"), "false");
    await host.waitForDiscs(2);
    await host.drop(4);
    await guest.waitForDiscs(3);
    assert.equal(await guest.cellValue(5, 4), 1);
  });
});

describe("a lost broadcast", () => {
  test("a gap in seq makes the client resync and show the full board", async () => {
    const { host, guest } = await arena.registeredPair();
    const sentByHost = [];
    let dropNextMove = false;
    await host.page.routeWebSocket(/\/ws\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        sentByHost.push(String(message));
        server.send(message);
      });
      server.onMessage((message) => {
        const event = JSON.parse(String(message));
        if (dropNextMove && event.type === "move") {
          dropNextMove = false;
          return;
        }
        ws.send(message);
      });
    });
    await startGame(host, guest);

    await host.waitForText("game-status", "Your turn");
    dropNextMove = true;
    await host.page.click(`${sel("board")} [data-row="0"][data-col="0"]`);
    await guest.waitForDiscs(1);
    assert.equal(await host.discCount(), 0, "the host never saw its own move");

    await guest.drop(6);
    await host.waitForDiscs(2);
    assert.equal(await host.cellValue(5, 0), 1);
    assert.equal(await host.cellValue(5, 6), 2);
    assert.ok(sentByHost.some((m) => JSON.parse(m).action === "sync"), "the host asked for a sync");
    await host.drop(0);
    await guest.waitForDiscs(3);
  });
});

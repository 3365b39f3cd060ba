// The move clock and abandonment, on a cluster with short limits (8 s per move, 2 s
// of grace for a disconnected seat) so that running out of time fits in a test.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { startCluster } from "../harness.mjs";
import { launchBrowser, Player, sel, startGame, uniqueName, waitForGameOver } from "../helpers.mjs";

const MOVE_LIMIT_SECS = 8;
let cluster;
let browser;
const players = [];

async function registeredPair() {
  const host = await Player.open(browser, cluster.instances[0].url);
  const guest = await Player.open(browser, cluster.instances[1].url);
  players.push(host, guest);
  await host.register(uniqueName("host"));
  await guest.register(uniqueName("guest"));
  return { host, guest };
}

const ringOffset = (p, seat) =>
  p.page.locator(`${sel(`player-card-${seat}`)} .ring-fill`).evaluate((el) => Number.parseFloat(el.style.strokeDashoffset));

before(async () => {
  cluster = await startCluster({ env: { MOVE_TIME_LIMIT_SECONDS: String(MOVE_LIMIT_SECS), ABANDON_GRACE_SECONDS: "2" } });
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(players.splice(0).map((p) => p.close()));
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

describe("the move clock", () => {
  test("the countdown ring runs down and the player out of time loses", async () => {
    const { host, guest } = await registeredPair();
    await startGame(host, guest);
    await host.drop(3);

    // Now yellow's clock runs, on both screens.
    await guest.waitForText("player-clock-2", /^\d+s$/);
    const early = await ringOffset(guest, 2);
    const earlySecs = Number.parseInt(await guest.text("player-clock-2"), 10);
    assert.ok(earlySecs <= MOVE_LIMIT_SECS && earlySecs >= MOVE_LIMIT_SECS - 3, `clock shows ${earlySecs}s`);
    await guest.page.waitForTimeout(2000);
    assert.ok((await ringOffset(guest, 2)) > early, "the ring shrinks as time passes");
    assert.ok(Number.parseInt(await host.text("player-clock-2"), 10) < earlySecs);
    // The other card shows the full time its player will have, standing still.
    assert.equal(await host.text("player-clock-1"), `${MOVE_LIMIT_SECS}s`);
    assert.equal(await host.locator("player-clock-1").getAttribute("data-running"), "false");

    await waitForGameOver(guest);
    await waitForGameOver(host);
    await guest.waitForText("game-over-title", "You lost on time");
    await host.waitForText("game-over-title", "You win on time!");
    assert.equal(await host.locator("game-over").getAttribute("data-reason"), "timeout");
    assert.equal(await host.text("player-clock-2"), "");
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });

  test("a game where nobody moves in time is aborted", async () => {
    const { host, guest } = await registeredPair();
    await startGame(host, guest);
    await waitForGameOver(host);
    await waitForGameOver(guest);
    await host.waitForText("game-over-title", "Game aborted");
    await guest.waitForText("game-over-title", "Game aborted");
    assert.equal(await host.locator("confetti").count(), 0);
  });
});

describe("abandonment", () => {
  test("a player who leaves and does not come back loses by abandonment", async () => {
    const { host, guest } = await registeredPair();
    await startGame(host, guest);
    await host.drop(0);
    await guest.drop(1);
    await host.page.waitForSelector(`${sel("player-card-2")}[data-online="true"]`);
    await guest.page.close();
    await host.page.waitForSelector(`${sel("player-card-2")}[data-online="false"]`);
    await waitForGameOver(host);
    await host.waitForText("game-over-title", "You win!");
    await host.waitForText("game-over-detail", /left the game/);
    assert.equal(await host.locator("game-over").getAttribute("data-reason"), "abandoned");
    host.assertNoConsoleErrors();
  });
});

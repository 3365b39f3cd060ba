// The move clock and abandonment, on a cluster with short limits (8 s per move, 2 s
// of grace for a disconnected seat) so that running out of time fits in a test.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { sel, startGame, waitForGameOver } from "../helpers.mjs";

const MOVE_LIMIT_SECS = 8;
const arena = useArena({ env: { MOVE_TIME_LIMIT_SECONDS: String(MOVE_LIMIT_SECS), ABANDON_GRACE_SECONDS: "2" } });

const ringOffset = (p, seat) =>
  p.page.locator(`${sel(`player-card-${seat}`)} .ring-fill`).evaluate((el) => Number.parseFloat(el.style.strokeDashoffset));

describe("the move clock", () => {
  test("the countdown ring runs down and the player out of time loses", async () => {
    const { host, guest } = await arena.registeredPair({ twoInstances: true });
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
    const { host, guest } = await arena.registeredPair({ twoInstances: true });
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
    const { host, guest } = await arena.registeredPair({ twoInstances: true });
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

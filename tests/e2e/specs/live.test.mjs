// Live behaviour through nginx (round robin, no stickiness): refresh mid-game,
// an opponent who leaves, spectators, resigning, and matchmaking.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { sel, startGame, uniqueName, waitForGameOver } from "../helpers.mjs";

const arena = useArena();

describe("refresh and presence", () => {
  test("a refresh mid-game restores the board and play goes on", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.drop(3);
    await guest.drop(3);
    await host.drop(4);
    // The host's last move must have reached the guest before its board is the reference.
    await guest.waitForDiscs(3);
    const before = await guest.readBoard();

    await guest.page.reload();
    await guest.waitForScreen("game");
    await guest.waitForDiscs(3);
    assert.deepEqual(await guest.readBoard(), before);
    await guest.waitForText("game-status", "Your turn");
    await guest.waitForText("player-name-2", `${guest.name} (you)`);

    await guest.drop(4);
    await host.waitForDiscs(4);
    assert.equal(await host.cellValue(4, 4), 2);

    // A refresh on the player's turn too, then the same player keeps playing.
    await host.page.reload();
    await host.waitForScreen("game");
    await host.waitForDiscs(4);
    await host.drop(5);
    await guest.waitForDiscs(5);
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });

  test("a new tab of a logged-in player resumes the unfinished game", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.drop(2);
    // Same storage, fresh tab: no screen stored for this tab, the active game is found.
    const tab = await host.context.newPage();
    host.attach(tab);
    await tab.goto("/");
    await tab.locator(`${sel("screen-game")}:not([hidden])`).waitFor();
    await tab.waitForFunction((s) => document.querySelectorAll(`${s} .cell.p1`).length === 1, sel("board"));
    await tab.close();
  });

  test("when the opponent leaves, the player sees them offline and a toast", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.page.waitForSelector(`${sel("player-card-2")}[data-online="true"]`);
    await guest.page.close();
    await host.page.waitForSelector(`${sel("player-card-2")}[data-online="false"]`);
    await host.waitForText("player-presence-2", /^Offline/);
    const toast = host.page.locator(`${sel("toast")}`, { hasText: "Opponent left" });
    await toast.waitFor({ state: "visible" });
    host.assertNoConsoleErrors();
  });
});

describe("idle taunts", () => {
  test("a player who sits on their turn for 15 s gets teased until they move", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.page.waitForTimeout(12_000);
    assert.equal(await host.locator("taunt").count(), 0, "no taunt before 15 s");
    await host.locator("taunt").first().waitFor({ state: "attached", timeout: 8_000 });
    await host.page.locator(`${sel("toast")}[data-key="taunt"]`).waitFor({ state: "visible" });
    assert.equal(await guest.locator("taunt").count(), 0, "the waiting player is not teased");
    await host.drop(3);
    assert.equal(await host.locator("taunt").count(), 0, "taunts stop with the move");
  });
});

describe("spectators", () => {
  test("a spectator sees the moves live, the viewer count, and no controls", async () => {
    const { host, guest } = await arena.registeredPair();
    const gameId = await startGame(host, guest);
    await host.drop(3);

    const watcher = await arena.open();
    await watcher.register(uniqueName("fan"));
    const item = watcher.page.locator(`${sel("live-game")}[data-game-id="${gameId}"]`);
    await item.waitFor({ state: "visible", timeout: 10_000 });
    await item.locator(sel("watch-game")).click();
    await watcher.waitForScreen("game");
    await watcher.locator("spectator-banner").waitFor({ state: "visible" });
    await watcher.waitForDiscs(1);
    assert.equal(await watcher.locator("resign").isVisible(), false);
    await watcher.waitForText("game-status", `${guest.name} to move`);
    await watcher.waitForText("viewer-count-value", "1");

    // An anonymous spectator through a ?watch= link.
    const anonymous = await arena.open({ path: `/?watch=${gameId}` });
    await anonymous.waitForScreen("game");
    await anonymous.waitForDiscs(1);
    await anonymous.waitForText("viewer-count-value", "2");

    await guest.drop(2);
    await watcher.waitForDiscs(2);
    await anonymous.waitForDiscs(2);
    assert.equal(await watcher.cellValue(5, 2), 2);

    // Clicks and keys of a spectator do nothing.
    await watcher.page.click(`${sel("board")} [data-row="0"][data-col="6"]`, { force: true });
    await watcher.page.keyboard.press("7");
    await watcher.page.waitForTimeout(500);
    assert.equal(await host.discCount(), 2);
    await watcher.screenshot("spectator");

    // A refresh keeps watching.
    await anonymous.page.reload();
    await anonymous.waitForScreen("game");
    await anonymous.waitForDiscs(2);

    await host.drop(3);
    await guest.drop(2);
    await host.drop(3);
    await guest.drop(2);
    await host.drop(3);
    await waitForGameOver(watcher);
    await watcher.waitForText("game-over-title", `${host.name} wins!`);
    assert.equal(await watcher.locator("rematch").isVisible(), false);
    assert.equal(await watcher.locator("confetti").count(), 0);
    for (const p of [host, guest, watcher, anonymous]) p.assertNoConsoleErrors();
  });
});

describe("resigning", () => {
  test("resigning asks for confirmation and ends the game for both", async () => {
    const { host, guest } = await arena.registeredPair();
    await startGame(host, guest);
    await host.drop(0);

    await guest.page.click(sel("resign"));
    await guest.locator("resign-dialog").waitFor({ state: "visible" });
    await guest.page.click(sel("resign-cancel"));
    await guest.locator("resign-dialog").waitFor({ state: "hidden" });
    await guest.page.waitForTimeout(300);
    assert.equal(await guest.locator("game-over").isVisible(), false);

    await guest.page.click(sel("resign"));
    await guest.page.click(sel("resign-confirm"));
    await waitForGameOver(guest);
    await waitForGameOver(host);
    await guest.waitForText("game-over-title", "You resigned");
    await host.waitForText("game-over-title", "You win!");
    await host.waitForText("game-over-detail", /resigned/);
    assert.equal(await host.locator("game-over").getAttribute("data-reason"), "resign");
    assert.equal(await host.locator("confetti").count(), 1);
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("matchmaking", () => {
  test("two players looking for an opponent are paired into one game", async () => {
    const { host: a, guest: b } = await arena.registeredPair();
    await a.page.click(sel("find-opponent"));
    await a.locator("matchmaking-card").waitFor({ state: "visible" });
    await a.locator("matchmaking-spinner").waitFor({ state: "visible" });
    assert.equal(await a.locator("find-opponent").isDisabled(), true);
    await a.waitForText("find-opponent", "Searching…");

    await b.page.click(sel("find-opponent"));
    await a.waitForScreen("game");
    await b.waitForScreen("game");
    await a.page.waitForFunction(() => /turn/.test(document.querySelector('[data-testid="game-status"]').textContent));
    const statuses = [await a.status(), await b.status()].sort();
    assert.deepEqual(statuses, ["Opponent's turn", "Your turn"]);
    const names = [await a.text("player-name-1"), await a.text("player-name-2")].join(" ");
    assert.match(names, new RegExp(a.name));
    assert.match(names, new RegExp(b.name));
    a.assertNoConsoleErrors();
    b.assertNoConsoleErrors();
  });

  test("a search the server lost (Redis restarted) joins the queue again by itself", async () => {
    const { host: a, guest: b } = await arena.registeredPair();
    await a.page.click(sel("find-opponent"));
    await a.locator("matchmaking-spinner").waitFor({ state: "visible" });
    arena.cluster.dropQueue();
    // The next poll finds no entry; the app rejoins, and a newcomer is paired with it.
    await a.page.waitForTimeout(2500);
    assert.equal(await a.locator("matchmaking-spinner").isVisible(), true);
    await b.page.click(sel("find-opponent"));
    await a.waitForScreen("game");
    await b.waitForScreen("game");
    a.assertNoConsoleErrors();
    b.assertNoConsoleErrors();
  });

  test("a search can be cancelled, and creating a game cancels it", async () => {
    const p = await arena.open();
    await p.register();
    await p.page.click(sel("find-opponent"));
    await p.locator("matchmaking-card").waitFor({ state: "visible" });
    await p.page.click(sel("cancel-matchmaking"));
    await p.locator("matchmaking-card").waitFor({ state: "hidden" });
    assert.equal(await p.locator("find-opponent").isDisabled(), false);

    await p.page.click(sel("find-opponent"));
    await p.locator("matchmaking-card").waitFor({ state: "visible" });
    await p.createGame();
    assert.equal(await p.locator("matchmaking-card").isVisible(), false);
    assert.equal(await p.locator("find-opponent").isDisabled(), false);

    // Nobody else is queued: another player searching is not matched with this one.
    const other = await arena.open();
    await other.register();
    await other.page.click(sel("find-opponent"));
    await other.page.waitForTimeout(2500);
    await other.waitForScreen("games");
    await other.page.click(sel("cancel-matchmaking"));
    await p.page.click(sel("cancel-game"));
    p.assertNoConsoleErrors();
  });
});

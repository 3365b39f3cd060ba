// Whole games between two players on two different instances: every move crosses
// instances through Redis. A win with rematch and replay, and a full-board draw.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { cellSel, DRAW_SEQUENCE, isDrawSequence, sel, startGame, waitForGameOver } from "../helpers.mjs";

const arena = useArena();

const activeIndicators = (p) => p.page.$$eval(`${sel("hover-indicator")}.active`, (els) => els.map((el) => Number(el.dataset.col)));

describe("a game to a win", () => {
  test("two players on different instances play, win, rematch and replay", async () => {
    const { host, guest } = await arena.registeredPair({ twoInstances: true, names: ["red", "yel"] });
    await startGame(host, guest);

    // Player cards: names, seat colours, who is who, presence, whose turn.
    await host.waitForText("player-name-1", `${host.name} (you)`);
    await host.waitForText("player-name-2", guest.name);
    await guest.waitForText("player-name-2", `${guest.name} (you)`);
    await host.page.waitForSelector(`${sel("player-card-2")}[data-online="true"]`);
    await guest.page.waitForSelector(`${sel("player-card-1")}[data-online="true"]`);
    assert.equal(await host.locator("player-card-1").getAttribute("data-active"), "true");
    assert.equal(await host.locator("resign").isVisible(), true);

    // The move clock runs on the player to move, on both screens; the other card shows
    // the full time its player will have.
    await host.waitForText("player-clock-1", /^\d+s$/);
    await guest.waitForText("player-clock-1", /^\d+s$/);
    assert.equal(await guest.locator("player-clock-1").getAttribute("data-running"), "true");
    assert.equal(await guest.text("player-clock-2"), "60s");
    assert.equal(await guest.locator("player-clock-2").getAttribute("data-running"), "false");

    // Hover shows where a disc would go, only for the player to move.
    await host.page.hover(cellSel(3, 4));
    assert.deepEqual(await activeIndicators(host), [4]);
    await guest.page.hover(cellSel(3, 4));
    assert.deepEqual(await activeIndicators(guest), []);

    // A click out of turn does nothing.
    await guest.page.click(cellSel(0, 2), { force: true });
    await guest.page.waitForTimeout(500);
    assert.equal(await guest.discCount(), 0);

    // Red by click, yellow by digit key, red by arrows + Enter.
    await host.drop(0);
    await guest.waitForDiscs(1);
    assert.equal(await guest.cellValue(5, 0), 1);
    await guest.dropWithKey(1);
    await host.waitForDiscs(2);
    assert.equal(await host.cellValue(5, 1), 2);
    assert.ok(await host.page.locator(cellSel(5, 1)).evaluate((el) => el.classList.contains("last-move")), "last move is marked");

    await host.waitForText("game-status", "Your turn");
    await host.page.keyboard.press("ArrowRight");
    const [from] = await activeIndicators(host);
    for (let i = 0; i < (from - 0 + 7) % 7; i++) await host.page.keyboard.press("ArrowLeft");
    assert.deepEqual(await activeIndicators(host), [0]);
    await host.page.keyboard.press("Enter");
    await host.waitForDiscs(3);
    assert.equal(await host.cellValue(4, 0), 1);

    await guest.drop(1);
    await host.drop(0);
    await guest.drop(1);
    await host.waitForText("game-status", "Your turn");
    await host.screenshot("game-in-progress");

    // The winning move.
    await host.drop(0);
    await waitForGameOver(host);
    await waitForGameOver(guest);
    await host.waitForText("game-over-title", "You win!");
    await guest.waitForText("game-over-title", "You lose");
    assert.equal(await host.locator("game-over").getAttribute("data-result"), "win");
    assert.equal(await guest.locator("game-over").getAttribute("data-result"), "loss");
    assert.equal(await host.status(), "Game over");
    for (const p of [host, guest]) {
      const winning = await p.page.$$eval(`${sel("board")} .cell.win`, (cells) => cells.map((c) => [Number(c.dataset.row), Number(c.dataset.col)]).sort());
      assert.deepEqual(winning, [[2, 0], [3, 0], [4, 0], [5, 0]]);
    }
    assert.equal(await host.locator("confetti").count(), 1, "the winner gets confetti");
    assert.equal(await guest.locator("confetti").count(), 0, "the loser does not");
    await host.page.hover(cellSel(3, 5));
    assert.deepEqual(await activeIndicators(host), [], "no hover once the game is over");
    assert.equal(await host.locator("resign").isVisible(), false);
    await host.waitForText("game-over-detail", /[+]\d+ Elo/);
    await guest.waitForText("game-over-detail", /-\d+ Elo/);
    await host.page.waitForTimeout(4500); // let the confetti finish for the picture
    await host.screenshot("game-over", { fullPage: true });

    // Rematch: one votes, the other sees it and accepts; colours swap.
    await host.page.click(sel("rematch"));
    await host.waitForText("rematch-status", /waiting for your opponent/i);
    assert.equal(await host.locator("rematch").isDisabled(), true);
    await guest.waitForText("rematch-status", /wants a rematch/i);
    await guest.waitForText("rematch", "Accept rematch");
    await guest.page.click(sel("rematch"));
    for (const p of [host, guest]) {
      await p.locator("game-over").waitFor({ state: "hidden" });
      await p.waitForDiscs(0);
    }
    await guest.waitForText("game-status", "Your turn");
    await host.waitForText("game-status", "Opponent's turn");
    await host.waitForText("player-name-1", guest.name);
    await host.waitForText("player-name-2", `${host.name} (you)`);

    // Back in the lobby: stats and history count the win; the replay shows it.
    await host.page.click(sel("leave-game"));
    await host.waitForScreen("games");
    await host.locator("resume-card").waitFor({ state: "visible" });
    await host.locator("stats-card").waitFor({ state: "visible" });
    const won = host.page.locator(`${sel("history-item")}[data-result="win"]`);
    await won.waitFor({ state: "visible" });
    assert.equal(await won.locator(sel("history-result")).textContent(), "Won");
    await guest.page.click(sel("leave-game"));
    const lost = guest.page.locator(`${sel("history-item")}[data-result="loss"]`);
    await lost.waitFor({ state: "visible" });
    assert.equal(await lost.locator(sel("history-result")).textContent(), "Lost");
    await host.page.click(sel("home-leaderboard-toggle"));
    await host.page.locator(`${sel("home-leaderboard-list")} ${sel("leaderboard-entry")}`).first().waitFor();
    await host.screenshot("game-lobby", { fullPage: true });

    await won.locator(sel("replay-game")).click();
    await host.waitForScreen("replay");
    await host.waitForText("replay-info", "Move 0 / 7");
    assert.equal(await host.locator("replay-start").isDisabled(), true);
    assert.equal(await host.locator("replay-prev").isDisabled(), true);
    assert.equal(await host.discCount("replay-board"), 0);

    await host.page.click(sel("replay-next"));
    await host.waitForText("replay-info", "Move 1 / 7");
    assert.equal(await host.cellValue(5, 0, "replay-board"), 1);
    assert.ok(await host.page.locator(cellSel(5, 0, "replay-board")).evaluate((el) => el.classList.contains("last-move")));

    await host.page.click(sel("replay-end"));
    await host.waitForText("replay-info", "Move 7 / 7");
    assert.equal(await host.locator("replay-next").isDisabled(), true);
    assert.equal(await host.locator("replay-end").isDisabled(), true);
    assert.equal(await host.page.locator(`${sel("replay-board")} .cell.win`).count(), 4);
    await host.waitForText("replay-result", new RegExp(`${host.name} won`));
    await host.screenshot("replay");

    await host.page.locator(sel("replay-slider")).fill("3");
    await host.waitForText("replay-info", "Move 3 / 7");
    assert.equal(await host.discCount("replay-board"), 3);
    await host.page.click(sel("replay-prev"));
    await host.waitForText("replay-info", "Move 2 / 7");

    // A refresh keeps the replay; Back returns to the lobby.
    await host.page.reload();
    await host.waitForScreen("replay");
    await host.waitForText("replay-info", "Move 0 / 7");
    await host.page.click(sel("replay-back"));
    await host.waitForScreen("games");

    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("a drawn game", () => {
  test("filling the board without four in a row is a draw for both", async () => {
    assert.ok(isDrawSequence(DRAW_SEQUENCE));
    const { host, guest } = await arena.registeredPair({ twoInstances: true, names: ["red", "yel"] });
    await startGame(host, guest);
    for (let i = 0; i < DRAW_SEQUENCE.length; i++) {
      const mover = i % 2 === 0 ? host : guest;
      const other = i % 2 === 0 ? guest : host;
      // Alternate mouse and keyboard so both input paths see a full game.
      if (Math.floor(i / 2) % 2 === 0) await mover.drop(DRAW_SEQUENCE[i]);
      else await mover.dropWithKey(DRAW_SEQUENCE[i]);
      await other.waitForDiscs(i + 1);
    }
    await waitForGameOver(host);
    await waitForGameOver(guest);
    await host.waitForText("game-over-title", "It's a draw!");
    await guest.waitForText("game-over-title", "It's a draw!");
    assert.equal(await host.locator("game-over").getAttribute("data-result"), "draw");
    assert.equal(await host.locator("confetti").count(), 0);
    assert.equal(await guest.locator("confetti").count(), 0);
    assert.equal(await host.page.locator(`${sel("board")} .cell.win`).count(), 0);
    assert.equal(await host.discCount(), 42);

    await host.page.click(sel("back-to-lobby"));
    await host.waitForScreen("games");
    const drawn = host.page.locator(`${sel("history-item")}[data-result="draw"]`);
    await drawn.waitFor({ state: "visible" });
    assert.equal(await drawn.locator(sel("history-result")).textContent(), "Draw");
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

// Game options, draw offers, aborts and emotes between two players on two instances:
// a casual game with the creator moving second, shown on the open list and aborted
// after one move; a draw offered on one instance and accepted on the other; an emote
// seen by the opponent, then hidden by the opponent's switch.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { playMoves, sel, startGame, waitForGameOver } from "../helpers.mjs";

const arena = useArena();

describe("game options", () => {
  test("a casual game with the creator moving second is listed with its options, then aborted", async () => {
    const { host, guest } = await arena.registeredPair({ twoInstances: true, names: ["cas", "opp"] });
    await host.page.selectOption(sel("option-time"), "30");
    await host.page.selectOption(sel("option-rated"), "casual");
    await host.page.selectOption(sel("option-colour"), "second");
    await host.createGame();

    // The open list says what the game is before anyone joins it.
    await guest.page.click(sel("refresh-games"));
    const item = guest.page.locator(`${sel("open-game")}:has-text("${host.name}")`);
    await item.waitFor();
    const text = await item.textContent();
    assert.match(text, /Casual/);
    assert.match(text, /30s per move/);
    assert.match(text, /creator moves second/);
    await item.locator(sel("join-game")).click();

    // The joiner moves first (red); the creator plays yellow.
    await guest.waitForScreen("game");
    await host.waitForScreen("game");
    await guest.waitForText("game-status", "Your turn");
    await host.waitForText("game-status", "Opponent's turn");
    await host.waitForText("seat-label", /You are yellow/);
    await guest.waitForText("player-name-1", `${guest.name} (you)`);
    for (const p of [host, guest]) await p.waitForText("game-options-line", "Casual · 30 s per move");

    // One move: either seat may still abort.
    await guest.drop(3);
    await host.waitForDiscs(1);
    assert.equal(await host.locator("abort").isVisible(), true);
    assert.equal(await host.locator("offer-draw").isVisible(), false);
    await host.locator("abort").click();
    for (const p of [host, guest]) {
      await waitForGameOver(p);
      await p.waitForText("game-over-title", "Game aborted");
      assert.equal(await p.locator("game-over").getAttribute("data-reason"), "aborted");
    }
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("draw offers", () => {
  test("a draw offered on one instance is accepted on the other", async () => {
    const { host, guest } = await arena.registeredPair({ twoInstances: true, names: ["off", "acc"] });
    await startGame(host, guest);
    await playMoves(host, guest, [3, 3]);
    // After the second move an abort is over; a draw may be offered.
    await host.waitForText("game-status", "Your turn");
    assert.equal(await host.locator("abort").isVisible(), false);
    await host.locator("offer-draw").click();
    await host.waitForText("draw-offer-text", "You offered a draw. Waiting for an answer…");
    await guest.waitForText("draw-offer-text", `${host.name} offers a draw.`);
    assert.equal(await host.locator("accept-draw").isVisible(), false, "nobody answers their own offer");
    await guest.screenshot("draw-offer");
    await guest.locator("accept-draw").click();
    for (const p of [host, guest]) {
      await waitForGameOver(p);
      await p.waitForText("game-over-title", "Draw agreed");
      assert.equal(await p.locator("game-over").getAttribute("data-result"), "draw");
      assert.equal(await p.locator("draw-offer").isVisible(), false);
    }
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("emotes", () => {
  test("an emote reaches the opponent, and the hide switch hides them", async () => {
    const { host, guest } = await arena.registeredPair({ twoInstances: true, names: ["emo", "see"] });
    await startGame(host, guest);
    await host.locator("emote-gg").click();
    const bubble = guest.locator("emote-bubble-1");
    await bubble.waitFor({ state: "visible" });
    assert.equal(await bubble.getAttribute("data-emote"), "gg");
    assert.equal((await bubble.textContent()).trim(), "GG");

    // An SVG emote, drawn without any emoji font.
    await guest.locator("emote-thumbs_up").click();
    const svg = host.page.locator(`${sel("emote-bubble-2")} svg[aria-label="Thumbs up"]`);
    await svg.waitFor({ state: "visible" });

    // The opponent hides emotes: the next one does not show, for this browser only.
    await guest.locator("hide-emotes").check();
    assert.equal(await guest.page.evaluate(() => localStorage.getItem("c4arena.hideEmotes")), "1");
    await host.page.waitForTimeout(2100); // one emote per 2 s per seat
    await host.locator("emote-wow").click();
    await host.page.locator(`${sel("emote-bubble-1")}[data-emote="wow"]`).waitFor({ state: "visible" });
    await guest.page.waitForTimeout(1000);
    assert.equal(await guest.locator("emote-bubble-1").isVisible(), false);
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

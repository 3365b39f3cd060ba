// Playing the computer: from the lobby, at a chosen level, the bot answers every move,
// its card shows its level, and the replay of the finished game shows the solver's
// analysis (the evaluation graph, each move's verdict, the best column marked), and
// "Play on from here" starts a game against the bot from the position shown.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { cellSel, sel, uniqueName, waitForGameOver } from "../helpers.mjs";

const arena = useArena({ env: { BOT_MOVE_DELAY_MS: "0" } });

/** The first column from the centre outwards whose top cell is empty. */
async function freeColumn(player) {
  for (const col of [3, 2, 4, 1, 5, 0, 6]) {
    if ((await player.cellValue(0, col)) === 0) return col;
  }
  throw new Error("the board is full");
}

describe("playing the computer", () => {
  test("the bot answers from the lobby and the replay shows the analysis", async () => {
    const player = await arena.open();
    await player.register(uniqueName("human"));
    await player.page.selectOption(sel("bot-level"), "easy");
    await player.page.click(sel("play-computer"));
    await player.waitForScreen("game");
    await player.locator("bot-level-2").waitFor({ state: "visible" });
    assert.equal(await player.text("bot-level-2"), "easy");
    assert.match(await player.text("player-presence-2"), /Computer/);

    // Play until the game ends; after each of our moves the bot drops its disc.
    for (let turn = 0; turn < 21; turn++) {
      if (await player.locator("game-over").isVisible()) break;
      const discs = await player.discCount();
      await player.page.waitForFunction(
        ([status, over]) =>
          document.querySelector(status)?.textContent.includes("Your turn") || !document.querySelector(over)?.hidden,
        [sel("game-status"), sel("game-over")],
      );
      if (await player.locator("game-over").isVisible()) break;
      await player.page.click(cellSel(0, await freeColumn(player)));
      await player.page.waitForFunction(
        ([board, before, over]) =>
          document.querySelectorAll(`${board} .cell.p1, ${board} .cell.p2`).length >= before + 2 ||
          !document.querySelector(over)?.hidden,
        [sel("board"), discs, sel("game-over")],
      );
    }
    await waitForGameOver(player);

    await player.page.click(sel("game-replay"));
    await player.waitForScreen("replay");
    await player.locator("eval-graph").waitFor({ state: "visible", timeout: 60_000 });
    const verdicts = await player.page.$$eval(`${sel("replay-move-list")} li[data-verdict]`, (els) => els.map((e) => e.dataset.verdict));
    const total = Number((await player.text("replay-info")).split("/")[1]);
    assert.equal(verdicts.length, total);
    assert.ok(verdicts.every((v) => ["best", "inaccuracy", "mistake", "blunder", "unsolved"].includes(v)), verdicts.join());
    // Late positions are cheap to solve: at the last solved one, its best column is
    // marked on the board.
    const solved = verdicts.findLastIndex((v) => v !== "unsolved");
    assert.ok(solved >= total - 4, `the last solved move is ${solved + 1} of ${total}: ${verdicts.join()}`);
    await player.page.click(sel("replay-end"));
    for (let step = total; step > solved; step--) await player.page.click(sel("replay-prev"));
    await player.waitForText("replay-info", `Move ${solved} / ${total}`);
    assert.ok((await player.page.locator(`${sel("replay-board")} [data-best="true"]`).count()) >= 1);
    await player.screenshot("replay-analysis");

    // Play on from the position after four moves: its discs are on the new game's board,
    // we are to move (seat 1), and the bot answers.
    await player.page.click(sel("replay-start"));
    for (let step = 1; step <= 4; step++) await player.page.click(sel("replay-next"));
    await player.waitForText("replay-info", `Move 4 / ${total}`);
    assert.equal(await player.page.inputValue(sel("play-on-level")), "easy");
    const shown = await player.page.$$eval(`${sel("replay-board")} .cell`, (cells) => cells.map((c) => c.className));
    await player.page.click(sel("play-on"));
    await player.waitForScreen("game");
    await player.waitForDiscs(4);
    const onBoard = await player.page.$$eval(`${sel("board")} .cell`, (cells) => cells.map((c) => c.className));
    const discs = (classes) => classes.map((c) => (c.match(/\bp[12]\b/) || [""])[0]);
    assert.deepEqual(discs(onBoard), discs(shown));
    await player.waitForText("game-status", "Your turn");
    await player.page.click(cellSel(0, await freeColumn(player)));
    await player.waitForDiscs(6);
    player.assertNoConsoleErrors();
  });
});

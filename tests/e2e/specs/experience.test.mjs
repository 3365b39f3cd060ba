// The player's experience beyond the rules, through nginx (round robin): the header's
// counters, the app's addresses and the Back button, a game played with the keyboard
// alone and what assistive technology is told, the seat and the status on a phone, the
// light theme, sound and its mute switch, the profile page with its rating chart, and
// axe-core over the main screens.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  accessibilityViolations,
  cellSel,
  inViewport,
  playMoves,
  sel,
  startGame,
  uniqueName,
  VERTICAL_WIN,
  waitForGameOver,
} from "../helpers.mjs";
import { useArena } from "../setup.mjs";

const arena = useArena();
const open = (options = {}) => arena.open(options);

/** A player whose page lets axe-core be injected (the app's CSP allows only its own scripts). */
function openAudited(options = {}) {
  return open({ ...options, contextOptions: { bypassCSP: true, ...(options.contextOptions || {}) } });
}

async function registeredPair(hostOptions = {}, guestOptions = {}) {
  const host = await open(hostOptions);
  const guest = await open(guestOptions);
  await host.register(uniqueName("host"));
  await guest.register(uniqueName("guest"));
  return { host, guest };
}

const pathname = (p) => new URL(p.page.url()).pathname;
const lastSound = (p) => p.page.evaluate(() => document.documentElement.dataset.lastSound || null);

/** Presses Tab until the board has the focus; fails after `limit` presses. */
async function tabToBoard(p, limit = 40) {
  for (let i = 0; i < limit; i++) {
    await p.page.keyboard.press("Tab");
    if (await p.page.evaluate(() => document.activeElement?.dataset.testid === "board")) return;
  }
  assert.fail("Tab never reached the board");
}

async function assertAccessible(p, where) {
  // Screens fade in and the status pops: judge colours once they rest.
  await p.page.waitForTimeout(700);
  const violations = await accessibilityViolations(p.page);
  assert.deepEqual(violations, [], `axe-core on ${where}`);
}

// First in this file: the counters are cluster-wide, and this cluster is still empty.
describe("header counters", () => {
  test("players in the lobby count as online, and a finished game stops counting as live", async () => {
    const host = await open();
    const guest = await open();
    const refusals = [];
    for (const p of [host, guest]) {
      p.page.on("response", (r) => {
        if (r.url().includes("/active-game") && r.status() !== 200) refusals.push(`${r.status()} ${r.url()}`);
      });
    }
    await host.register(uniqueName("host"));
    await guest.register(uniqueName("guest"));
    await host.waitForText("stat-online-players", "2");
    await guest.waitForText("stat-online-players", "2");
    await host.waitForText("stat-active-games-text", "0 live games");

    await startGame(host, guest);
    await host.waitForText("stat-active-games-text", "1 live game");
    await guest.waitForText("stat-active-games-text", "1 live game");
    await playMoves(host, guest, VERTICAL_WIN);
    await waitForGameOver(guest);
    await host.waitForText("stat-active-games-text", "0 live games");
    await guest.waitForText("stat-active-games-text", "0 live games");

    // "No active game" is an answer, not an error; the icon exists.
    assert.deepEqual(refusals, []);
    const icon = await host.page.request.get("/favicon.ico");
    assert.equal(icon.status(), 200);
    assert.match(icon.headers()["content-type"], /^image\/svg\+xml/);
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("addresses and history", () => {
  test("every screen has an address that Back, a reload and a shared link open", async () => {
    const { host, guest } = await registeredPair();
    const gameId = await startGame(host, guest);
    assert.equal(pathname(host), `/game/${gameId}`);
    assert.equal(pathname(guest), `/game/${gameId}`);

    // The opponent's name opens their profile; Back returns to the game, still playable.
    await host.page.click(`${sel("player-name-2")} a`);
    await host.waitForScreen("profile");
    assert.equal(pathname(host), `/player/${guest.name}`);
    await host.waitForText("profile-name", guest.name);
    await host.page.goBack();
    await host.waitForScreen("game");
    assert.equal(pathname(host), `/game/${gameId}`);
    await host.drop(3);
    await guest.waitForDiscs(1);
    await host.page.goForward();
    await host.waitForScreen("profile");
    await host.page.goBack();
    await host.waitForScreen("game");

    // A reload keeps the screen; a shared /watch address opens it for anybody.
    await guest.page.reload();
    await guest.waitForScreen("game");
    await guest.waitForDiscs(1);
    await guest.drop(3);
    const viewer = await open({ path: `/watch/${gameId}` });
    await viewer.waitForScreen("game");
    await viewer.locator("spectator-banner").waitFor({ state: "visible" });
    await viewer.waitForDiscs(2);
    // Somebody else opening the game's own address watches it too.
    const stranger = await open({ path: `/game/${gameId}` });
    await stranger.waitForScreen("game");
    await stranger.locator("spectator-banner").waitFor({ state: "visible" });
    assert.equal(pathname(stranger), `/watch/${gameId}`);

    // The leaderboard page, its entries linking to profiles; Back inside the app.
    await host.page.click(sel("nav-leaderboard"));
    await host.waitForScreen("leaderboard");
    assert.equal(pathname(host), "/leaderboard");
    await host.page.goBack();
    await host.waitForScreen("game");
    await host.page.goto("/leaderboard");
    await host.waitForScreen("leaderboard");

    // After the game: the replay address, opened directly in a fresh browser.
    await host.page.goBack();
    await host.waitForScreen("game");
    await playMoves(host, guest, [0, 1, 0, 1, 0, 1]);
    await host.waitForText("game-status", "Your turn");
    await host.page.keyboard.press("a");
    await waitForGameOver(guest);
    const reader = await open({ path: `/replay/${gameId}` });
    await reader.waitForScreen("replay");
    await reader.waitForText("replay-info", "Move 0 / 9");
    await reader.page.click(sel("replay-end"));
    await reader.waitForText("replay-info", "Move 9 / 9");
    const columns = await reader.page.$$eval(`${sel("replay-move-list")} ${sel("move-entry")}`, (els) => els.map((e) => e.dataset.column));
    assert.deepEqual(columns, ["d", "d", "a", "b", "a", "b", "a", "b", "a"]);
    // A move of the list jumps there.
    await reader.page.click(`${sel("replay-move-list")} [data-move="2"] button`);
    await reader.waitForText("replay-info", "Move 2 / 9");

    for (const p of [host, guest, viewer, stranger, reader]) p.assertNoConsoleErrors();
  });
});

describe("keyboard and screen readers", () => {
  test("a whole game is played with the keyboard alone, and every move is announced", async () => {
    const { host, guest } = await registeredPair();
    await startGame(host, guest);

    // Tab reaches the board; arrows choose a column, Enter drops.
    await tabToBoard(host);
    for (let i = 0; i < 3; i++) await host.page.keyboard.press("ArrowLeft");
    await host.page.keyboard.press("Enter");
    await host.waitForDiscs(1);
    assert.equal(await host.page.locator(cellSel(5, 0)).getAttribute("aria-label"), "a1, red disc");
    assert.equal(await host.page.locator(cellSel(4, 0)).getAttribute("aria-label"), "a2, empty");
    await host.waitForText("announcer", /^You played a1\. Opponent's turn\.$/);
    await guest.waitForText("announcer", new RegExp(`played a1\\. Your turn\\.$`));

    // Column letters and digits drop directly.
    await tabToBoard(guest);
    await guest.page.keyboard.press("b");
    await host.waitForDiscs(2);
    assert.equal(await host.page.locator(cellSel(5, 1)).getAttribute("aria-label"), "b1, yellow disc");
    const rest = VERTICAL_WIN.slice(2);
    for (let i = 0; i < rest.length; i++) {
      const mover = i % 2 === 0 ? host : guest;
      await mover.waitForText("game-status", "Your turn");
      await mover.page.keyboard.press(i % 4 < 2 ? String(rest[i] + 1) : "ab"[rest[i]]);
      await (i % 2 === 0 ? guest : host).waitForDiscs(3 + i);
    }
    await waitForGameOver(host);
    await host.waitForText("announcer", /You win!/);
    await guest.waitForText("announcer", /You lose/);

    // The move list beside the board, in the app's notation.
    const entries = await host.page.$$eval(`${sel("move-list")} ${sel("move-entry")}`, (els) => els.map((e) => e.textContent.replace(/\s+/g, " ").trim()));
    assert.deepEqual(entries, ["1. red a", "2. yellow b", "3. red a", "4. yellow b", "5. red a", "6. yellow b", "7. red a"]);
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("phone, theme and sound", () => {
  test("on a phone the seat is spelled out, the status stays in sight, the light theme and mute are remembered", async () => {
    const phone = { viewport: { width: 390, height: 844 }, contextOptions: { colorScheme: "light" } };
    const { host, guest } = await registeredPair({}, phone);
    assert.equal(await guest.page.evaluate(() => document.documentElement.dataset.theme), "light");
    assert.equal(await host.page.evaluate(() => document.documentElement.dataset.theme), "dark");
    const background = await guest.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, "rgb(244, 246, 251)");

    // Muted on the phone before the game; the desktop keeps its sound.
    await guest.page.click(sel("sound-toggle"));
    assert.equal(await guest.locator("sound-toggle").getAttribute("aria-pressed"), "false");

    await startGame(host, guest);
    await guest.waitForText("seat-label", "You are yellow · you move second");
    await host.waitForText("seat-label", "You are red · you move first");
    const you = guest.page.locator(`${sel("player-name-2")} .you`);
    assert.equal(await you.isVisible(), true);
    const box = await you.boundingBox();
    assert.ok(box.x + box.width <= 390, `"(you)" is cut off: ${JSON.stringify(box)}`);

    await playMoves(host, guest, VERTICAL_WIN.slice(0, 6));
    await guest.screenshot("phone-game-light");
    await host.drop(0);
    await waitForGameOver(guest);
    await guest.locator("game-over").scrollIntoViewIfNeeded();
    assert.ok(await inViewport(guest.page, "game-status"), "the status scrolled away");
    assert.equal(await guest.text("game-status"), "Game over");
    await host.page.waitForFunction(() => document.documentElement.dataset.lastSound === "win");
    assert.equal(await lastSound(guest), null, "a muted player hears nothing");

    // Both choices survive a reload.
    await guest.page.click(sel("theme-toggle"));
    assert.equal(await guest.page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await guest.page.reload();
    await guest.waitForScreen("game");
    assert.equal(await guest.page.evaluate(() => document.documentElement.dataset.theme), "dark");
    assert.equal(await guest.locator("sound-toggle").getAttribute("aria-pressed"), "false");
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

describe("profiles and accessibility", () => {
  test("a profile shows the record, a rating chart, the head-to-head and replays; no serious axe violation", async () => {
    const host = await openAudited();
    await assertAccessible(host, "the sign-in screen");
    const guest = await open();
    await host.register(uniqueName("host"));
    await guest.register(uniqueName("guest"));
    await assertAccessible(host, "the game lobby");
    const gameId = await startGame(host, guest);
    await host.drop(0);
    await guest.drop(1);
    await assertAccessible(host, "a game");
    await playMoves(host, guest, VERTICAL_WIN.slice(2));
    await waitForGameOver(host);
    await host.locator("confetti").waitFor({ state: "detached", timeout: 10_000 });
    await host.page.waitForTimeout(500);
    await assertAccessible(host, "a finished game");

    // Rematch: the new game's cards show the ratings the first game left.
    await host.page.click(sel("rematch"));
    await guest.waitForText("rematch", "Accept rematch");
    await guest.page.click(sel("rematch"));
    await host.waitForText("player-name-2", `${host.name} (you)`);
    await host.waitForText("player-presence-1", /1184$/);
    await host.waitForText("player-presence-2", /1216$/);
    await guest.waitForText("player-presence-2", /1216$/);

    // The opponent's profile: record, chart with a point per game, the record against me.
    await host.page.click(`${sel("player-name-1")} a`);
    await host.waitForScreen("profile");
    await host.waitForText("profile-elo", "1184 Elo");
    await host.waitForText("profile-peak", "Peak 1200");
    await host.page.locator(`${sel("rating-chart-svg")} ${sel("rating-point")}`).nth(1).waitFor();
    const ratings = await host.page.$$eval(`${sel("rating-chart-svg")} ${sel("rating-point")}`, (els) => els.map((e) => Number(e.dataset.rating)));
    assert.deepEqual(ratings, [1200, 1184]);
    await host.waitForText("profile-versus", new RegExp(`^You 1 – 0 ${guest.name}`));
    const stats = await host.page.$$eval(`${sel("profile-stats")} .stat`, (els) => els.map((e) => e.textContent));
    assert.deepEqual(stats.slice(0, 4), ["1Games", "0Wins", "1Losses", "0Draws"]);
    await host.page.locator(`${sel("profile-game")}[data-game-id="${gameId}"]`).waitFor();
    await host.screenshot("profile");
    await assertAccessible(host, "a profile");

    // A recent game opens its replay; Back returns to the profile.
    await host.page.click(`${sel("profile-game")}[data-game-id="${gameId}"] ${sel("profile-replay")}`);
    await host.waitForScreen("replay");
    assert.equal(pathname(host), `/replay/${gameId}`);
    await host.page.goBack();
    await host.waitForScreen("profile");

    // The light theme passes too.
    await host.page.click(sel("theme-toggle"));
    await host.page.goBack();
    await host.waitForScreen("game");
    await assertAccessible(host, "a game in the light theme");
    await host.page.click(sel("theme-toggle"));
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

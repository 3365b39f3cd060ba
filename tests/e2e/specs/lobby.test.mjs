// Signing in, the lobbies, and what survives a refresh. All through nginx.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useArena } from "../setup.mjs";
import { horizontalOverflow, sel, uniqueName } from "../helpers.mjs";

const arena = useArena();

describe("signing in", () => {
  test("a guest registers with just a username and lands in the game lobby", async () => {
    const p = await arena.open();
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);
    const name = await p.register(uniqueName("guest"));
    assert.equal(await p.text("home-username"), name);
    assert.equal(await p.text("user-chip-name"), name);
    assert.match(await p.text("home-elo"), /^\d+ Elo$/);
    assert.deepEqual(await p.visibleScreens(), ["screen-games"]);
    const session = await p.session();
    assert.equal(session.username, name);
    assert.ok(session.token.length > 10);
    p.assertNoConsoleErrors();
  });

  test("a player registers with a password, logs out, and logs back in", async () => {
    const p = await arena.open();
    const name = uniqueName("pw");
    await p.register(name, "correct-horse-42");
    await p.page.click(sel("logout"));
    await p.waitForScreen("lobby");
    assert.equal(await p.session(), null);

    await p.login(name, "wrong-password-1");
    await p.waitForText("auth-error", "Wrong username or password.");
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);

    await p.login(name, "correct-horse-42");
    await p.waitForScreen("games");
    assert.equal(await p.text("home-username"), name);
    p.assertNoConsoleErrors();
  });

  test("a taken username is refused inline", async () => {
    const first = await arena.open();
    const name = await first.register(uniqueName("taken"));
    const second = await arena.open();
    await second.page.fill(sel("auth-username"), name);
    await second.page.click(sel("auth-submit"));
    await second.waitForText("auth-error", /username is taken/i);
    assert.deepEqual(await second.visibleScreens(), ["screen-lobby"]);
    second.assertNoConsoleErrors();
  });

  test("a username with forbidden characters is refused inline", async () => {
    const p = await arena.open();
    await p.page.fill(sel("auth-username"), "bad name <script>");
    await p.page.click(sel("auth-submit"));
    await p.locator("auth-error").waitFor({ state: "visible" });
    assert.ok((await p.text("auth-error")).length > 0);
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);
    assert.equal(await p.session(), null);
  });

  test("an empty username or a login without password never reaches the server", async () => {
    const p = await arena.open();
    await p.page.click(sel("auth-submit"));
    await p.waitForText("auth-error", "Pick a username.");
    await p.page.click(sel("auth-mode-login"));
    await p.page.fill(sel("auth-username"), "someone");
    await p.page.click(sel("auth-submit"));
    await p.waitForText("auth-error", "Enter your password.");
  });
});

describe("lobbies", () => {
  test("live stats show numbers and refresh", async () => {
    const p = await arena.open();
    await p.waitForText("stat-active-games", /^\d+$/);
    await p.waitForText("stat-online-players", /^\d+$/);
    await p.register();
    // The heartbeat makes this player count as online.
    await p.page.waitForFunction((s) => Number(document.querySelector(s).textContent) >= 1, sel("stat-online-players"), { timeout: 12_000 });
  });

  test("the leaderboard is collapsed until opened", async () => {
    const p = await arena.open();
    assert.equal(await p.locator("leaderboard-list").isVisible(), false);
    await p.page.click(sel("leaderboard-toggle"));
    await p.locator("leaderboard-list").waitFor({ state: "visible" });
    await p.page.waitForFunction((s) => document.querySelector(s).children.length > 0, sel("leaderboard-list"));
    await p.page.click(sel("leaderboard-toggle"));
    await p.locator("leaderboard-list").waitFor({ state: "hidden" });
  });

  test("a new player sees no stats card and no history", async () => {
    const p = await arena.open();
    await p.register();
    await p.page.waitForTimeout(1000);
    assert.equal(await p.locator("stats-card").isVisible(), false);
    assert.equal(await p.locator("history-card").isVisible(), false);
  });

  test("an open game is listed for others, not for its creator, and goes away when cancelled", async () => {
    const host = await arena.open();
    const other = await arena.open();
    await host.register(uniqueName("host"));
    await other.register(uniqueName("other"));
    const link = await host.createGame();
    const gameId = new URL(link).searchParams.get("join");

    const item = other.page.locator(`${sel("open-game")}[data-game-id="${gameId}"]`);
    await item.waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await item.innerText(), new RegExp(host.name));
    assert.equal(await host.page.locator(`${sel("open-game")}[data-game-id="${gameId}"]`).count(), 0);

    await host.page.click(sel("cancel-game"));
    await host.locator("waiting-card").waitFor({ state: "hidden" });
    await item.waitFor({ state: "detached", timeout: 10_000 });
    host.assertNoConsoleErrors();
    other.assertNoConsoleErrors();
  });

  test("a refresh while waiting for an opponent brings the waiting card back", async () => {
    const host = await arena.open();
    await host.register();
    const link = await host.createGame();
    await host.page.reload();
    await host.waitForScreen("games");
    await host.locator("waiting-card").waitFor({ state: "visible" });
    assert.equal(await host.page.inputValue(sel("share-link")), link);
    await host.page.click(sel("cancel-game"));
  });
});

describe("navigation and storage", () => {
  test("exactly one screen is visible, and a refresh of the game lobby keeps it", async () => {
    const p = await arena.open();
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);
    const name = await p.register();
    await p.page.reload();
    await p.waitForScreen("games");
    assert.deepEqual(await p.visibleScreens(), ["screen-games"]);
    assert.equal(await p.text("home-username"), name);
  });

  test("a refresh of the sign-in screen keeps it", async () => {
    const p = await arena.open();
    await p.page.reload();
    await p.waitForScreen("lobby");
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);
    await p.screenshot("lobby");
  });

  test("corrupt storage falls back to the sign-in screen", async () => {
    const p = await arena.open();
    await p.page.evaluate(() => {
      localStorage.setItem("c4arena.session", "{not json");
      sessionStorage.setItem("c4arena.view", "][");
    });
    await p.page.reload();
    await p.waitForScreen("lobby");
    assert.deepEqual(await p.visibleScreens(), ["screen-lobby"]);
    assert.equal(await p.session(), null);
    p.assertNoConsoleErrors();
  });

  test("partial or stale storage falls back to the sign-in screen", async () => {
    const p = await arena.open();
    await p.page.evaluate(() => {
      localStorage.setItem("c4arena.session", JSON.stringify({ playerId: null, username: "ghost" }));
      sessionStorage.setItem("c4arena.view", JSON.stringify({ screen: "game" }));
    });
    await p.page.reload();
    await p.waitForScreen("lobby");

    await p.page.evaluate(() => {
      localStorage.setItem("c4arena.session", JSON.stringify({ token: "not-a-real-token", playerId: 999999, username: "ghost" }));
    });
    await p.page.reload();
    await p.waitForScreen("lobby");
    assert.equal(await p.session(), null, "a token the server refuses is forgotten");
    p.assertNoConsoleErrors();
  });

  test("a join link opened while logged out asks for a name, then joins", async () => {
    const host = await arena.open();
    await host.register();
    const link = await host.createGame();
    const guest = await arena.open({ path: `/${new URL(link).search}` });
    await guest.waitForScreen("lobby");
    await guest.locator("auth-notice").waitFor({ state: "visible" });
    await guest.page.fill(sel("auth-username"), uniqueName("inv"));
    await guest.page.click(sel("auth-submit"));
    await guest.waitForScreen("game");
    await host.waitForScreen("game");
    await guest.waitForText("game-status", "Opponent's turn");
    assert.equal(new URL(guest.page.url()).search, "", "the join parameter is consumed");
  });
});

describe("phone width", () => {
  test("the sign-in screen, the lobby and a game fit 360 px without horizontal scrolling", async () => {
    const viewport = { width: 360, height: 740 };
    const host = await arena.open({ viewport });
    assert.ok((await horizontalOverflow(host.page)) <= 0, "sign-in screen overflows");
    await host.register(uniqueName("phone"));
    assert.ok((await horizontalOverflow(host.page)) <= 0, "game lobby overflows");

    const guest = await arena.open({ viewport });
    await guest.register();
    const link = await host.createGame();
    assert.ok((await horizontalOverflow(host.page)) <= 0, "waiting card overflows");
    await guest.page.goto(`/${new URL(link).search}`);
    await host.waitForScreen("game");
    await host.drop(3);
    await guest.drop(3);
    await host.waitForText("game-status", "Your turn");
    assert.ok((await horizontalOverflow(host.page)) <= 0, "game screen overflows");
    const box = await host.locator("board").boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 360, `board ${JSON.stringify(box)} is outside the viewport`);
    await host.screenshot("phone-game");
    host.assertNoConsoleErrors();
    guest.assertNoConsoleErrors();
  });
});

// Browser-side helpers shared by the specs: launching Debian's Chromium through
// playwright-core, opening a player in its own browser context, and the few steps
// every scenario repeats (register, create and join a game, drop a disc).
// Assertions are plain `node:assert` on what the page shows.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { REPO } from "./harness.mjs";

export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
export const TIMEOUT = 15_000;
const SCREENSHOTS = path.join(REPO, "docs/screenshots");

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

let counter = 0;
/** A username unique to this run: letters and digits only, at most 16 characters. */
export function uniqueName(prefix = "p") {
  counter += 1;
  return `${prefix}${Date.now().toString(36).slice(-5)}${counter}`.slice(0, 16);
}

export const sel = (testid) => `[data-testid="${testid}"]`;
export const cellSel = (row, col, board = "board") => `${sel(board)} [data-row="${row}"][data-col="${col}"]`;

/**
 * A player: one browser context (own storage, own cookies) and one page, with every
 * console error and uncaught exception recorded.
 */
export class Player {
  static async open(browser, baseUrl, { viewport = { width: 1100, height: 900 }, path: urlPath = "/", contextOptions = {} } = {}) {
    // Dark unless a test asks otherwise: the app follows prefers-color-scheme, and the
    // screenshots in docs/ show the dark theme.
    const context = await browser.newContext({ viewport, baseURL: baseUrl, colorScheme: "dark", ...contextOptions });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const player = new Player(context, page, baseUrl);
    await page.goto(urlPath);
    return player;
  }

  constructor(context, page, baseUrl) {
    this.context = context;
    this.page = page;
    this.baseUrl = baseUrl;
    this.name = null;
    this.errors = [];
    this.attach(page);
  }

  attach(page) {
    page.on("pageerror", (err) => this.errors.push(`uncaught: ${err.message}`));
    page.on("console", (msg) => {
      // The browser reports every non-2xx fetch as "Failed to load resource"; answers
      // such as 404 no_active_game or 409 username_taken are expected by the app.
      if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) this.errors.push(msg.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 500) this.errors.push(`${response.status()} from ${response.url()}`);
    });
  }

  assertNoConsoleErrors() {
    assert.deepEqual(this.errors, [], `console errors on ${this.name || "page"}`);
  }

  locator(testid) {
    return this.page.locator(sel(testid));
  }

  async close() {
    await this.context.close().catch(() => {});
  }

  /** Registers through the sign-in form; lands in the game lobby. */
  async register(name = uniqueName(), password = "") {
    await this.page.locator(sel("auth-mode-register")).click();
    await this.page.fill(sel("auth-username"), name);
    await this.page.fill(sel("auth-password"), password);
    await this.page.click(sel("auth-submit"));
    this.name = name;
    await this.waitForScreen("games");
    return name;
  }

  async login(name, password) {
    await this.page.locator(sel("auth-mode-login")).click();
    await this.page.fill(sel("auth-username"), name);
    await this.page.fill(sel("auth-password"), password);
    await this.page.click(sel("auth-submit"));
    this.name = name;
  }

  async waitForScreen(name, timeout = TIMEOUT) {
    await this.page.locator(`${sel(`screen-${name}`)}:not([hidden])`).waitFor({ state: "visible", timeout });
  }

  /** Names of the visible screens (exactly one is expected). */
  visibleScreens() {
    return this.page.$$eval(".screen", (screens) => screens.filter((s) => !s.hidden).map((s) => s.id));
  }

  async text(testid) {
    return ((await this.page.locator(sel(testid)).textContent()) || "").trim();
  }

  /** Waits until element `testid` has exactly `expected` as text (or matches a RegExp). */
  async waitForText(testid, expected, timeout = TIMEOUT) {
    await this.page.waitForFunction(
      ([selector, source, flags]) => {
        const el = document.querySelector(selector);
        if (!el) return false;
        const text = el.textContent.trim();
        return flags === null ? text === source : new RegExp(source, flags).test(text);
      },
      [sel(testid), expected instanceof RegExp ? expected.source : expected, expected instanceof RegExp ? expected.flags : null],
      { timeout },
    );
  }

  async status() {
    return (await this.text("game-status")).trim();
  }

  /** Creates a game from the lobby and returns its shareable link. */
  async createGame() {
    await this.page.click(sel("create-game"));
    await this.locator("waiting-card").waitFor({ state: "visible" });
    const link = await this.page.inputValue(sel("share-link"));
    assert.match(link, /\/\?join=[A-Za-z0-9_-]+$/);
    return link;
  }

  /** Drops a disc in `col` (0-based) by clicking the column, once it is this player's turn. */
  async drop(col) {
    await this.waitForText("game-status", "Your turn");
    const before = await this.discCount();
    await this.page.click(cellSel(0, col));
    await this.waitForDiscs(before + 1);
  }

  /** Drops a disc with the keyboard: the digit key of column `col` (0-based). */
  async dropWithKey(col) {
    await this.waitForText("game-status", "Your turn");
    const before = await this.discCount();
    await this.page.keyboard.press(String(col + 1));
    await this.waitForDiscs(before + 1);
  }

  discCount(board = "board") {
    return this.page.locator(`${sel(board)} .cell.p1, ${sel(board)} .cell.p2`).count();
  }

  async waitForDiscs(n, board = "board", timeout = TIMEOUT) {
    await this.page.waitForFunction(
      ([selector, count]) => document.querySelectorAll(`${selector} .cell.p1, ${selector} .cell.p2`).length === count,
      [sel(board), n],
      { timeout },
    );
  }

  /** 0 / 1 / 2 for the disc at (row, col). */
  cellValue(row, col, board = "board") {
    return this.page.locator(cellSel(row, col, board)).evaluate((el) => (el.classList.contains("p1") ? 1 : el.classList.contains("p2") ? 2 : 0));
  }

  /** The whole board as the page shows it, `board[row][col]`. */
  readBoard(board = "board") {
    return this.page.$$eval(`${sel(board)} .cell`, (cells) => {
      const grid = Array.from({ length: 6 }, () => Array(7).fill(0));
      for (const cell of cells) grid[Number(cell.dataset.row)][Number(cell.dataset.col)] = cell.classList.contains("p1") ? 1 : cell.classList.contains("p2") ? 2 : 0;
      return grid;
    });
  }

  /** Reads the session the app stored, as a test can't see the app's variables. */
  session() {
    return this.page.evaluate(() => JSON.parse(localStorage.getItem("c4arena.session") || "null"));
  }

  async screenshot(name, { fullPage = false } = {}) {
    if (process.env.C4_E2E_SCREENSHOTS === "0") return;
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    // A full-page picture starts at the top, or the sticky header lands mid-page.
    if (fullPage) await this.page.evaluate(() => window.scrollTo(0, 0));
    // Let entrance animations settle so the picture shows the resting state.
    await this.page.waitForTimeout(700);
    await this.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
  }
}

const AXE_SOURCE = path.join(REPO, "tests/e2e/node_modules/axe-core/axe.min.js");

/**
 * Runs axe-core (from node_modules, nothing fetched) over the page as it is now and
 * returns the serious and critical violations, each as "rule: target, …". The page's
 * context needs `bypassCSP` (the app allows only its own scripts).
 */
export async function accessibilityViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: fs.readFileSync(AXE_SOURCE, "utf8") });
  }
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
}

/** The element `testid` lies wholly inside the viewport. */
export async function inViewport(page, testid) {
  const box = await page.locator(sel(testid)).boundingBox();
  const size = page.viewportSize();
  return !!box && box.y >= 0 && box.y + box.height <= size.height && box.x >= 0 && box.x + box.width <= size.width;
}

/** Player `host` creates a game, `guest` opens the shared link; both reach the board. */
export async function startGame(host, guest) {
  const link = await host.createGame();
  const { search } = new URL(link);
  await guest.page.goto(`/${search}`);
  await guest.waitForScreen("game");
  await host.waitForScreen("game");
  await host.waitForText("game-status", "Your turn");
  await guest.waitForText("game-status", "Opponent's turn");
  return new URLSearchParams(search).get("join");
}

/** Plays `columns` alternately, host (red) first, by clicks. */
export async function playMoves(host, guest, columns) {
  for (let i = 0; i < columns.length; i++) {
    const mover = i % 2 === 0 ? host : guest;
    const other = i % 2 === 0 ? guest : host;
    await mover.drop(columns[i]);
    await other.waitForDiscs(await mover.discCount());
  }
}

/** Red wins vertically in column 0: yellow stacks column 1. */
export const VERTICAL_WIN = [0, 1, 0, 1, 0, 1, 0];

/**
 * A complete 42-move game that fills the board without four in a row at any point
 * (red moves first). `isDrawSequence` checks it with the rules before it is played.
 */
export const DRAW_SEQUENCE = [
  0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 4, 3, 3,
  3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6,
];

/** True when `columns` fills the 6x7 board with no four in a row along the way. */
export function isDrawSequence(columns) {
  const board = Array.from({ length: 6 }, () => Array(7).fill(0));
  const fours = (row, col, seat) =>
    [[0, 1], [1, 0], [1, 1], [1, -1]].some(([dr, dc]) => {
      let run = 1;
      for (const sign of [1, -1]) {
        let r = row + dr * sign;
        let c = col + dc * sign;
        while (r >= 0 && r < 6 && c >= 0 && c < 7 && board[r][c] === seat) {
          run += 1;
          r += dr * sign;
          c += dc * sign;
        }
      }
      return run >= 4;
    });
  if (columns.length !== 42) return false;
  return columns.every((col, i) => {
    const seat = i % 2 === 0 ? 1 : 2;
    const row = board.map((r) => r[col]).lastIndexOf(0);
    if (row < 0) return false;
    board[row][col] = seat;
    return !fours(row, col, seat);
  });
}

export async function waitForGameOver(player) {
  await player.locator("game-over").waitFor({ state: "visible" });
}

/** No element sticks out to the right of the viewport. */
export function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

// The game lobby: create a game and share its link, join an open game, find an
// opponent through matchmaking, watch live games, and look back at one's stats
// and history. Lists refresh themselves while the screen is shown.
//
// At most one of "my waiting game" and "my matchmaking search" exists at a time:
// starting one ends the other.

import { api } from "../api.js";
import { app, nav, refreshMe } from "../app.js";
import { collapseLeaderboard, mountLeaderboard } from "../leaderboard.js";
import { addressOf, setAddress } from "../router.js";
import { saveView } from "../storage.js";
import { historyItem, isReplayable } from "../history.js";
import { byId, every, formatDate, h, setError, showScreen, toast } from "../ui.js";

const OPEN_GAMES_EVERY_MS = 3000;
const LIVE_GAMES_EVERY_MS = 4000;
const WAITING_POLL_MS = 1000;
const MATCHMAKING_POLL_MS = 1000;

const screen = {
  active: false,
  stops: [],
  waitingGameId: null,
  waitingTimer: null,
  /** "idle" | "searching" | "failed" */
  matchmaking: "idle",
  matchTimer: null,
  /** Times in a row the server no longer had this search (it lost its queue). */
  requeues: 0,
};

/** How often in a row a search the server lost is started again by itself. */
const MAX_REQUEUES = 3;

function myId() {
  return app.me ? app.me.id : null;
}

function playError(message) {
  setError(byId("play-error"), message);
}

// ---------------------------------------------------------------- waiting game

function showWaiting(gameId) {
  screen.waitingGameId = gameId;
  byId("waiting-card").hidden = false;
  byId("share-link").value = `${location.origin}/?join=${encodeURIComponent(gameId)}`;
  byId("create-game").disabled = true;
  clearTimeout(screen.waitingTimer);
  pollWaiting(gameId);
}

function hideWaiting() {
  screen.waitingGameId = null;
  clearTimeout(screen.waitingTimer);
  byId("waiting-card").hidden = true;
  byId("create-game").disabled = false;
}

async function pollWaiting(gameId) {
  if (!screen.active || screen.waitingGameId !== gameId) return;
  try {
    const status = await api.gameStatus(gameId);
    if (screen.waitingGameId !== gameId) return;
    if (status.status === "active") {
      hideWaiting();
      nav.game(gameId, "play");
      return;
    }
    if (status.status !== "waiting") {
      hideWaiting();
      toast("Game closed", "Your open game is no longer available. Create a new one.", { kind: "warning" });
      return;
    }
  } catch (err) {
    if (err.status === 404) {
      hideWaiting();
      toast("Game closed", "Your open game is no longer available. Create a new one.", { kind: "warning" });
      return;
    }
  }
  screen.waitingTimer = setTimeout(() => pollWaiting(gameId), WAITING_POLL_MS);
}

/** The options picked in the lobby's create form ("Standard" time: the server's default). */
function chosenOptions() {
  const time = byId("option-time").value;
  return {
    ...(time ? { move_time_limit_secs: Number(time) } : {}),
    rated: byId("option-rated").value === "rated",
    colour: byId("option-colour").value,
  };
}

/** A waiting game's options in words, for the open-games list. */
function optionsText(g) {
  const colour = { first: "moves first", second: "moves second", random: "random colours" }[g.colour];
  return [g.rated === false ? "Casual" : "Rated", g.move_time_limit_secs ? `${g.move_time_limit_secs}s per move` : "", colour ? `creator ${colour}`.replace("creator random", "random") : ""];
}

async function createGame() {
  playError("");
  await stopMatchmaking({ leaveQueue: true });
  // Leaving the queue may have revealed a match made in the meantime: that game is on.
  if (!screen.active) return;
  const button = byId("create-game");
  button.disabled = true;
  try {
    const game = await api.createGame(chosenOptions());
    showWaiting(game.game_id);
    refreshOpenGames();
  } catch (err) {
    button.disabled = false;
    if (err.code === "already_in_game") {
      playError("You already have a game going. Resume it first.");
      checkActiveGame();
    } else {
      playError(err.message);
    }
  }
}

/** Starts a game against the computer at the chosen level; it begins at once. */
async function playComputer() {
  playError("");
  await stopMatchmaking({ leaveQueue: true });
  if (!screen.active) return;
  const button = byId("play-computer");
  button.disabled = true;
  try {
    const game = await api.playComputer(byId("bot-level").value);
    nav.game(game.game_id, "play");
  } catch (err) {
    if (err.code === "already_in_game") {
      playError("You already have a game going. Resume it first.");
      checkActiveGame();
    } else {
      playError(err.message);
    }
  } finally {
    button.disabled = false;
  }
}

async function cancelWaiting() {
  const gameId = screen.waitingGameId;
  hideWaiting();
  if (!gameId) return;
  try {
    await api.cancelGame(gameId);
  } catch (err) {
    // Someone joined in the meantime: the game is on.
    if (err.code === "game_not_waiting") {
      nav.game(gameId, "play");
      return;
    }
  }
  refreshOpenGames();
}

async function copyLink() {
  const input = byId("share-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    toast("Link copied", "Send it to a friend to start playing.", { kind: "success" });
  } catch {
    toast("Copy the link", "Select the link and copy it by hand.", { kind: "info" });
  }
}

// ---------------------------------------------------------------- matchmaking

function renderMatchmaking(text) {
  const state = screen.matchmaking;
  const findButton = byId("find-opponent");
  findButton.disabled = state === "searching";
  findButton.textContent = state === "searching" ? "Searching…" : "Find opponent";
  byId("matchmaking-card").hidden = state === "idle";
  byId("matchmaking-spinner").hidden = state !== "searching";
  byId("retry-matchmaking").hidden = state !== "failed";
  byId("matchmaking-title").textContent = state === "failed" ? "No match this time" : "Finding an opponent…";
  if (text) byId("matchmaking-status").textContent = text;
}

function queueText(status) {
  if (typeof status.queue_size === "number" && status.queue_size > 0) {
    const n = status.queue_size;
    return `Searching… ${n} player${n === 1 ? "" : "s"} in the queue`;
  }
  return "Searching for a player near your rating";
}

async function startMatchmaking() {
  playError("");
  if (screen.waitingGameId) await cancelWaiting();
  // Someone joined the open game just before it was withdrawn: that game is on.
  if (!screen.active) return;
  screen.matchmaking = "searching";
  screen.requeues = 0;
  renderMatchmaking("Searching for a player near your rating");
  try {
    const status = await api.joinQueue(myId());
    handleQueueStatus(status);
  } catch (err) {
    if (err.code === "already_in_game") {
      screen.matchmaking = "idle";
      renderMatchmaking();
      playError("You already have a game going. Resume it first.");
      checkActiveGame();
      return;
    }
    screen.matchmaking = "failed";
    renderMatchmaking(err.message);
  }
}

function handleQueueStatus(status) {
  if (screen.matchmaking !== "searching") return;
  if (status.status === "matched" && status.game_id) {
    screen.matchmaking = "idle";
    renderMatchmaking();
    nav.game(status.game_id, "play");
    return;
  }
  if (status.status === "queued") {
    screen.requeues = 0;
    renderMatchmaking(queueText(status));
    clearTimeout(screen.matchTimer);
    screen.matchTimer = setTimeout(pollMatchmaking, MATCHMAKING_POLL_MS);
    return;
  }
  // Still searching, yet the server has no queue entry: its queue was lost (a Redis
  // restart) or the entry expired. Join again rather than give up.
  if (screen.requeues < MAX_REQUEUES) {
    screen.requeues += 1;
    renderMatchmaking("Rejoining the queue…");
    api.joinQueue(myId()).then(handleQueueStatus, () => {
      clearTimeout(screen.matchTimer);
      screen.matchTimer = setTimeout(pollMatchmaking, MATCHMAKING_POLL_MS);
    });
    return;
  }
  screen.matchmaking = "failed";
  renderMatchmaking("You left the queue. Try again?");
}

async function pollMatchmaking() {
  if (!screen.active || screen.matchmaking !== "searching") return;
  try {
    handleQueueStatus(await api.queueStatus(myId()));
  } catch (err) {
    if (err.status === 401) return;
    // A transient failure: keep the place in the queue and ask again.
    clearTimeout(screen.matchTimer);
    screen.matchTimer = setTimeout(pollMatchmaking, MATCHMAKING_POLL_MS);
  }
}

async function stopMatchmaking({ leaveQueue }) {
  const wasSearching = screen.matchmaking === "searching";
  clearTimeout(screen.matchTimer);
  screen.matchmaking = "idle";
  renderMatchmaking();
  if (leaveQueue && wasSearching) {
    try {
      const status = await api.leaveQueue(myId());
      // The match was made just before leaving: play it.
      if (status && status.status === "matched" && status.game_id) nav.game(status.game_id, "play");
    } catch {
      // The queue entry expires on its own.
    }
  }
}

// ---------------------------------------------------------------- lists

function empty(text) {
  return h("li", { class: "empty muted" }, text);
}

async function refreshOpenGames() {
  const list = byId("open-games");
  let games;
  try {
    games = await api.waitingGames();
  } catch {
    list.replaceChildren(empty("Could not load open games."));
    return;
  }
  const others = (games || []).filter((g) => !(g.player1 && g.player1.id === myId()) && g.game_id !== screen.waitingGameId);
  if (others.length === 0) {
    list.replaceChildren(empty("No open games right now. Create one!"));
    return;
  }
  list.replaceChildren(
    ...others.map((g) =>
      h(
        "li",
        { class: "game-item", dataset: { testid: "open-game", gameId: g.game_id } },
        h(
          "div",
          { class: "grow" },
          h("span", { class: "name" }, g.player1 ? g.player1.username : "Someone"),
          h(
            "span",
            { class: "muted small" },
            [g.player1 ? `${g.player1.elo_rating} Elo` : "", ...optionsText(g), formatDate(g.created_at)]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
        h("button", { type: "button", class: "primary small", dataset: { testid: "join-game", gameId: g.game_id }, onclick: () => nav.join(g.game_id) }, "Join"),
      ),
    ),
  );
}

async function refreshLiveGames() {
  const list = byId("live-games");
  let games;
  try {
    games = await api.liveGames();
  } catch {
    list.replaceChildren(empty("Could not load live games."));
    return;
  }
  const me = myId();
  const others = (games || []).filter((g) => !(g.player1 && g.player1.id === me) && !(g.player2 && g.player2.id === me));
  if (others.length === 0) {
    list.replaceChildren(empty("No games being played right now."));
    return;
  }
  list.replaceChildren(
    ...others.map((g) =>
      h(
        "li",
        { class: "game-item", dataset: { testid: "live-game", gameId: g.game_id } },
        h(
          "div",
          { class: "grow" },
          h(
            "span",
            { class: "name" },
            h("i", { class: "dot p1" }),
            g.player1 ? g.player1.username : "?",
            h("span", { class: "muted" }, " vs "),
            h("i", { class: "dot p2" }),
            g.player2 ? g.player2.username : "?",
          ),
          h("span", { class: "muted small" }, `${g.move_count} moves · ${g.viewers || 0} watching`),
        ),
        h("button", { type: "button", class: "secondary small", dataset: { testid: "watch-game", gameId: g.game_id }, onclick: () => nav.game(g.game_id, "watch") }, "Watch"),
      ),
    ),
  );
}

function statItem(label, value, cls = "") {
  return h("div", { class: "stat" }, h("span", { class: `stat-value ${cls}` }, String(value)), h("span", { class: "stat-label" }, label));
}

function formatRate(rate, s) {
  if (typeof rate !== "number") return "–";
  // Accept both a fraction (0.5) and a percentage (50).
  const decisive = s.total_games > 0 ? s.wins / s.total_games : 0;
  const pct = Math.abs(rate - decisive) < 1e-6 && rate <= 1 ? rate * 100 : rate;
  return `${Math.round(pct)}%`;
}

async function loadStats() {
  const card = byId("stats-card");
  try {
    const s = await api.playerStats(myId());
    if (!s || !s.total_games) {
      card.hidden = true;
      return;
    }
    byId("stats-grid").replaceChildren(
      statItem("Games", s.total_games),
      statItem("Wins", s.wins, "win"),
      statItem("Losses", s.losses, "loss"),
      statItem("Draws", s.draws, "draw"),
      statItem("Win rate", formatRate(s.win_rate, s)),
      statItem("Elo", s.elo_rating),
      statItem("Streak", s.current_streak ?? 0),
      statItem("Best streak", s.best_streak ?? 0),
    );
    card.hidden = false;
  } catch {
    card.hidden = true;
  }
}

async function loadHistory() {
  const card = byId("history-card");
  let games;
  try {
    games = await api.playerGames(myId(), 10);
  } catch {
    card.hidden = true;
    return;
  }
  if (!Array.isArray(games) || games.length === 0) {
    card.hidden = true;
    return;
  }
  byId("history-list").replaceChildren(
    ...games.map((g) =>
      historyItem(g, {
        testid: "history-item",
        resultTestid: "history-result",
        action: isReplayable(g)
          ? h("button", { type: "button", class: "secondary small", dataset: { testid: "replay-game", gameId: g.game_id }, onclick: () => nav.replay(g.game_id) }, "Replay")
          : g.result === "in_progress"
            ? h("button", { type: "button", class: "primary small", dataset: { testid: "history-resume", gameId: g.game_id }, onclick: () => nav.game(g.game_id, "play") }, "Resume")
            : null,
      }),
    ),
  );
  card.hidden = false;
}

async function checkActiveGame() {
  const card = byId("resume-card");
  try {
    const active = await api.activeGame(myId());
    if (!screen.active) return;
    if (!active) {
      card.hidden = true;
      return;
    }
    if (active.status === "waiting" && active.my_player === 1) {
      card.hidden = true;
      if (screen.waitingGameId !== active.game_id) showWaiting(active.game_id);
      return;
    }
    if (active.status === "active") {
      byId("resume-text").textContent = "You are in the middle of a game. Your opponent is waiting for you.";
      const button = byId("resume-game");
      button.onclick = () => nav.game(active.game_id, "play");
      card.hidden = false;
      return;
    }
    card.hidden = true;
  } catch {
    card.hidden = true;
  }
}

// ---------------------------------------------------------------- lifecycle

export function initGames() {
  byId("create-game").addEventListener("click", createGame);
  byId("play-computer").addEventListener("click", playComputer);
  byId("cancel-game").addEventListener("click", cancelWaiting);
  byId("copy-link").addEventListener("click", copyLink);
  byId("find-opponent").addEventListener("click", startMatchmaking);
  byId("retry-matchmaking").addEventListener("click", startMatchmaking);
  byId("cancel-matchmaking").addEventListener("click", () => stopMatchmaking({ leaveQueue: true }));
  byId("refresh-games").addEventListener("click", () => {
    refreshOpenGames();
    refreshLiveGames();
  });
  mountLeaderboard(byId("home-leaderboard-toggle"), byId("home-leaderboard-list"));
  nav.games = enterGames;
}

export function enterGames() {
  leaveGames();
  screen.active = true;
  saveView({ screen: "games" });
  setAddress(addressOf.home());
  byId("home-username").textContent = app.me.username;
  byId("home-elo").textContent = typeof app.me.elo_rating === "number" ? `${app.me.elo_rating} Elo` : "";
  playError("");
  byId("resume-card").hidden = true;
  hideWaiting();
  screen.matchmaking = "idle";
  renderMatchmaking();
  collapseLeaderboard(byId("home-leaderboard-toggle"), byId("home-leaderboard-list"));
  showScreen("games");

  screen.stops.push(every(OPEN_GAMES_EVERY_MS, refreshOpenGames));
  screen.stops.push(every(LIVE_GAMES_EVERY_MS, refreshLiveGames));
  loadStats();
  loadHistory();
  checkActiveGame();
  refreshMe()
    .then(() => {
      if (screen.active && app.me) byId("home-elo").textContent = `${app.me.elo_rating} Elo`;
    })
    .catch(() => {});
}

/** Stops everything the game lobby runs; called before any other screen shows. */
export function leaveGames() {
  screen.active = false;
  for (const stop of screen.stops) stop();
  screen.stops = [];
  clearTimeout(screen.waitingTimer);
  clearTimeout(screen.matchTimer);
  if (screen.matchmaking === "searching" && app.session) {
    api.leaveQueue(myId()).catch(() => {});
  }
  screen.matchmaking = "idle";
}

/** Withdraws the player's own open game and matchmaking search (before joining another game). */
export async function dropLobbyPlans() {
  if (screen.waitingGameId) await cancelWaiting();
  await stopMatchmaking({ leaveQueue: true });
}

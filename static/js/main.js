// Entry point: wires the screens together and decides, on every page load, which
// screen to show.
//
// Start-up order: a quick-play link (`?watch=<id>`, `?join=<id>`) wins; then the
// screen this tab showed before a refresh; then an unfinished game of the player;
// then the game lobby (logged in) or the sign-in screen. A stored session is
// checked with `GET /players/me` before anything trusts it.

import { api, setToken } from "./api.js";
import { app, nav, renderUserChip, signOut } from "./app.js";
import { initGame, leaveGame } from "./screens/game.js";
import { dropLobbyPlans, initGames, leaveGames } from "./screens/games.js";
import { initLobby } from "./screens/lobby.js";
import { initReplay, leaveReplay } from "./screens/replay.js";
import { isGameId, loadSession, loadView, saveSession, saveView } from "./storage.js";
import { byId, every, toast } from "./ui.js";

const STATS_EVERY_MS = 5000;
const HEARTBEAT_EVERY_MS = 20_000;

function initNavigation() {
  // Every screen change first stops what the other screens were running.
  const wrap = (fn, keep) =>
    (...args) => {
      if (keep !== "games") leaveGames();
      if (keep !== "game") leaveGame();
      if (keep !== "replay") leaveReplay();
      return fn(...args);
    };
  nav.lobby = wrap(nav.lobby);
  nav.games = wrap(nav.games, "games");
  nav.game = wrap(nav.game, "game");
  nav.replay = wrap(nav.replay, "replay");
  nav.join = joinGame;
}

async function refreshLiveStats() {
  const stats = await api.stats();
  byId("stat-active-games").textContent = String(stats.active_games ?? 0);
  byId("stat-online-players").textContent = String(stats.online_players ?? 0);
}

function startHeartbeat() {
  every(HEARTBEAT_EVERY_MS, async () => {
    if (!app.session) return;
    try {
      const beat = await api.heartbeat();
      if (beat && typeof beat.online_players === "number") byId("stat-online-players").textContent = String(beat.online_players);
    } catch (err) {
      if (err.status === 401) expireSession();
    }
  });
}

function expireSession() {
  if (!app.session) return;
  leaveGames();
  leaveGame();
  signOut();
  toast("Session expired", "Log in again to keep playing.", { kind: "warning" });
  nav.lobby();
}

function logout() {
  leaveGames();
  leaveGame();
  leaveReplay();
  signOut();
  nav.lobby();
}

/** Joins game `gameId` from a link or the open-games list, recovering from every refusal. */
async function joinGame(gameId) {
  if (!app.session) {
    nav.lobby({ joinId: gameId });
    return;
  }
  // Joining a game withdraws the player's own open game and matchmaking search.
  await dropLobbyPlans();
  try {
    await api.joinGame(gameId);
    nav.game(gameId, "play");
    return;
  } catch (err) {
    await recoverFromJoin(gameId, err);
  }
}

async function recoverFromJoin(gameId, err) {
  if (err.code === "own_game") {
    // The player opened their own invitation: show it as their waiting game.
    nav.games();
    return;
  }
  if (err.code === "already_in_game") {
    let active = null;
    try {
      active = await api.activeGame(app.me.id);
    } catch {
      active = null;
    }
    if (active && active.status === "waiting") {
      try {
        await api.cancelGame(active.game_id);
        await api.joinGame(gameId);
        nav.game(gameId, "play");
        return;
      } catch {
        // Fall through to the lobby with an explanation.
      }
    }
    toast("You are already playing", "Finish or resign your current game first.", { kind: "warning" });
    nav.games();
    return;
  }
  let game = null;
  try {
    game = await api.game(gameId);
  } catch {
    game = null;
  }
  if (!game) {
    toast("Game not found", "The link may be wrong or the game was cancelled.", { kind: "warning" });
    nav.games();
    return;
  }
  const mine = [game.player1, game.player2].some((p) => p && p.id === app.me.id);
  if (mine) {
    nav.game(gameId, "play");
  } else if (game.status === "active") {
    toast("This game is full", "You are watching it instead.", { kind: "info" });
    nav.game(gameId, "watch");
  } else {
    toast("Game unavailable", err.message || "That game can no longer be joined.", { kind: "warning" });
    nav.games();
  }
}

async function restoreSession() {
  const session = loadSession();
  if (!session) return;
  setToken(session.token);
  try {
    const me = await api.me();
    app.session = { ...session, playerId: me.id, username: me.username };
    app.me = me;
    saveSession(app.session);
  } catch (err) {
    if (err.status === 401 || err.status === 404) {
      signOut();
    } else {
      // The server is unreachable: keep the session and let the screens retry.
      app.session = session;
      app.me = { id: session.playerId, username: session.username, elo_rating: null, guest: true };
    }
  }
  renderUserChip();
}

async function boot() {
  const params = new URLSearchParams(location.search);
  const joinId = params.get("join");
  const watchId = params.get("watch");
  if (joinId !== null || watchId !== null) history.replaceState(null, "", "/");

  await restoreSession();

  if (watchId && isGameId(watchId)) return nav.game(watchId, "watch");
  if (joinId && isGameId(joinId)) return nav.join(joinId);

  const view = loadView();
  if (view && view.screen === "game" && view.mode === "watch") return nav.game(view.gameId, "watch");
  if (view && view.screen === "replay") return nav.replay(view.gameId);
  if (!app.session) return nav.lobby();
  if (view && view.screen === "game") return nav.game(view.gameId, "play");
  if (view && view.screen === "games") return nav.games();

  try {
    const active = await api.activeGame(app.me.id);
    if (active && active.status === "active") return nav.game(active.game_id, "play");
  } catch {
    // No unfinished game (404) or the server is busy: the lobby will check again.
  }
  return nav.games();
}

function start() {
  initLobby();
  initGames();
  initGame();
  initReplay();
  initNavigation();
  byId("logout").addEventListener("click", logout);
  every(STATS_EVERY_MS, refreshLiveStats);
  startHeartbeat();
  boot().catch(() => {
    saveView(null);
    nav.lobby();
  });
}

start();

// Entry point: wires the screens together and decides, on every page load, which
// screen to show.
//
// Start-up order: a quick-play link (`?watch=<id>`, `?join=<id>`) wins; then the
// address (`/game/<id>`, `/replay/<id>`, `/player/<name>`, … see router.js), so a
// reload or a shared link opens its screen; at `/`, the game lobby a refresh left;
// then an unfinished game of the player; then the game lobby (logged in) or the
// sign-in screen. A stored session is checked with `GET /players/me` before anything
// trusts it. Back and Forward move between the screens of the app.

import { api, setToken } from "./api.js";
import { app, goHome, nav, refreshLiveStats, renderUserChip, signOut } from "./app.js";
import { initLeaderboardPage } from "./leaderboard.js";
import { initPrefs } from "./prefs.js";
import { addressOf, interceptLinks, onHistory, parseAddress } from "./router.js";
import { initGame, leaveGame } from "./screens/game.js";
import { dropLobbyPlans, initGames, leaveGames } from "./screens/games.js";
import { initLobby } from "./screens/lobby.js";
import { initProfile, leaveProfile } from "./screens/profile.js";
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
      if (keep !== "profile") leaveProfile();
      const shown = fn(...args);
      // The counters change with what players do: show fresh ones with every screen.
      refreshLiveStats().catch(() => {});
      return shown;
    };
  nav.lobby = wrap(nav.lobby);
  nav.games = wrap(nav.games, "games");
  nav.game = wrap(nav.game, "game");
  nav.replay = wrap(nav.replay, "replay");
  nav.profile = wrap(nav.profile, "profile");
  nav.leaderboard = wrap(nav.leaderboard);
  nav.join = joinGame;
  nav.open = openRoute;
}

/** Opens the screen of an address (see router.js). */
function openRoute(route) {
  switch (route.screen) {
    case "game":
      return openGameAddress(route.param);
    case "watch":
      return nav.game(route.param, "watch");
    case "replay":
      return nav.replay(route.param);
    case "player":
      return nav.profile(route.param);
    case "leaderboard":
      return nav.leaderboard();
    default:
      return goHome();
  }
}

/**
 * `/game/<id>`: a seat of the game plays it; anybody else joins it while it waits for
 * an opponent (signing in first if needed), and watches it otherwise.
 */
async function openGameAddress(gameId) {
  let game = null;
  try {
    game = await api.game(gameId);
  } catch {
    game = null;
  }
  const mine = !!(app.me && game && [game.player1, game.player2].some((p) => p && p.id === app.me.id));
  if (game && game.status === "waiting" && !mine) return app.session ? nav.join(gameId) : nav.lobby({ joinId: gameId });
  return nav.game(gameId, app.session && (mine || !game) ? "play" : "watch");
}

/** Marks the player online now and every 20 s, so the header's count includes them. */
function startHeartbeat() {
  every(HEARTBEAT_EVERY_MS, async () => {
    if (!app.session) return;
    try {
      await api.heartbeat();
    } catch (err) {
      if (err.status === 401) expireSession();
    }
  });
}

/** Keeps `--topbar-h` equal to the top bar's height: the game's status bar sticks below it. */
function trackTopbarHeight() {
  const bar = document.querySelector(".topbar");
  const set = () => document.documentElement.style.setProperty("--topbar-h", `${bar.offsetHeight}px`);
  set();
  new ResizeObserver(set).observe(bar);
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
  if (joinId !== null || watchId !== null) {
    // The quick-play parameter is consumed: the address becomes the game's own.
    const target = watchId && isGameId(watchId) ? addressOf.watch(watchId) : joinId && isGameId(joinId) ? addressOf.game(joinId) : "/";
    history.replaceState(null, "", target);
  }

  await restoreSession();
  if (app.session) api.heartbeat().catch(() => {});

  if (watchId && isGameId(watchId)) return nav.game(watchId, "watch");
  if (joinId && isGameId(joinId)) return nav.join(joinId);

  const route = parseAddress(location.pathname);
  if (route && route.screen !== "home") return openRoute(route);
  if (!route) history.replaceState(null, "", "/");

  if (!app.session) return nav.lobby();
  const view = loadView();
  if (view && view.screen === "games") return nav.games();

  try {
    const active = await api.activeGame(app.me.id);
    if (active && active.status === "active") return nav.game(active.game_id, "play");
  } catch {
    // The server is busy: the lobby will check again.
  }
  return nav.games();
}

function start() {
  initLobby();
  initGames();
  initGame();
  initReplay();
  initProfile(nav);
  initLeaderboardPage(nav);
  initNavigation();
  initPrefs();
  trackTopbarHeight();
  onHistory(openRoute);
  interceptLinks(openRoute);
  byId("logout").addEventListener("click", logout);
  every(STATS_EVERY_MS, refreshLiveStats);
  startHeartbeat();
  boot().catch(() => {
    saveView(null);
    nav.lobby();
  });
}

start();

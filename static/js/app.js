// The application's shared context: who is logged in, and how to move between
// screens. Screens register their entry points in `nav` so they can send the
// player to each other without importing each other.

import { api, setToken } from "./api.js";
import { addressOf } from "./router.js";
import { saveSession } from "./storage.js";
import { byId, plural } from "./ui.js";

export const app = {
  /** `{token, playerId, username}` while logged in, else null. */
  session: null,
  /** The player as the server last described it: `{id, username, elo_rating, guest}`. */
  me: null,
};

/**
 * Entry points filled in by the screens: lobby(opts), games(), game(id, mode),
 * replay(id), profile(username), leaderboard(), join(id), open(route).
 */
export const nav = {};

export function isLoggedIn() {
  return app.session !== null;
}

export function signIn(player) {
  app.session = { token: player.token, playerId: player.id, username: player.username };
  app.me = { id: player.id, username: player.username, elo_rating: player.elo_rating, guest: !!player.guest };
  setToken(player.token);
  saveSession(app.session);
  renderUserChip();
  // Count as online right away rather than at the next periodic heartbeat.
  api
    .heartbeat()
    .then(() => refreshLiveStats())
    .catch(() => {});
}

/** Reads the cluster's counters into the header: live games (pluralised) and players online. */
export async function refreshLiveStats() {
  const stats = await api.stats();
  const games = stats.active_games ?? 0;
  byId("stat-active-games").textContent = String(games);
  byId("stat-active-games-label").textContent = plural(games, "live game");
  byId("stat-online-players").textContent = String(stats.online_players ?? 0);
}

export function signOut() {
  app.session = null;
  app.me = null;
  setToken(null);
  saveSession(null);
  renderUserChip();
}

export function updateMyRating(rating) {
  if (!app.me || typeof rating !== "number") return;
  app.me.elo_rating = rating;
  renderUserChip();
}

export async function refreshMe() {
  if (!app.session) return;
  const me = await api.me();
  app.me = me;
  renderUserChip();
}

export function renderUserChip() {
  const chip = byId("user-chip");
  chip.hidden = !app.me;
  if (!app.me) return;
  const name = byId("user-chip-name");
  name.textContent = app.me.username;
  name.href = addressOf.player(app.me.username);
  name.title = "Your profile";
  byId("user-chip-elo").textContent = typeof app.me.elo_rating === "number" ? `${app.me.elo_rating}` : "";
}

/** Back to the player's home: the game lobby when logged in, the sign-in screen otherwise. */
export function goHome() {
  if (isLoggedIn()) nav.games();
  else nav.lobby();
}

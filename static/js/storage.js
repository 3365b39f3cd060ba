// What survives a page refresh.
//
// The session (token and who it belongs to) lives in localStorage, so a player stays
// logged in across tabs and restarts; the screen being shown lives in sessionStorage,
// so each tab restores its own view. Anything unreadable, or with a missing or
// mistyped field, is discarded: the app then starts from the lobby instead of a
// half-restored state.

const SESSION_KEY = "c4arena.session";
const VIEW_KEY = "c4arena.view";

const SCREENS = new Set(["lobby", "games", "game", "replay"]);
const GAME_MODES = new Set(["play", "watch"]);

function read(store, key) {
  try {
    const raw = store.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    try {
      store.removeItem(key);
    } catch {
      // Storage unavailable: nothing to clean up.
    }
    return null;
  }
}

function write(store, key, value) {
  try {
    if (value === null) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the app still works, it just won't restore.
  }
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isId = (v) => (typeof v === "number" && Number.isInteger(v) && v > 0) || (typeof v === "string" && v.length > 0);
const isGameId = (v) => typeof v === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(v);

/** `{token, playerId, username}` or null. */
export function loadSession() {
  const s = read(localStorage, SESSION_KEY);
  if (!isObject(s) || typeof s.token !== "string" || !s.token || !isId(s.playerId) || typeof s.username !== "string") {
    if (s !== null) write(localStorage, SESSION_KEY, null);
    return null;
  }
  return { token: s.token, playerId: s.playerId, username: s.username };
}

export function saveSession(session) {
  write(localStorage, SESSION_KEY, session ? { token: session.token, playerId: session.playerId, username: session.username } : null);
}

/** `{screen, gameId?, mode?}` or null. */
export function loadView() {
  const v = read(sessionStorage, VIEW_KEY);
  if (!isObject(v) || !SCREENS.has(v.screen)) {
    if (v !== null) write(sessionStorage, VIEW_KEY, null);
    return null;
  }
  if (v.screen === "game" && (!isGameId(v.gameId) || !GAME_MODES.has(v.mode))) return null;
  if (v.screen === "replay" && !isGameId(v.gameId)) return null;
  return v;
}

export function saveView(view) {
  write(sessionStorage, VIEW_KEY, view);
}

export { isGameId };

// Sign-in screen: register (guest, or with a password to keep the account) or log in.
// A join link opened while logged out waits here and is followed after sign-in.

import { api } from "../api.js";
import { nav, signIn } from "../app.js";
import { collapseLeaderboard, mountLeaderboard } from "../leaderboard.js";
import { addressOf, setAddress } from "../router.js";
import { saveView } from "../storage.js";
import { byId, setError, showScreen } from "../ui.js";

let mode = "register";
let pendingJoin = null;

const MESSAGES = {
  username_taken: "That username is taken. Pick another one, or log in if it is yours.",
  invalid_credentials: "Wrong username or password.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  unavailable: "The server is busy. Try again in a moment.",
};

function setMode(next) {
  mode = next;
  const register = mode === "register";
  byId("auth-mode-register").setAttribute("aria-selected", String(register));
  byId("auth-mode-login").setAttribute("aria-selected", String(!register));
  byId("auth-submit").textContent = register ? "Play" : "Log in";
  document.getElementById("auth-password-label").innerHTML = register
    ? 'Password <em class="muted">(optional: keeps your account)</em>'
    : "Password";
  byId("auth-password").autocomplete = register ? "new-password" : "current-password";
  document.getElementById("auth-hint").hidden = !register;
  setError(byId("auth-error"), "");
}

function validate(username, password) {
  if (!username) return "Pick a username.";
  if (username.length > 32) return "Usernames are at most 32 characters.";
  if (mode === "login" && !password) return "Enter your password.";
  return null;
}

async function submit(event) {
  event.preventDefault();
  const errorEl = byId("auth-error");
  const button = byId("auth-submit");
  const username = byId("auth-username").value.trim();
  const password = byId("auth-password").value;
  const problem = validate(username, password);
  setError(errorEl, problem);
  if (problem) {
    byId("auth-username").focus();
    return;
  }

  button.disabled = true;
  try {
    const player = mode === "register" ? await api.register(username, password || undefined) : await api.login(username, password);
    signIn(player);
    byId("auth-password").value = "";
    const joinId = pendingJoin;
    pendingJoin = null;
    if (joinId) await nav.join(joinId);
    else nav.games();
  } catch (err) {
    setError(errorEl, MESSAGES[err.code] || err.message || "Something went wrong. Try again.");
    byId("auth-username").focus();
  } finally {
    button.disabled = false;
  }
}

export function initLobby() {
  byId("auth-form").addEventListener("submit", submit);
  byId("auth-mode-register").addEventListener("click", () => setMode("register"));
  byId("auth-mode-login").addEventListener("click", () => setMode("login"));
  byId("auth-username").addEventListener("input", () => setError(byId("auth-error"), ""));
  mountLeaderboard(byId("leaderboard-toggle"), byId("leaderboard-list"));
  nav.lobby = enterLobby;
}

/** Shows the sign-in screen; `joinId` is a game to join right after signing in. */
export function enterLobby({ joinId = null } = {}) {
  pendingJoin = joinId;
  const notice = byId("auth-notice");
  notice.hidden = !joinId;
  notice.textContent = joinId ? "You were invited to a game. Pick a name (or log in) to join it." : "";
  collapseLeaderboard(byId("leaderboard-toggle"), byId("leaderboard-list"));
  saveView({ screen: "lobby" });
  // An invitation keeps its game's address until the player has signed in and joined.
  if (!joinId) setAddress(addressOf.home());
  showScreen("lobby");
  byId("auth-username").focus();
}

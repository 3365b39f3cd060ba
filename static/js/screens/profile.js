// A player's profile (`/player/<name>`): rating, record, the rating over their games
// as a chart, the record against the viewer, and recent games linking to replays.
// Public: it works logged out too (without the head-to-head).

import { api } from "../api.js";
import { app, goHome } from "../app.js";
import { ratingChart } from "../chart.js";
import { addressOf, setAddress } from "../router.js";
import { saveView } from "../storage.js";
import { historyItem, isReplayable } from "../history.js";
import { byId, h, setError, showScreen } from "../ui.js";

let shown = null;

export function initProfile(nav) {
  byId("profile-back").addEventListener("click", () => (history.length > 1 ? history.back() : goHome()));
  nav.profile = openProfile;
}

function stat(label, value, cls = "") {
  return h("div", { class: "stat" }, h("span", { class: `stat-value ${cls}` }, String(value)), h("span", { class: "stat-label" }, label));
}

export async function openProfile(username) {
  shown = username;
  saveView(null);
  setAddress(addressOf.player(username));
  byId("profile-name").textContent = username;
  byId("profile-elo").textContent = "";
  byId("profile-peak").textContent = "";
  byId("profile-stats").replaceChildren();
  byId("rating-chart").replaceChildren(h("p", { class: "muted" }, "Loading…"));
  byId("profile-games").replaceChildren();
  byId("profile-versus-card").hidden = true;
  setError(byId("profile-error"), "");
  document.title = `${username} · Connect 4 Arena`;
  showScreen("profile");

  let profile;
  try {
    profile = await api.profile(username);
  } catch (err) {
    if (shown !== username) return;
    byId("rating-chart").replaceChildren();
    setError(byId("profile-error"), err.code === "player_not_found" ? `Nobody is called ${username}.` : err.message);
    return;
  }
  if (shown !== username) return;
  renderProfile(profile);
  loadVersus(profile);
  loadGames(profile);
}

function renderProfile(p) {
  byId("profile-name").textContent = p.username;
  byId("profile-elo").textContent = `${p.elo_rating} Elo`;
  byId("profile-peak").textContent = `Peak ${p.peak_rating}`;
  const rate = p.total_games ? `${Math.round((p.wins / p.total_games) * 100)}%` : "–";
  byId("profile-stats").replaceChildren(
    stat("Games", p.total_games),
    stat("Wins", p.wins, "win"),
    stat("Losses", p.losses, "loss"),
    stat("Draws", p.draws, "draw"),
    stat("Win rate", rate),
  );
  const points = p.rating_history || [];
  const last = points.length ? points[points.length - 1].rating : p.elo_rating;
  const label = points.length
    ? `Rating of ${p.username} over ${points.length} rated game${points.length === 1 ? "" : "s"}: from ${p.starting_rating} to ${last}, peak ${p.peak_rating}.`
    : `${p.username} has no rated games yet: rating ${p.elo_rating}.`;
  const chart = byId("rating-chart");
  chart.replaceChildren(ratingChart({ start: p.starting_rating, points, label }));
  if (!points.length) chart.append(h("p", { class: "muted small" }, "The chart grows with every rated game."));
}

async function loadVersus(p) {
  const card = byId("profile-versus-card");
  if (!app.me || app.me.id === p.player_id) return;
  try {
    const record = await api.versus(app.me.username, p.username);
    if (shown === null) return;
    byId("profile-versus").textContent = record.total_games
      ? `You ${record.wins} – ${record.losses} ${p.username}${record.draws ? `, ${record.draws} draw${record.draws === 1 ? "" : "s"}` : ""} (${record.total_games} game${record.total_games === 1 ? "" : "s"}).`
      : `You have not finished a game against ${p.username} yet.`;
    card.hidden = false;
  } catch {
    card.hidden = true;
  }
}

async function loadGames(p) {
  const list = byId("profile-games");
  let games;
  try {
    games = await api.playerGames(p.player_id, 10);
  } catch {
    list.replaceChildren(h("li", { class: "empty muted" }, "Could not load the games."));
    return;
  }
  if (shown === null) return;
  if (!games.length) {
    list.replaceChildren(h("li", { class: "empty muted" }, "No games yet."));
    return;
  }
  list.replaceChildren(
    ...games.map((g) =>
      historyItem(g, {
        testid: "profile-game",
        action: isReplayable(g)
          ? h("a", { class: "button secondary small", href: addressOf.replay(g.game_id), dataset: { link: "", testid: "profile-replay" } }, "Replay")
          : null,
      }),
    ),
  );
}

export function leaveProfile() {
  shown = null;
  document.title = "Connect 4 Arena";
}

// The leaderboard: a collapsible card in the lobbies (collapsed by default; loads when
// opened and reloads each time it is opened again) and its own page (`/leaderboard`).
// Every name links to the player's profile.

import { api } from "./api.js";
import { app, goHome } from "./app.js";
import { addressOf, setAddress } from "./router.js";
import { saveView } from "./storage.js";
import { byId, h, showScreen } from "./ui.js";

const PAGE_SIZE = 50;

export function initLeaderboardPage(nav) {
  byId("leaderboard-back").addEventListener("click", () => (history.length > 1 ? history.back() : goHome()));
  nav.leaderboard = openLeaderboardPage;
}

export function openLeaderboardPage() {
  saveView(null);
  setAddress(addressOf.leaderboard());
  showScreen("leaderboard");
  return loadLeaderboard(byId("leaderboard-page-list"), PAGE_SIZE);
}

export function mountLeaderboard(toggle, list) {
  toggle.addEventListener("click", async () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    list.hidden = !open;
    if (open) await loadLeaderboard(list);
  });
}

export function collapseLeaderboard(toggle, list) {
  toggle.setAttribute("aria-expanded", "false");
  list.hidden = true;
}

async function loadLeaderboard(list, limit = 10) {
  let entries;
  try {
    entries = await api.leaderboard(limit);
  } catch {
    list.replaceChildren(h("li", { class: "muted empty" }, "The leaderboard is unavailable right now."));
    return;
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    list.replaceChildren(h("li", { class: "muted empty" }, "No ranked players yet. Be the first!"));
    return;
  }
  list.replaceChildren(
    ...entries.map((e) =>
      h(
        "li",
        { class: app.me && e.player_id === app.me.id ? "me" : "", dataset: { testid: "leaderboard-entry" } },
        h("span", { class: "rank" }, `${e.rank}`),
        h("a", { class: "name", href: addressOf.player(e.username), dataset: { link: "" } }, e.username),
        h("span", { class: "elo" }, `${e.elo_rating}`),
        h("span", { class: "muted record" }, `${e.wins}W / ${e.total_games}G`),
      ),
    ),
  );
}

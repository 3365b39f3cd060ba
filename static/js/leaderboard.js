// A collapsible leaderboard card. Collapsed by default; loads when opened and
// reloads each time it is opened again.

import { api } from "./api.js";
import { app } from "./app.js";
import { h } from "./ui.js";

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

async function loadLeaderboard(list) {
  let entries;
  try {
    entries = await api.leaderboard(10);
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
        h("span", { class: "name" }, e.username),
        h("span", { class: "elo" }, `${e.elo_rating}`),
        h("span", { class: "muted record" }, `${e.wins}W / ${e.total_games}G`),
      ),
    ),
  );
}

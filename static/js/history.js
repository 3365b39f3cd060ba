// One row of a player's game history, as the lobby's "recent games" and the profile
// page both list it: the result from that player's side, the opponent (linking to
// their profile), moves, rating change and date, and an action chosen by the caller.

import { addressOf } from "./router.js";
import { formatDate, h, resultLabel, signed } from "./ui.js";

/** Whether a game of the history can be replayed (it ended and has moves). */
export const isReplayable = (g) => (g.status === "finished" || g.status === "abandoned") && g.move_count > 0;

/**
 * The list item of game `g`. `testid` names the row, `resultTestid` (optional) its
 * result label; `action` is the control at the end of the row, or null.
 */
export function historyItem(g, { testid, resultTestid, action }) {
  const [label, cls] = resultLabel(g);
  const change = typeof g.rating_change === "number" && g.rating_change !== 0 ? `${signed(g.rating_change)} Elo` : "";
  return h(
    "li",
    { class: "game-item", dataset: { testid, gameId: g.game_id, result: g.result || "" } },
    h("span", { class: `result ${cls}`, ...(resultTestid ? { dataset: { testid: resultTestid } } : {}) }, label),
    h(
      "div",
      { class: "grow" },
      h(
        "span",
        { class: "name" },
        g.opponent_username ? ["vs ", h("a", { href: addressOf.player(g.opponent_username), dataset: { link: "" } }, g.opponent_username)] : "No opponent",
      ),
      h("span", { class: "muted small" }, [`${g.move_count} moves`, change, formatDate(g.finished_at || g.created_at)].filter(Boolean).join(" · ")),
    ),
    action,
  );
}

// The move list shown beside the board, in the app's notation (notation.js): one
// numbered entry per move, "1. d", "2. d", …, each with its colour's disc. Used live
// (the newest move is current) and in replays (the step shown is current, and each
// entry is a button that jumps there).

import { columnName, SEAT_COLOUR } from "./notation.js";
import { h } from "./ui.js";

/**
 * Redraws `list` from `moves` (`[{player, column}]`, in order). `current` is the
 * number of the move to highlight (0: none); with `onSelect(n)` entries are buttons.
 */
export function renderMoveList(list, moves, { current = 0, onSelect = null } = {}) {
  list.replaceChildren(
    ...moves.map((move, i) => {
      const n = i + 1;
      const content = [
        h("span", { class: "move-number" }, `${n}.`),
        " ",
        h("i", { class: `dot p${move.player}`, "aria-hidden": "true" }),
        h("span", { class: "sr-only" }, `${SEAT_COLOUR[move.player]} `),
        h("span", { class: "move-column" }, columnName(move.column)),
      ];
      const body = onSelect
        ? h("button", { type: "button", class: "move-button", onclick: () => onSelect(n) }, ...content)
        : h("span", { class: "move-entry" }, ...content);
      return h(
        "li",
        {
          class: n === current ? "current" : "",
          dataset: { testid: "move-entry", move: String(n), column: columnName(move.column) },
          "aria-current": n === current ? "step" : null,
        },
        body,
      );
    }),
  );
  // Keep the current move in sight inside the list, never scrolling the page itself.
  const active = list.querySelector("li.current") || list.lastElementChild;
  if (active && list.scrollHeight > list.clientHeight) {
    const top = active.offsetTop;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + active.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + active.offsetHeight - list.clientHeight;
  }
}

// The solver's analysis in the replay: an evaluation graph over the plies (SVG), the
// verdict on each move of the move list, and the best columns marked on the board.
// Scores are the solver's (0 a draw, positive a win for the side to move, sooner is
// higher); the graph shows them from red's side, so up is good for red.

import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 160;
const PAD = { top: 12, right: 12, bottom: 20, left: 36 };
const MAX_SCORE = 21;

/** Chess-style marks of the verdicts shown in the move list. */
export const VERDICT_MARK = { best: "", inaccuracy: "?!", mistake: "?", blunder: "??", unsolved: "" };
const VERDICT_TEXT = {
  best: "Best move",
  inaccuracy: "Inaccuracy: same result, a little slower",
  mistake: "Mistake: same result, much slower",
  blunder: "Blunder: the result changed",
  unsolved: "Not solved in time",
};

function el(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** The score of the position before `ply` from red's side, or null when unsolved. */
function redScore(ply) {
  if (!ply.solved || typeof ply.score_before !== "number") return null;
  return ply.player === 1 ? ply.score_before : -ply.score_before;
}

/**
 * The evaluation graph of `analysis` with the step `current` (moves shown) marked;
 * clicking a point calls `onSelect(step)`. The point of ply k+1 sits at step k: it is
 * the position shown after k moves, judged before move k+1. Returns the SVG element.
 */
export function evalGraph(analysis, current, onSelect) {
  const plies = analysis.plies || [];
  const steps = Math.max(1, plies.length);
  const x = (i) => PAD.left + (i / steps) * (WIDTH - PAD.left - PAD.right);
  const y = (score) => PAD.top + ((MAX_SCORE - score) / (2 * MAX_SCORE)) * (HEIGHT - PAD.top - PAD.bottom);
  const solved = plies.filter((p) => p.solved).length;
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "eval-chart",
    role: "img",
    "aria-label": `Evaluation over ${plies.length} moves, ${solved} positions solved. Up is good for red.`,
    "data-testid": "eval-graph",
  });
  svg.append(el("rect", { x: PAD.left, y: PAD.top, width: WIDTH - PAD.left - PAD.right, height: y(0) - PAD.top, class: "eval-red-zone" }));
  svg.append(el("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0), class: "eval-axis" }));
  svg.append(el("text", { x: PAD.left - 6, y: y(MAX_SCORE) + 4, class: "eval-label", "text-anchor": "end" }, "red"));
  svg.append(el("text", { x: PAD.left - 6, y: y(0) + 4, class: "eval-label", "text-anchor": "end" }, "draw"));
  svg.append(el("text", { x: PAD.left - 6, y: y(-MAX_SCORE) + 4, class: "eval-label", "text-anchor": "end" }, "yellow"));
  // The line, broken where positions were not solved.
  let path = "";
  plies.forEach((ply, i) => {
    const score = redScore(ply);
    if (score === null) return;
    const prev = i > 0 ? redScore(plies[i - 1]) : null;
    path += `${prev === null ? "M" : "L"}${x(i).toFixed(1)},${y(score).toFixed(1)} `;
  });
  if (path) svg.append(el("path", { d: path.trim(), class: "eval-line" }));
  plies.forEach((ply, i) => {
    const score = redScore(ply);
    const point = el("circle", {
      cx: x(i),
      cy: score === null ? y(0) : y(score),
      r: ply.verdict === "best" || ply.verdict === "unsolved" ? 3 : 5,
      class: `eval-point verdict-${ply.verdict}`,
      "data-ply": ply.ply,
      "data-verdict": ply.verdict,
    });
    point.append(el("title", {}, `${ply.ply}. ${VERDICT_TEXT[ply.verdict] || ply.verdict}`));
    point.addEventListener("click", () => onSelect(ply.ply - 1));
    svg.append(point);
  });
  svg.append(el("line", { x1: x(current), x2: x(current), y1: PAD.top, y2: HEIGHT - PAD.bottom, class: "eval-cursor", "data-testid": "eval-cursor" }));
  return svg;
}

/** Adds each move's verdict to the entries of the move list `list`. */
export function annotateMoveList(list, analysis) {
  const plies = analysis.plies || [];
  for (const item of list.querySelectorAll("li[data-move]")) {
    const ply = plies[Number(item.dataset.move) - 1];
    if (!ply) continue;
    item.dataset.verdict = ply.verdict;
    item.title = VERDICT_TEXT[ply.verdict] || "";
    const mark = VERDICT_MARK[ply.verdict];
    if (mark) (item.firstElementChild || item).append(h("span", { class: `verdict verdict-${ply.verdict}`, dataset: { testid: "move-verdict" } }, mark));
  }
}

/** The best columns for the move after `step` moves, or [] (unsolved, or the end). */
export function bestColumnsAt(analysis, step) {
  const ply = (analysis.plies || [])[step];
  return ply && ply.solved ? ply.best_columns : [];
}

/** A one-line summary of the analysis. */
export function analysisSummary(analysis) {
  const plies = analysis.plies || [];
  const count = (v) => plies.filter((p) => p.verdict === v).length;
  const unsolved = count("unsolved");
  const parts = [`${count("blunder")} blunders`, `${count("mistake")} mistakes`, `${count("inaccuracy")} inaccuracies`];
  return `${parts.join(", ")}. ${unsolved ? `${unsolved} early positions were too deep to solve in time.` : "Every position solved."}`;
}

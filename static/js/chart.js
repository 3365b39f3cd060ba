// A small line chart of a rating over games, drawn as SVG (no library, nothing
// downloaded). The SVG scales with its container; its text alternative sums the
// chart up, and every point is a circle with a tooltip (`<title>`) and data attributes.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 240;
const PAD = { top: 16, right: 16, bottom: 28, left: 48 };

function el(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** Round numbers between `min` and `max` for the axis, about `count` of them. */
function ticks(min, max, count = 4) {
  const span = Math.max(1, max - min);
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max; v += step) out.push(v);
  return out;
}

/**
 * Draws the rating line: `start` is the rating before the first game, `points` the
 * rating after each game (`[{rating, change, at, game_id}]`, oldest first).
 * Returns the SVG element.
 */
export function ratingChart({ start, points, label }) {
  const values = [start, ...points.map((p) => p.rating)];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const margin = Math.max(10, Math.round((hi - lo) * 0.15));
  lo -= margin;
  hi += margin;
  const x = (i) => PAD.left + (values.length === 1 ? 0.5 : i / (values.length - 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (HEIGHT - PAD.top - PAD.bottom);

  const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": "rating-chart-svg-title", class: "chart", "data-testid": "rating-chart-svg" });
  svg.append(el("title", { id: "rating-chart-svg-title" }, label));

  for (const v of ticks(lo, hi)) {
    svg.append(el("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(el("text", { class: "axis", x: PAD.left - 8, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  svg.append(el("text", { class: "axis", x: PAD.left, y: HEIGHT - 8 }, "start"));
  if (points.length > 0) {
    svg.append(el("text", { class: "axis", x: WIDTH - PAD.right, y: HEIGHT - 8, "text-anchor": "end" }, `game ${points.length}`));
  }

  const path = values.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  if (values.length > 1) {
    const area = `${path} L${x(values.length - 1).toFixed(1)},${HEIGHT - PAD.bottom} L${x(0).toFixed(1)},${HEIGHT - PAD.bottom} Z`;
    svg.append(el("path", { class: "area", d: area }));
  }
  svg.append(el("path", { class: "line", d: path }));

  values.forEach((v, i) => {
    const point = i === 0 ? null : points[i - 1];
    const dot = el("circle", {
      class: point ? (point.change > 0 ? "point up" : point.change < 0 ? "point down" : "point") : "point start",
      cx: x(i).toFixed(1),
      cy: y(v).toFixed(1),
      r: values.length > 60 ? 2.5 : 4,
      "data-testid": "rating-point",
      "data-rating": v,
    });
    const when = point && point.at ? new Date(point.at).toLocaleDateString(undefined, { month: "short", day: "numeric" }) : "";
    dot.append(el("title", {}, point ? `Game ${i}: ${v} (${point.change > 0 ? "+" : ""}${point.change})${when ? `, ${when}` : ""}` : `Start: ${v}`));
    svg.append(dot);
  });
  return svg;
}

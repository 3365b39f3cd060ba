// Quick emotes: the fixed set the server accepts, drawn as inline SVG or plain text so
// they show on a machine without an emoji font, and the per-browser "hide emotes"
// switch (localStorage).

import { h } from "./ui.js";

const HIDE_KEY = "c4arena.hideEmotes";
const SVG_NS = "http://www.w3.org/2000/svg";

/** A face: the outline, two eyes and a mouth path. */
function face(mouth, { eyes = "dots" } = {}) {
  const shapes = [["circle", { cx: 12, cy: 12, r: 10, fill: "none", "stroke-width": 2 }]];
  if (eyes === "wide") {
    shapes.push(["circle", { cx: 8.5, cy: 9.5, r: 1.8, fill: "none", "stroke-width": 1.5 }]);
    shapes.push(["circle", { cx: 15.5, cy: 9.5, r: 1.8, fill: "none", "stroke-width": 1.5 }]);
  } else {
    shapes.push(["circle", { cx: 8.5, cy: 9.5, r: 1.3, stroke: "none", fill: "currentColor" }]);
    shapes.push(["circle", { cx: 15.5, cy: 9.5, r: 1.3, stroke: "none", fill: "currentColor" }]);
  }
  shapes.push(mouth);
  return shapes;
}

/** name → how it is drawn (`shapes`: SVG elements, or `text`) and what it says. */
export const EMOTES = {
  thumbs_up: {
    label: "Thumbs up",
    shapes: [
      ["path", { d: "M7 10v10H3V10zM9 20h8.5a2 2 0 0 0 2-1.6l1.3-6A2 2 0 0 0 18.8 10H14l.8-4a2 2 0 0 0-3.7-1.4L9 10z", fill: "none", "stroke-width": 2, "stroke-linejoin": "round" }],
    ],
  },
  wow: { label: "Wow", shapes: face(["circle", { cx: 12, cy: 16, r: 2.5, fill: "none", "stroke-width": 1.8 }], { eyes: "wide" }) },
  oops: { label: "Oops", shapes: face(["path", { d: "M8 16.5q2-2 4 0t4 0", fill: "none", "stroke-width": 1.8, "stroke-linecap": "round" }]) },
  // A text emote's label is its text: what a screen reader says is what is shown.
  gg: { label: "GG", text: "GG" },
  well_played: { label: "Well played!", text: "Well played!" },
};

/** The glyph of an emote: inline SVG labelled for screen readers, or plain text. */
export function emoteGlyph(name) {
  const emote = EMOTES[name];
  if (!emote) return null;
  if (emote.text) return h("span", { class: "emote-text" }, emote.text);
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "emote-svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", emote.label);
  for (const [tag, attrs] of emote.shapes) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
    svg.append(el);
  }
  return svg;
}

export function emotesHidden() {
  try {
    return localStorage.getItem(HIDE_KEY) === "1";
  } catch {
    return false;
  }
}

export function setEmotesHidden(hidden) {
  try {
    if (hidden) localStorage.setItem(HIDE_KEY, "1");
    else localStorage.removeItem(HIDE_KEY);
  } catch {
    // The choice lasts for this page only (the switch keeps its state).
  }
}

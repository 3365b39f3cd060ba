// Small DOM helpers shared by the screens: lookups by test id, screen switching,
// toasts, element building and formatting. Nothing here knows about the game.

/** The element with `data-testid=id`, optionally inside `root`. */
export function byId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** Shows exactly one `.screen` and hides the others. */
export function showScreen(name) {
  for (const screen of document.querySelectorAll(".screen")) {
    screen.hidden = screen.id !== `screen-${name}`;
  }
  window.scrollTo({ top: 0 });
}

export function currentScreen() {
  const visible = document.querySelector(".screen:not([hidden])");
  return visible ? visible.id.replace(/^screen-/, "") : null;
}

/**
 * Builds an element: `h("button", {class: "x", dataset: {testid: "y"}, onclick}, "text")`.
 * Children are nodes or strings (strings become text, never HTML).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function setError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}

const TOAST_MS = 5000;

/**
 * A transient notice. `key` replaces an earlier toast with the same key instead of
 * stacking a second one (e.g. "reconnecting").
 */
export function toast(title, message = "", { kind = "info", key = null, sticky = false } = {}) {
  const container = byId("toasts");
  if (key) dismissToast(key);
  const el = h(
    "div",
    { class: `toast toast-${kind}`, dataset: { testid: "toast", kind, ...(key ? { key } : {}) }, role: "status" },
    h("strong", {}, title),
    message ? h("span", {}, message) : null,
  );
  container.append(el);
  requestAnimationFrame(() => el.classList.add("show"));
  if (!sticky) setTimeout(() => removeToast(el), TOAST_MS);
  return el;
}

export function dismissToast(key) {
  for (const el of byId("toasts").querySelectorAll(`[data-key="${key}"]`)) removeToast(el);
}

function removeToast(el) {
  // Forget the key at once so a replacement is never confused with the leaving toast.
  delete el.dataset.key;
  el.classList.remove("show");
  setTimeout(() => el.remove(), 250);
}

export function clearToasts() {
  byId("toasts").replaceChildren();
}

const RESULT_LABELS = {
  win: ["Won", "result-win"],
  loss: ["Lost", "result-loss"],
  draw: ["Draw", "result-draw"],
  abandoned: ["Abandoned", "result-other"],
  aborted: ["Aborted", "result-other"],
  cancelled: ["Cancelled", "result-other"],
  in_progress: ["In progress", "result-live"],
  waiting: ["Waiting", "result-other"],
};

/** The label and CSS class of a game in a player's history, from that player's side. */
export function resultLabel(game) {
  return RESULT_LABELS[game.result] || [game.result || game.status, "result-other"];
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const diffMin = Math.round((Date.now() - date.getTime()) / 60000);
  if (diffMin < 1) return "just now";
  if (diffMin < 60) return `${diffMin} min ago`;
  if (diffMin < 24 * 60) return `${Math.round(diffMin / 60)} h ago`;
  return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function signed(n) {
  if (typeof n !== "number") return "";
  return n > 0 ? `+${n}` : `${n}`;
}

/** Runs `fn` now and then `ms` after each run (skipped while the tab is hidden); returns a stop function. */
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch {
        // A poll that fails is retried on the next tick.
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Says `text` to screen readers through the page's polite live region (moves, turns,
 * results). The region is emptied first so the same sentence twice is spoken twice.
 */
export function announce(text) {
  const region = byId("announcer");
  if (!region || !text) return;
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 30);
}

/** Singular or plural: `plural(1, "live game")` is "live game", `plural(2, ...)` "live games". */
export function plural(n, word, many = `${word}s`) {
  return n === 1 ? word : many;
}

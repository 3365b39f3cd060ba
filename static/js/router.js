// The app's addresses and the browser history.
//
// Every screen has an address: `/` (sign-in or game lobby), `/game/<id>` (playing),
// `/watch/<id>`, `/replay/<id>`, `/player/<name>` and `/leaderboard`. Showing a screen
// records its address (a new history entry, so Back returns to the previous screen);
// Back and Forward open the screen of the address they land on, without adding an
// entry. The server answers these addresses with the app, so a reload or a shared
// link opens the same screen.

const ROUTES = [
  { screen: "game", pattern: /^\/game\/([A-Za-z0-9_-]{1,64})\/?$/ },
  { screen: "watch", pattern: /^\/watch\/([A-Za-z0-9_-]{1,64})\/?$/ },
  { screen: "replay", pattern: /^\/replay\/([A-Za-z0-9_-]{1,64})\/?$/ },
  { screen: "player", pattern: /^\/player\/([A-Za-z0-9_-]{1,64})\/?$/ },
  { screen: "leaderboard", pattern: /^\/leaderboard\/?$/ },
  { screen: "home", pattern: /^\/?$/ },
];

/** `{screen, param}` for an address path, or null when it is none of the app's. */
export function parseAddress(pathname) {
  for (const { screen, pattern } of ROUTES) {
    const match = pattern.exec(pathname);
    if (match) return { screen, param: match[1] ?? null };
  }
  return null;
}

export const addressOf = {
  home: () => "/",
  game: (id) => `/game/${encodeURIComponent(id)}`,
  watch: (id) => `/watch/${encodeURIComponent(id)}`,
  replay: (id) => `/replay/${encodeURIComponent(id)}`,
  player: (name) => `/player/${encodeURIComponent(name)}`,
  leaderboard: () => "/leaderboard",
};

let followingHistory = false;

/**
 * Records `path` as the current address: a new history entry, unless the address is
 * already current, `replace` is asked for, or the change comes from Back / Forward.
 */
export function setAddress(path, { replace = false } = {}) {
  if (location.pathname === path && !location.search) return;
  if (replace || followingHistory || location.pathname === path) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
}

/**
 * Calls `open(route)` for the address Back / Forward lands on; addresses recorded
 * while it runs replace the entry instead of adding one.
 */
export function onHistory(open) {
  addEventListener("popstate", () => {
    followingHistory = true;
    try {
      open(parseAddress(location.pathname) || { screen: "home", param: null });
    } finally {
      followingHistory = false;
    }
  });
}

/**
 * Makes same-origin links marked `data-link` open their screen inside the app (a
 * modified click, e.g. Ctrl+click for a new tab, is left to the browser).
 */
export function interceptLinks(open) {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[data-link]") : null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, location.href);
    const route = url.origin === location.origin ? parseAddress(url.pathname) : null;
    if (!route) return;
    event.preventDefault();
    open(route);
  });
}

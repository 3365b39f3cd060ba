// Per-browser preferences behind the two switches of the top bar: the colour theme
// (light or dark; the system's `prefers-color-scheme` until the player picks one) and
// sound on / off (see sound.js).

import { isMuted, onMuteChange, setMuted } from "./sound.js";
import { byId } from "./ui.js";

const THEME_KEY = "c4arena.theme";
const systemLight = matchMedia("(prefers-color-scheme: light)");

function storedTheme() {
  try {
    const value = localStorage.getItem(THEME_KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

/** The theme in force: the player's choice, else the system's. */
export function currentTheme() {
  return storedTheme() || (systemLight.matches ? "light" : "dark");
}

function applyTheme() {
  const theme = currentTheme();
  document.documentElement.dataset.theme = theme;
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.content = theme === "light" ? "#f4f6fb" : "#0f1226";
  const button = byId("theme-toggle");
  button.setAttribute("aria-pressed", String(theme === "light"));
  button.title = theme === "light" ? "Switch to the dark theme" : "Switch to the light theme";
}

function renderSound() {
  const button = byId("sound-toggle");
  const on = !isMuted();
  button.setAttribute("aria-pressed", String(on));
  button.title = on ? "Mute sounds" : "Turn sounds on";
  button.dataset.state = on ? "on" : "off";
}

export function initPrefs() {
  applyTheme();
  systemLight.addEventListener("change", applyTheme);
  byId("theme-toggle").addEventListener("click", () => {
    const next = currentTheme() === "light" ? "dark" : "light";
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // The choice lasts for this page only.
      document.documentElement.dataset.theme = next;
      return;
    }
    applyTheme();
  });
  renderSound();
  onMuteChange(renderSound);
  byId("sound-toggle").addEventListener("click", () => setMuted(!isMuted()));
}

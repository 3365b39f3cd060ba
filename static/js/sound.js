// Short game sounds synthesized with Web Audio: nothing is downloaded. A disc drop, the
// player's turn, a low clock, and a win / loss / draw jingle.
//
// Sound is on by default, off by default when the system asks for reduced motion, and
// the player's mute choice is remembered per browser. Browsers start audio only after a
// user gesture, so the audio context is created on the first sound after one; until
// then sounds are skipped silently. `<html data-last-sound>` names the last sound
// played (the browser tests read it; there is nothing to hear in a headless browser).

const STORAGE_KEY = "c4arena.sound";

let context = null;
let muted = readMuted();
const listeners = new Set();

function readMuted() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === "on") return false;
    if (stored === "off") return true;
  } catch {
    // Storage unavailable: fall back to the system preference.
  }
  return matchMedia("(prefers-reduced-motion: reduce)").matches;
}

export function isMuted() {
  return muted;
}

export function setMuted(value) {
  muted = !!value;
  try {
    localStorage.setItem(STORAGE_KEY, muted ? "off" : "on");
  } catch {
    // The choice lasts for this page only.
  }
  for (const listener of listeners) listener(muted);
}

export function onMuteChange(listener) {
  listeners.add(listener);
}

function audio() {
  if (context) return context;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  try {
    context = new Context();
  } catch {
    context = null;
  }
  return context;
}

// Browsers keep a context created before any gesture suspended: resume it on the first one.
for (const gesture of ["pointerdown", "keydown"]) {
  addEventListener(gesture, () => {
    const ctx = audio();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  });
}

/** One note: `freq` Hz (sliding to `to` Hz if given), starting `at` s from now, for `length` s. */
function tone(ctx, { freq, to = null, at = 0, length = 0.12, type = "sine", volume = 0.18 }) {
  const start = ctx.currentTime + at;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.setValueAtTime(freq, start);
  if (to) osc.frequency.exponentialRampToValueAtTime(to, start + length);
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(volume, start + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(start);
  osc.stop(start + length + 0.02);
}

const SOUNDS = {
  drop: (ctx) => {
    tone(ctx, { freq: 520, to: 180, length: 0.09, type: "triangle", volume: 0.22 });
    tone(ctx, { freq: 140, at: 0.07, length: 0.08, type: "sine", volume: 0.16 });
  },
  turn: (ctx) => {
    tone(ctx, { freq: 660, length: 0.1 });
    tone(ctx, { freq: 880, at: 0.1, length: 0.14 });
  },
  lowClock: (ctx) => tone(ctx, { freq: 1000, length: 0.06, type: "square", volume: 0.06 }),
  win: (ctx) => [523, 659, 784, 1047].forEach((freq, i) => tone(ctx, { freq, at: i * 0.11, length: 0.18, type: "triangle" })),
  loss: (ctx) => [392, 330, 262].forEach((freq, i) => tone(ctx, { freq, at: i * 0.16, length: 0.22, type: "sine" })),
  draw: (ctx) => [440, 440].forEach((freq, i) => tone(ctx, { freq, at: i * 0.16, length: 0.14, type: "triangle" })),
};

/** Plays sound `name` ("drop", "turn", "lowClock", "win", "loss", "draw") unless muted. */
export function play(name) {
  if (muted || !SOUNDS[name]) return;
  document.documentElement.dataset.lastSound = name;
  const ctx = audio();
  if (!ctx || ctx.state !== "running") return;
  try {
    SOUNDS[name](ctx);
  } catch {
    // A sound is decoration: never let it break the game.
  }
}

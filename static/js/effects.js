// Celebration and teasing: confetti for a winner, floating emojis for a player
// who sits on their turn. Purely decorative; both clean up after themselves.

import { h } from "./ui.js";

const COLORS = ["#ff5a6e", "#ffc94a", "#5b8cff", "#3ddc97", "#b084ff", "#ff9f43"];
const CONFETTI_MS = 4500;

let confetti = null;

export function launchConfetti() {
  stopConfetti();
  const canvas = h("canvas", { class: "confetti", dataset: { testid: "confetti" }, "aria-hidden": "true" });
  document.body.append(canvas);
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const resize = () => {
    canvas.width = innerWidth * ratio;
    canvas.height = innerHeight * ratio;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  };
  resize();

  const reduced = matchMedia("(prefers-reduced-motion: reduce)").matches;
  const count = reduced ? 40 : 180;
  const particles = Array.from({ length: count }, (_, i) => {
    const burst = i < count * 0.6;
    return {
      x: burst ? innerWidth / 2 + (Math.random() - 0.5) * 160 : Math.random() * innerWidth,
      y: burst ? innerHeight * 0.55 : -Math.random() * innerHeight * 0.4,
      vx: burst ? (Math.random() - 0.5) * 16 : (Math.random() - 0.5) * 2,
      vy: burst ? -Math.random() * 18 - 6 : Math.random() * 3 + 1,
      size: Math.random() * 7 + 4,
      color: COLORS[i % COLORS.length],
      spin: Math.random() * Math.PI,
      spinSpeed: (Math.random() - 0.5) * 0.3,
      gravity: 0.22 + Math.random() * 0.12,
    };
  });

  const started = performance.now();
  const frame = (now) => {
    if (!confetti) return;
    const age = now - started;
    ctx.clearRect(0, 0, innerWidth, innerHeight);
    ctx.globalAlpha = Math.max(0, Math.min(1, (CONFETTI_MS - age) / 800));
    for (const p of particles) {
      p.vy += p.gravity;
      p.vx *= 0.99;
      p.x += p.vx;
      p.y += p.vy;
      p.spin += p.spinSpeed;
      if (p.y > innerHeight + 20) continue;
      ctx.save();
      ctx.translate(p.x, p.y);
      ctx.rotate(p.spin);
      ctx.fillStyle = p.color;
      ctx.fillRect(-p.size / 2, -p.size / 4, p.size, p.size / 2);
      ctx.restore();
    }
    if (age < CONFETTI_MS) confetti.raf = requestAnimationFrame(frame);
    else stopConfetti();
  };
  confetti = { canvas, raf: requestAnimationFrame(frame), resize };
  addEventListener("resize", resize);
}

export function stopConfetti() {
  if (!confetti) return;
  cancelAnimationFrame(confetti.raf);
  removeEventListener("resize", confetti.resize);
  confetti.canvas.remove();
  confetti = null;
}

const TAUNTS = ["😴", "🥱", "💤", "⏳", "🐌", "🦥", "⌛", "👀", "🙄", "🕰️"];
const TAUNT_LINES = ["Any day now…", "The board is waiting.", "Tick tock!", "Still thinking?", "Your move!"];
const TAUNT_AFTER_MS = 15_000;
const TAUNT_EVERY_MS = 2_500;

let tauntDelay = null;
let tauntRepeat = null;

function spawnTaunt() {
  const emoji = TAUNTS[Math.floor(Math.random() * TAUNTS.length)];
  const el = h("span", { class: "taunt", dataset: { testid: "taunt" }, "aria-hidden": "true" }, emoji);
  el.style.left = `${6 + Math.random() * 84}vw`;
  el.style.top = `${12 + Math.random() * 70}vh`;
  document.body.append(el);
  el.addEventListener("animationend", () => el.remove(), { once: true });
}

/**
 * Starts the idle timer of a turn: after a while without a move, emojis float up and
 * `onIdle(line)` is told once so the screen can nag in words too.
 */
export function startIdleTaunts(onIdle) {
  stopIdleTaunts();
  tauntDelay = setTimeout(() => {
    onIdle(TAUNT_LINES[Math.floor(Math.random() * TAUNT_LINES.length)]);
    spawnTaunt();
    tauntRepeat = setInterval(spawnTaunt, TAUNT_EVERY_MS);
  }, TAUNT_AFTER_MS);
}

export function stopIdleTaunts() {
  clearTimeout(tauntDelay);
  clearInterval(tauntRepeat);
  tauntDelay = null;
  tauntRepeat = null;
  for (const el of document.querySelectorAll(".taunt")) el.remove();
}

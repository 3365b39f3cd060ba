// Replay of a finished game: step through its moves (first, previous, play, next,
// last, or the slider; arrow keys, Home and End work too). The board at step k is
// rebuilt from the first k moves, so any step can be reached directly. The solver's
// analysis (analysis.js) loads beside it: the evaluation graph, each move's verdict
// in the move list, and the best columns for the next move marked on the board.
// "Play on from here" starts a game against the computer from the position shown.

import { analysisSummary, annotateMoveList, bestColumnsAt, evalGraph } from "../analysis.js";
import { api } from "../api.js";
import { goHome, isLoggedIn, nav } from "../app.js";
import { BoardView, emptyBoard } from "../board.js";
import { renderMoveList } from "../moves.js";
import { cellName, SEAT_COLOUR } from "../notation.js";
import { addressOf, setAddress } from "../router.js";
import { saveView } from "../storage.js";
import { announce, byId, h, showScreen, toast } from "../ui.js";

const AUTOPLAY_MS = 700;

let board = null;
const replay = { gameId: null, moves: [], game: null, analysis: null, step: 0, timer: null };

export function initReplay() {
  board = new BoardView(byId("replay-board"));
  byId("replay-start").addEventListener("click", () => goTo(0));
  byId("replay-prev").addEventListener("click", () => goTo(replay.step - 1));
  byId("replay-next").addEventListener("click", () => goTo(replay.step + 1));
  byId("replay-end").addEventListener("click", () => goTo(replay.moves.length));
  byId("replay-play").addEventListener("click", toggleAutoplay);
  byId("replay-slider").addEventListener("input", (event) => goTo(Number(event.target.value)));
  byId("play-on").addEventListener("click", playOn);
  byId("replay-back").addEventListener("click", () => {
    leaveReplay();
    goHome();
  });
  document.addEventListener("keydown", onKey);
  nav.replay = openReplay;
}

export async function openReplay(gameId) {
  leaveReplay();
  replay.gameId = gameId;
  replay.moves = [];
  replay.game = null;
  replay.analysis = null;
  replay.step = 0;
  byId("analysis-graph").replaceChildren();
  byId("analysis-note").textContent = "Analysing…";
  saveView({ screen: "replay", gameId });
  setAddress(addressOf.replay(gameId));
  board.build();
  byId("replay-title").textContent = "Replay";
  byId("replay-players").textContent = "Loading…";
  byId("replay-result").textContent = "";
  showScreen("replay");
  renderControls();

  let moves;
  let game;
  try {
    [moves, game] = await Promise.all([api.moves(gameId), api.game(gameId).catch(() => null)]);
  } catch (err) {
    if (replay.gameId !== gameId) return;
    toast("Replay unavailable", err.status === 404 ? "That game does not exist." : err.message, { kind: "warning" });
    goHome();
    return;
  }
  if (replay.gameId !== gameId) return;
  replay.moves = (Array.isArray(moves) ? moves : []).slice().sort((a, b) => a.move_number - b.move_number);
  replay.game = game;
  if (game && game.player1 && game.player2) {
    byId("replay-players").replaceChildren(
      h("a", { href: addressOf.player(game.player1.username), dataset: { link: "" } }, game.player1.username),
      " (red) vs ",
      h("a", { href: addressOf.player(game.player2.username), dataset: { link: "" } }, game.player2.username),
      " (yellow)",
    );
  } else {
    byId("replay-players").textContent = "";
  }
  const bot = game && [game.player1, game.player2].find((p) => p && p.bot);
  byId("play-on-level").value = bot ? bot.bot : "perfect";
  goTo(0);
  loadAnalysis(gameId);
}

/** Starts a game against the computer from the position shown, the caller to move. */
async function playOn() {
  if (!isLoggedIn()) {
    toast("Sign in first", "Playing on against the computer needs an account.", { kind: "warning" });
    return;
  }
  const button = byId("play-on");
  button.disabled = true;
  stopAutoplay();
  try {
    const startFrom = replay.moves.slice(0, replay.step).map((m) => m.column);
    const game = await api.playComputer(byId("play-on-level").value, startFrom);
    leaveReplay();
    nav.game(game.game_id, "play");
  } catch (err) {
    const busy = err.code === "already_in_game";
    toast("Cannot play on", busy ? "You already have a game going. Resume it first." : err.message, { kind: "warning" });
  } finally {
    renderControls();
  }
}

/** True if the position after `step` moves is won or full: there is nothing to play on. */
function positionOver(step) {
  const g = replay.game;
  return step >= 42 || (step === replay.moves.length && g && g.end_reason === "four_in_a_row");
}

async function loadAnalysis(gameId) {
  try {
    const analysis = await api.analysis(gameId);
    if (replay.gameId !== gameId) return;
    replay.analysis = analysis;
    byId("analysis-note").textContent = analysisSummary(analysis);
    goTo(replay.step);
  } catch (err) {
    if (replay.gameId !== gameId) return;
    byId("analysis-note").textContent = `Analysis unavailable: ${err.message}`;
  }
}

/** The graph, the verdicts and the best columns for the step shown. */
function renderAnalysis(step) {
  const analysis = replay.analysis;
  if (!analysis) return;
  annotateMoveList(byId("replay-move-list"), analysis);
  byId("analysis-graph").replaceChildren(evalGraph(analysis, step, (n) => goTo(n)));
  board.markBest(step < replay.moves.length ? bestColumnsAt(analysis, step) : []);
}

export function leaveReplay() {
  stopAutoplay();
  replay.gameId = null;
}

function boardAt(step) {
  const grid = emptyBoard();
  for (const move of replay.moves.slice(0, step)) grid[move.row][move.column] = move.player;
  return grid;
}

function goTo(step) {
  const total = replay.moves.length;
  const next = Math.max(0, Math.min(total, Number.isFinite(step) ? step : 0));
  const forward = next === replay.step + 1;
  replay.step = next;
  const last = next > 0 ? replay.moves[next - 1] : null;
  const atEnd = next === total && total > 0;
  const winning = atEnd && replay.game && Array.isArray(replay.game.winning_cells) ? replay.game.winning_cells : [];
  board.render(boardAt(next), { lastMove: last ? { row: last.row, column: last.column } : null, winningCells: winning });
  if (forward && last) board.drop(last.row, last.column);
  if (next === total) stopAutoplay();
  renderControls();
  renderMoveList(byId("replay-move-list"), replay.moves, { current: next, onSelect: (n) => goTo(n) });
  renderAnalysis(next);
  if (!replay.timer) {
    const said = last ? `Move ${next}: ${SEAT_COLOUR[last.player]} ${cellName(last.row, last.column)}.` : "Start of the game.";
    announce(next === total && total > 0 ? `${said} ${resultText()}` : said);
  }
}

function resultText() {
  const g = replay.game;
  if (!g) return "";
  if (g.end_reason === "draw_agreed") return "The players agreed to a draw.";
  if (g.draw) return "The game ended in a draw.";
  if (g.end_reason === "aborted") return "The game was aborted.";
  const winner = g.winner === 1 ? g.player1 : g.winner === 2 ? g.player2 : null;
  if (!winner) return g.status === "abandoned" ? "The game was abandoned." : "";
  const how = { four_in_a_row: "with four in a row", timeout: "on time", resign: "by resignation", abandoned: "by abandonment" }[g.end_reason];
  return `${winner.username} won${how ? ` ${how}` : ""}.`;
}

function renderControls() {
  const total = replay.moves.length;
  const step = replay.step;
  byId("replay-start").disabled = step <= 0;
  byId("replay-prev").disabled = step <= 0;
  byId("replay-next").disabled = step >= total;
  byId("replay-end").disabled = step >= total;
  byId("replay-play").disabled = total === 0;
  byId("play-on").disabled = !replay.gameId || positionOver(step);
  byId("replay-play").textContent = replay.timer ? "Pause" : "Play";
  const slider = byId("replay-slider");
  slider.max = String(total);
  slider.value = String(step);
  slider.disabled = total === 0;
  byId("replay-info").textContent = `Move ${step} / ${total}`;
  byId("replay-title").textContent = total ? `Replay · ${total} moves` : "Replay";
  byId("replay-result").textContent = step === total && total > 0 ? resultText() : "";
}

function toggleAutoplay() {
  if (replay.timer) {
    stopAutoplay();
    renderControls();
    return;
  }
  if (replay.step >= replay.moves.length) goTo(0);
  replay.timer = setInterval(() => goTo(replay.step + 1), AUTOPLAY_MS);
  renderControls();
}

function stopAutoplay() {
  clearInterval(replay.timer);
  replay.timer = null;
}

function onKey(event) {
  if (byId("screen-replay").hidden || !replay.gameId) return;
  if (event.target instanceof HTMLInputElement && event.target.type !== "range") return;
  const moves = { ArrowLeft: replay.step - 1, ArrowRight: replay.step + 1, Home: 0, End: replay.moves.length };
  if (event.key in moves && !(event.target instanceof HTMLInputElement)) {
    event.preventDefault();
    stopAutoplay();
    goTo(moves[event.key]);
  }
}

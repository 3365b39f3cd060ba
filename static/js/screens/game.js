// The game screen, for a seat ("play") or a spectator ("watch").
//
// The server is the only source of truth. A `state` message replaces the whole local
// picture; a `move` is applied only when the socket says it is the next one in `seq`
// order (see ws.js). The client never places a disc on its own: a click sends the
// move and the disc appears when the broadcast comes back, on every screen at once.

import { api, serverNow } from "../api.js";
import { app, goHome, nav, updateMyRating } from "../app.js";
import { BoardView, COLS, emptyBoard, isBoard } from "../board.js";
import { launchConfetti, startIdleTaunts, stopConfetti, stopIdleTaunts } from "../effects.js";
import { saveView } from "../storage.js";
import { GameSocket } from "../ws.js";
import { byId, clearToasts, dismissToast, showScreen, signed, toast } from "../ui.js";

const RING_LENGTH = 2 * Math.PI * 20;
const LOW_TIME_MS = 10_000;
const MOVE_ECHO_TIMEOUT_MS = 5_000;

let view = null;
let board = null;
let clockTimer = null;

function freshView(gameId, mode) {
  return {
    gameId,
    mode,
    seat: null,
    status: "waiting",
    board: emptyBoard(),
    nextPlayer: 1,
    players: { 1: null, 2: null },
    online: { 1: false, 2: false },
    seenOnline: { 1: false, 2: false },
    viewers: 0,
    winner: null,
    draw: false,
    winningCells: [],
    lastMove: null,
    endReason: null,
    ratingChanges: null,
    ratings: null,
    deadlineMs: null,
    limitSecs: null,
    connection: "connecting",
    everConnected: false,
    moveInFlight: false,
    cursor: 3,
    hoverCol: null,
    rematchVoted: false,
    opponentWantsRematch: false,
    celebrated: false,
    socket: null,
  };
}

const isOver = () => view && (view.status === "finished" || view.status === "abandoned" || view.status === "cancelled");
const opponentSeat = () => (view.seat === 1 ? 2 : 1);
const isPlayer = () => view.mode === "play" && (view.seat === 1 || view.seat === 2);
const nameOf = (seat) => (view.players[seat] ? view.players[seat].username : `Player ${seat}`);

function canMove() {
  return (
    view !== null &&
    isPlayer() &&
    view.status === "active" &&
    view.nextPlayer === view.seat &&
    view.connection === "open" &&
    !view.moveInFlight
  );
}

// ---------------------------------------------------------------- entering / leaving

export function initGame() {
  board = new BoardView(byId("board"), byId("hover-row"));
  const boardEl = byId("board");
  boardEl.addEventListener("click", (event) => {
    const cell = event.target.closest("[data-col]");
    if (cell) play(Number(cell.dataset.col));
  });
  boardEl.addEventListener("mouseover", (event) => {
    const cell = event.target.closest("[data-col]");
    if (cell) hover(Number(cell.dataset.col));
  });
  boardEl.addEventListener("mouseleave", () => hover(null));
  byId("hover-row").addEventListener("click", (event) => {
    const indicator = event.target.closest("[data-col]");
    if (indicator) play(Number(indicator.dataset.col));
  });
  document.addEventListener("keydown", onKey);

  byId("leave-game").addEventListener("click", () => {
    leaveGame();
    goHome();
  });
  byId("back-to-lobby").addEventListener("click", () => {
    leaveGame();
    goHome();
  });
  byId("game-replay").addEventListener("click", () => {
    const gameId = view.gameId;
    leaveGame();
    nav.replay(gameId);
  });
  byId("rematch").addEventListener("click", voteRematch);
  byId("resign").addEventListener("click", () => byId("resign-dialog").showModal());
  byId("resign-dialog").addEventListener("close", () => {
    if (byId("resign-dialog").returnValue === "confirm") resign();
  });
  nav.game = openGame;
}

/** Opens game `gameId` as a player ("play") or a spectator ("watch"). */
export function openGame(gameId, mode) {
  leaveGame();
  view = freshView(gameId, mode);
  saveView({ screen: "game", gameId, mode });
  board.build();
  byId("game-over").hidden = true;
  byId("spectator-banner").hidden = mode !== "watch";
  byId("screen-game").classList.toggle("spectating", mode === "watch");
  showScreen("game");
  render();

  const current = view;
  // Paint the board straight away; the socket's `state` follows and takes over.
  api
    .game(gameId)
    .then((game) => {
      if (view === current && view.connection !== "open") applyState(game, { fromRest: true });
    })
    .catch((err) => {
      if (view !== current) return;
      if (err.status === 404) {
        toast("Game not found", "That game does not exist (any more).", { kind: "warning" });
        leaveGame();
        goHome();
      }
    });

  view.socket = new GameSocket({
    gameId,
    token: mode === "play" && app.session ? app.session.token : null,
    onMessage: (msg) => view === current && onMessage(msg),
    onStatus: (status) => view === current && onConnection(status),
  });
  view.socket.connect();
  clockTimer = setInterval(renderClock, 250);
}

/** Closes the socket and stops timers and effects; the screen itself stays until another shows. */
export function leaveGame() {
  if (!view) return;
  if (view.socket) view.socket.close();
  view = null;
  clearInterval(clockTimer);
  stopIdleTaunts();
  stopConfetti();
  clearToasts();
  const dialog = byId("resign-dialog");
  if (dialog.open) dialog.close("cancel");
}

// ---------------------------------------------------------------- server messages

function onConnection(status) {
  const wasOpen = view.connection === "open";
  view.connection = status;
  if (status === "open") {
    if (view.everConnected) {
      dismissToast("connection");
      toast("Reconnected", "You are back in the game.", { kind: "success", key: "connection" });
    }
    view.everConnected = true;
  } else if (status === "reconnecting" && wasOpen) {
    view.moveInFlight = false;
    toast("Connection lost", "Reconnecting…", { kind: "warning", key: "connection", sticky: true });
  }
  render();
}

function onMessage(msg) {
  if (msg.type === "state") applyState(msg);
  else if (msg.type === "identified") onIdentified(msg);
  else if (msg.type === "move") applyMove(msg);
  else if (msg.type === "game_over") applyGameOver(msg);
  else if (msg.type === "player_status") applyPresence(msg);
  else if (msg.type === "rematch_waiting" || msg.rematch_waiting) onRematchVote(msg);
  else if (msg.type === "rematch" || msg.rematch) onRematch(msg);
  else if (msg.type === "error" || msg.error) onServerError(msg);
}

function seatOf(playerId) {
  if (view.players[1] && view.players[1].id === playerId) return 1;
  if (view.players[2] && view.players[2].id === playerId) return 2;
  return null;
}

function applyState(state, { fromRest = false } = {}) {
  const previousOnline = { ...view.online };
  view.status = state.status || view.status;
  if (isBoard(state.board)) view.board = state.board;
  view.nextPlayer = state.next_player ?? view.nextPlayer;
  view.players = { 1: state.player1 || null, 2: state.player2 || null };
  view.winner = state.winner ?? null;
  view.draw = !!state.draw;
  view.winningCells = Array.isArray(state.winning_cells) ? state.winning_cells : [];
  view.lastMove = state.last_move || null;
  view.endReason = state.end_reason || null;
  view.deadlineMs = state.turn_deadline_ms ?? null;
  view.limitSecs = state.move_time_limit_secs ?? view.limitSecs;
  if (typeof state.viewers === "number") view.viewers = state.viewers;
  if (state.online && typeof state.online === "object") view.online = { 1: !!state.online["1"], 2: !!state.online["2"] };
  view.moveInFlight = false;
  if (view.mode === "play" && app.me && view.seat === null) view.seat = seatOf(app.me.id);
  if (view.mode === "play" && app.me && view.seat === null && view.status !== "waiting" && !fromRest) {
    // Not a seat of this game: watch it instead of pretending to play.
    view.mode = "watch";
    saveView({ screen: "game", gameId: view.gameId, mode: "watch" });
    byId("spectator-banner").hidden = false;
    byId("screen-game").classList.add("spectating");
  }
  if (state.rematch_game_id && view.seat) {
    // The rematch already started while this client was away: follow it.
    openGame(state.rematch_game_id, "play");
    return;
  }

  markSeenOnline();
  board.render(view.board, { lastMove: view.lastMove, winningCells: view.winningCells });
  if (state.reason === "joined" && isPlayer() && !fromRest) {
    toast("Opponent joined", `${nameOf(opponentSeat())} is here. Good luck!`, { kind: "success" });
  }
  if (!fromRest && view.everConnected && isPlayer() && previousOnline[opponentSeat()] && !view.online[opponentSeat()] && !isOver()) {
    toast("Opponent left", `${nameOf(opponentSeat())} disconnected.`, { kind: "warning", key: "opponent" });
  }
  render();
  // A resync never celebrates: confetti belongs to the moment the game ends.
  if (isOver()) showGameOver({ live: false });
}

function onIdentified(msg) {
  if (msg.role === "player" && (msg.player === 1 || msg.player === 2)) {
    view.seat = msg.player;
  } else if (view.mode === "play") {
    view.mode = "watch";
    view.seat = null;
    saveView({ screen: "game", gameId: view.gameId, mode: "watch" });
    byId("spectator-banner").hidden = false;
    byId("screen-game").classList.add("spectating");
  }
  render();
}

function applyMove(msg) {
  if (isBoard(msg.board)) view.board = msg.board;
  view.lastMove = { player: msg.player, column: msg.column, row: msg.row };
  view.nextPlayer = msg.next_player ?? (msg.player === 1 ? 2 : 1);
  view.deadlineMs = msg.turn_deadline_ms ?? null;
  view.status = msg.status || view.status;
  view.moveInFlight = false;
  if (msg.winner || msg.draw) {
    view.winner = msg.winner ?? null;
    view.draw = !!msg.draw;
    view.winningCells = Array.isArray(msg.winning_cells) ? msg.winning_cells : [];
    view.endReason = view.endReason || (msg.draw ? "draw" : "four_in_a_row");
    if (view.status === "active") view.status = "finished";
  }
  board.render(view.board, { lastMove: view.lastMove });
  if (Number.isInteger(msg.row) && Number.isInteger(msg.column)) board.drop(msg.row, msg.column);
  if (isOver()) {
    board.markWinningCells(view.winningCells);
    showGameOver({ live: true });
  }
  render();
}

function applyGameOver(msg) {
  const wasOver = isOver();
  if (typeof msg.status === "string" && msg.status !== "active" && msg.status !== "waiting") view.status = msg.status;
  else if (view.status === "active" || view.status === "waiting") view.status = msg.reason === "abandoned" && !msg.winner ? "abandoned" : "finished";
  view.endReason = msg.reason || view.endReason;
  view.winner = msg.winner ?? view.winner;
  view.draw = msg.draw ?? view.draw;
  if (Array.isArray(msg.winning_cells) && msg.winning_cells.length) view.winningCells = msg.winning_cells;
  view.ratingChanges = msg.rating_changes || view.ratingChanges;
  view.ratings = msg.ratings || view.ratings;
  view.deadlineMs = null;
  view.moveInFlight = false;
  if (view.ratings) {
    for (const seat of [1, 2]) {
      const rating = view.ratings[String(seat)];
      if (typeof rating === "number" && view.players[seat]) view.players[seat] = { ...view.players[seat], elo_rating: rating };
    }
    if (view.seat && typeof view.ratings[String(view.seat)] === "number") updateMyRating(view.ratings[String(view.seat)]);
  }
  board.markWinningCells(view.winningCells);
  showGameOver({ live: !wasOver || !view.celebrated });
  render();
}

function applyPresence(msg) {
  const before = { ...view.online };
  if (msg.online && typeof msg.online === "object") {
    view.online = { 1: !!msg.online["1"], 2: !!msg.online["2"] };
  } else if (msg.player === 1 || msg.player === 2) {
    view.online[msg.player] = msg.status === "connected";
  }
  if (typeof msg.viewers === "number") view.viewers = msg.viewers;

  if (isPlayer()) {
    const opp = opponentSeat();
    if (before[opp] && !view.online[opp]) {
      if (!isOver()) toast("Opponent left", `${nameOf(opp)} disconnected. They can come back.`, { kind: "warning", key: "opponent" });
      else if (view.rematchVoted) setRematchStatus("Your opponent left. No rematch this time.");
    } else if (!before[opp] && view.online[opp] && view.seenOnline[opp]) {
      toast("Opponent is back", `${nameOf(opp)} reconnected.`, { kind: "success", key: "opponent" });
    }
  }
  markSeenOnline();
  render();
}

/** Remembers who has been online in this game, so a first arrival is not a "return". */
function markSeenOnline() {
  for (const seat of [1, 2]) if (view.online[seat]) view.seenOnline[seat] = true;
}

function onRematchVote(msg) {
  if (!isPlayer()) return;
  if (msg.player === view.seat) {
    view.rematchVoted = true;
    setRematchStatus("Waiting for your opponent…");
  } else {
    view.opponentWantsRematch = true;
    setRematchStatus(`${nameOf(msg.player === 1 || msg.player === 2 ? msg.player : opponentSeat())} wants a rematch!`);
  }
  renderRematchButton();
}

function onRematch(msg) {
  const newGameId = msg.new_game_id;
  if (!newGameId) return;
  const mode = isPlayer() ? "play" : "watch";
  openGame(newGameId, mode);
  toast("Rematch!", mode === "play" ? "Colours are swapped. Have fun!" : "The players started a rematch.", { kind: "success" });
}

const ERROR_TEXT = {
  not_your_turn: "Wait for your turn.",
  column_full: "That column is full.",
  game_over: "The game is over.",
  game_not_active: "The game has not started yet.",
  rate_limited: "Slow down a little.",
};

function onServerError(msg) {
  view.moveInFlight = false;
  if (msg.code === "unauthorized") {
    toast("Session expired", "Log in again to keep playing. You are watching for now.", { kind: "warning" });
    view.mode = "watch";
    view.seat = null;
    byId("spectator-banner").hidden = false;
    render();
    return;
  }
  toast(ERROR_TEXT[msg.code] || msg.error || "Something went wrong.", "", { kind: "warning", key: "move-error" });
  render();
}

// ---------------------------------------------------------------- actions

function play(col) {
  if (!Number.isInteger(col) || col < 0 || col >= COLS) return;
  if (!canMove()) return;
  if (board.isColumnFull(col)) {
    toast("That column is full.", "", { kind: "warning", key: "move-error" });
    return;
  }
  if (view.socket.send({ action: "move", column: col })) {
    view.moveInFlight = true;
    view.cursor = col;
    stopIdleTaunts();
    render();
    // The move's broadcast should come back at once; if it was lost, ask for the state.
    const current = view;
    setTimeout(() => {
      if (view !== current || !view.moveInFlight) return;
      view.moveInFlight = false;
      view.socket.requestSync();
      render();
    }, MOVE_ECHO_TIMEOUT_MS);
  }
}

function hover(col) {
  if (!view) return;
  view.hoverCol = col;
  if (col !== null) view.cursor = col;
  renderHover();
}

function onKey(event) {
  if (!view || byId("screen-game").hidden || byId("resign-dialog").open) return;
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key;
  if (/^[1-7]$/.test(key)) {
    event.preventDefault();
    view.cursor = Number(key) - 1;
    view.hoverCol = view.cursor;
    renderHover();
    play(view.cursor);
  } else if (key === "ArrowLeft" || key === "ArrowRight") {
    event.preventDefault();
    const step = key === "ArrowLeft" ? -1 : 1;
    const from = view.hoverCol ?? view.cursor;
    view.cursor = (from + step + COLS) % COLS;
    view.hoverCol = view.cursor;
    renderHover();
  } else if (key === "Enter" || key === " ") {
    if (event.target instanceof HTMLButtonElement) return;
    event.preventDefault();
    play(view.hoverCol ?? view.cursor);
  }
}

function voteRematch() {
  if (!isPlayer() || view.rematchVoted) return;
  if (view.socket.send({ action: "rematch" })) {
    view.rematchVoted = true;
    setRematchStatus(view.opponentWantsRematch ? "Starting the rematch…" : "Waiting for your opponent…");
    renderRematchButton();
  } else {
    setRematchStatus("Not connected. Trying again shortly…");
  }
}

async function resign() {
  if (!isPlayer() || view.status !== "active") return;
  if (view.socket.send({ action: "resign" })) return;
  try {
    await api.resign(view.gameId);
  } catch (err) {
    toast("Could not resign", err.message, { kind: "warning" });
  }
}

// ---------------------------------------------------------------- drawing

function render() {
  if (!view) return;
  renderStatus();
  renderPlayers();
  renderHover();
  renderClock();
  renderTaunts();
  const boardEl = byId("board");
  const disconnected = view.connection !== "open";
  boardEl.classList.toggle("disabled", disconnected);
  boardEl.classList.toggle("my-turn", canMove());
  boardEl.dataset.disabled = String(disconnected);
  boardEl.setAttribute("aria-disabled", String(disconnected || !canMove()));
  byId("keyboard-hint").hidden = !isPlayer() || isOver();
  byId("viewer-count-value").textContent = String(view.viewers);
  byId("resign").hidden = !(isPlayer() && view.status === "active");
}

function renderStatus() {
  const el = byId("game-status");
  let text;
  let turnSeat = null;
  if (view.connection !== "open" && view.everConnected) text = "Reconnecting…";
  else if (view.connection !== "open" && view.status !== "finished") text = "Connecting…";
  else if (view.status === "waiting") text = "Waiting for an opponent…";
  else if (view.status === "cancelled") text = "Game cancelled";
  else if (isOver()) text = "Game over";
  else if (isPlayer()) {
    turnSeat = view.nextPlayer;
    text = view.nextPlayer === view.seat ? "Your turn" : "Opponent's turn";
  } else {
    turnSeat = view.nextPlayer;
    text = `${nameOf(view.nextPlayer)} to move`;
  }
  if (el.textContent !== text) {
    el.textContent = text;
    el.classList.remove("pop");
    void el.offsetWidth;
    el.classList.add("pop");
  }
  el.classList.toggle("p1-turn", turnSeat === 1);
  el.classList.toggle("p2-turn", turnSeat === 2);
}

function renderPlayers() {
  for (const seat of [1, 2]) {
    const card = byId(`player-card-${seat}`);
    const player = view.players[seat];
    const me = isPlayer() && view.seat === seat;
    const active = view.status === "active" && view.nextPlayer === seat;
    const online = !!view.online[seat];
    const nameEl = byId(`player-name-${seat}`);
    nameEl.replaceChildren(player ? player.username : seat === 2 && view.status === "waiting" ? "Waiting for opponent…" : `Player ${seat}`);
    if (me) nameEl.append(" ", Object.assign(document.createElement("em"), { className: "you", textContent: "(you)" }));
    const presence = byId(`player-presence-${seat}`);
    presence.textContent = !player ? "—" : `${online ? "Online" : "Offline"}${typeof player.elo_rating === "number" ? ` · ${player.elo_rating}` : ""}`;
    card.classList.toggle("is-me", me);
    card.classList.toggle("active-turn", active);
    card.classList.toggle("online", !!player && online);
    card.classList.toggle("offline", !!player && !online);
    card.classList.toggle("winner", isOver() && view.winner === seat);
    card.dataset.online = String(online);
    card.dataset.active = String(active);
  }
}

function renderHover() {
  const show = canMove() && view.hoverCol !== null;
  board.setHover(show ? view.hoverCol : null, view.seat);
}

function renderClock() {
  if (!view) return;
  for (const seat of [1, 2]) {
    const card = byId(`player-card-${seat}`);
    const ring = card.querySelector(".ring-fill");
    const label = byId(`player-clock-${seat}`);
    const running = view.status === "active" && view.nextPlayer === seat && typeof view.deadlineMs === "number";
    if (!running) {
      ring.style.strokeDashoffset = String(RING_LENGTH);
      label.textContent = "";
      card.classList.remove("low-time");
      continue;
    }
    const total = (view.limitSecs || 60) * 1000;
    const left = Math.max(0, view.deadlineMs - serverNow());
    const fraction = Math.max(0, Math.min(1, left / total));
    ring.style.strokeDasharray = String(RING_LENGTH);
    ring.style.strokeDashoffset = String(RING_LENGTH * (1 - fraction));
    label.textContent = `${Math.ceil(left / 1000)}s`;
    card.classList.toggle("low-time", left <= LOW_TIME_MS);
  }
}

let tauntingFor = null;

/** Idle taunts run during the player's own turn only, restarting with each turn. */
function renderTaunts() {
  const key = isPlayer() && view.status === "active" && view.nextPlayer === view.seat ? `${view.gameId}:${view.board.flat().filter(Boolean).length}` : null;
  if (key === tauntingFor) return;
  tauntingFor = key;
  if (key === null) stopIdleTaunts();
  else startIdleTaunts((line) => toast(line, "It's your move.", { kind: "info", key: "taunt" }));
}

function setRematchStatus(text) {
  const el = byId("rematch-status");
  el.textContent = text;
  el.hidden = !text;
}

function renderRematchButton() {
  const button = byId("rematch");
  button.disabled = view.rematchVoted;
  button.textContent = view.opponentWantsRematch && !view.rematchVoted ? "Accept rematch" : "Rematch";
  button.classList.toggle("pulse", view.opponentWantsRematch && !view.rematchVoted);
}

function outcome() {
  const reason = view.endReason || (view.draw ? "draw" : view.winner ? "four_in_a_row" : view.status);
  if (view.status === "cancelled" || reason === "cancelled") return { result: "cancelled", title: "Game cancelled", detail: "Nobody joined this game." };
  if (view.draw || reason === "draw") return { result: "draw", title: "It's a draw!", detail: "The board is full and nobody connected four." };
  if (!view.winner && reason === "timeout") return { result: "abandoned", title: "Game aborted", detail: "Nobody made a move in time." };
  if (!view.winner) return { result: "abandoned", title: "Game abandoned", detail: "Nobody finished this game." };

  const winnerName = nameOf(view.winner);
  if (!isPlayer()) {
    const how = { four_in_a_row: "with four in a row", timeout: "on time", resign: "by resignation", abandoned: "by abandonment" }[reason] || "";
    return { result: "watched", title: `${winnerName} wins!`, detail: `${winnerName} won ${how}.`.replace(" .", ".") };
  }
  const won = view.winner === view.seat;
  const loser = nameOf(opponentSeat());
  const texts = won
    ? {
        four_in_a_row: ["You win!", "Four in a row. Well played!"],
        timeout: ["You win on time!", `${loser} ran out of time.`],
        resign: ["You win!", `${loser} resigned.`],
        abandoned: ["You win!", `${loser} left the game.`],
      }
    : {
        four_in_a_row: ["You lose", `${winnerName} connected four.`],
        timeout: ["You lost on time", "Your clock ran out."],
        resign: ["You resigned", `${winnerName} wins this one.`],
        abandoned: ["You lose", "You left the game for too long."],
      };
  const [title, detail] = texts[reason] || texts.four_in_a_row;
  return { result: won ? "win" : "loss", title, detail };
}

function showGameOver({ live }) {
  const banner = byId("game-over");
  const { result, title, detail } = outcome();
  byId("game-over-title").textContent = title;
  let full = detail;
  if (isPlayer() && view.ratingChanges && typeof view.ratingChanges[String(view.seat)] === "number") {
    const change = view.ratingChanges[String(view.seat)];
    const rating = view.ratings && view.ratings[String(view.seat)];
    full += ` ${signed(change)} Elo${typeof rating === "number" ? ` (now ${rating})` : ""}.`;
  }
  byId("game-over-detail").textContent = full;
  banner.dataset.result = result;
  banner.dataset.reason = view.endReason || "";
  banner.classList.toggle("won", result === "win");
  banner.classList.toggle("lost", result === "loss");
  const wasHidden = banner.hidden;
  banner.hidden = false;

  const seated = isPlayer() && view.status !== "cancelled";
  byId("rematch").hidden = !seated;
  byId("game-replay").hidden = view.status === "cancelled" || view.board.flat().every((v) => v === 0);
  if (seated) renderRematchButton();
  if (!view.rematchVoted && !view.opponentWantsRematch) setRematchStatus("");

  stopIdleTaunts();
  dismissToast("taunt");
  if (live && result === "win" && !view.celebrated) {
    view.celebrated = true;
    launchConfetti();
  }
  if (wasHidden) banner.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// The game screen, for a seat ("play") or a spectator ("watch").
//
// The server is the only source of truth. A `state` message replaces the whole local
// picture; a `move` is applied only when the socket says it is the next one in `seq`
// order (see ws.js). The client never places a disc on its own: a click sends the
// move and the disc appears when the broadcast comes back, on every screen at once.

import { api, serverNow } from "../api.js";
import { app, goHome, nav, refreshLiveStats, updateMyRating } from "../app.js";
import { BoardView, COLS, emptyBoard, isBoard } from "../board.js";
import { launchConfetti, startIdleTaunts, stopConfetti, stopIdleTaunts } from "../effects.js";
import { emoteGlyph, EMOTES, emotesHidden, setEmotesHidden } from "../emotes.js";
import { renderMoveList } from "../moves.js";
import { cellName, columnName, columnOfLetter, SEAT_COLOUR } from "../notation.js";
import { addressOf, setAddress } from "../router.js";
import { play as playSound } from "../sound.js";
import { saveView } from "../storage.js";
import { GameSocket } from "../ws.js";
import { announce, byId, clearToasts, dismissToast, h, showScreen, signed, toast } from "../ui.js";

const RING_LENGTH = 2 * Math.PI * 20;
const LOW_TIME_MS = 10_000;
const MOVE_ECHO_TIMEOUT_MS = 5_000;
const EMOTE_SHOWN_MS = 3_000;
/** A game may be aborted while fewer moves than this were played (as the server rules). */
const ABORT_BEFORE_MOVES = 2;

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
    rated: true,
    colour: "first",
    /** The seat whose draw offer is pending, or null. */
    drawOffer: null,
    connection: "connecting",
    everConnected: false,
    moveInFlight: false,
    emoteTimers: { 1: null, 2: null },
    cursor: 3,
    hoverCol: null,
    rematchVoted: false,
    /** `moves[n]` is move n + 1: `{player, column, row}`; filled from events and `/moves`. */
    moves: [],
    movesLoading: false,
    lastTickSecond: null,
    opponentWantsRematch: false,
    celebrated: false,
    soundedEnd: false,
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
  byId("offer-draw").addEventListener("click", offerDraw);
  byId("accept-draw").addEventListener("click", () => answerDraw(true));
  byId("decline-draw").addEventListener("click", () => answerDraw(false));
  byId("abort").addEventListener("click", abortGame);
  initEmotes();
  byId("resign-dialog").addEventListener("close", () => {
    if (byId("resign-dialog").returnValue === "confirm") resign();
  });
  nav.game = openGame;
}

/**
 * Opens game `gameId` as a player ("play") or a spectator ("watch"). `replace`: the
 * new address replaces the current history entry (a rematch follows its game).
 */
export function openGame(gameId, mode, { replace = false } = {}) {
  leaveGame();
  view = freshView(gameId, mode);
  saveView({ screen: "game", gameId, mode });
  setAddress(mode === "watch" ? addressOf.watch(gameId) : addressOf.game(gameId), { replace });
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
  else if (msg.type === "draw_offered") onDrawOffered(msg);
  else if (msg.type === "draw_declined") onDrawDeclined(msg);
  else if (msg.type === "emote") showEmote(msg);
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
  if (typeof state.rated === "boolean") view.rated = state.rated;
  if (typeof state.colour === "string") view.colour = state.colour;
  view.drawOffer = state.draw_offer ?? null;
  if (typeof state.viewers === "number") view.viewers = state.viewers;
  if (state.online && typeof state.online === "object") view.online = { 1: !!state.online["1"], 2: !!state.online["2"] };
  view.moveInFlight = false;
  if (view.mode === "play" && app.me && view.seat === null) view.seat = seatOf(app.me.id);
  if (state.reason === "joined" && view.mode === "play" && app.me && app.session && !fromRest) {
    // The creator's colour choice may have moved this player to the other seat.
    const mine = seatOf(app.me.id);
    if (mine && mine !== view.seat) {
      view.seat = mine;
      view.socket.send({ action: "identify", token: app.session.token });
    }
  }
  if (view.mode === "play" && app.me && view.seat === null && view.status !== "waiting" && !fromRest) {
    // Not a seat of this game: watch it instead of pretending to play.
    switchToWatching();
  }
  if (state.rematch_game_id && view.seat) {
    // The rematch already started while this client was away: follow it.
    openGame(state.rematch_game_id, "play", { replace: true });
    return;
  }

  markSeenOnline();
  syncMoves(typeof state.move_count === "number" ? state.move_count : view.board.flat().filter(Boolean).length);
  board.render(view.board, { lastMove: view.lastMove, winningCells: view.winningCells });
  if (state.reason === "joined" && isPlayer() && !fromRest) {
    toast("Opponent joined", `${nameOf(opponentSeat())} is here. Good luck!`, { kind: "success" });
    announce(`${nameOf(opponentSeat())} joined. You are ${SEAT_COLOUR[view.seat]}. ${view.nextPlayer === view.seat ? "Your turn." : "Opponent's turn."}`);
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
    view.seat = null;
    switchToWatching();
  }
  render();
}

/** This client holds no seat of the game: it watches, and the address says so. */
function switchToWatching() {
  view.mode = "watch";
  saveView({ screen: "game", gameId: view.gameId, mode: "watch" });
  setAddress(addressOf.watch(view.gameId), { replace: true });
  byId("spectator-banner").hidden = false;
  byId("screen-game").classList.add("spectating");
}

function applyMove(msg) {
  const wasMyTurn = isPlayer() && view.nextPlayer === view.seat;
  if (Number.isInteger(msg.move_count) && msg.move_count > 0) {
    view.moves[msg.move_count - 1] = { player: msg.player, column: msg.column, row: msg.row };
    syncMoves(msg.move_count);
  }
  if (isBoard(msg.board)) view.board = msg.board;
  view.lastMove = { player: msg.player, column: msg.column, row: msg.row };
  view.nextPlayer = msg.next_player ?? (msg.player === 1 ? 2 : 1);
  view.deadlineMs = msg.turn_deadline_ms ?? null;
  view.status = msg.status || view.status;
  view.moveInFlight = false;
  // A move makes a pending draw offer lapse.
  view.drawOffer = null;
  if (msg.winner || msg.draw) {
    view.winner = msg.winner ?? null;
    view.draw = !!msg.draw;
    view.winningCells = Array.isArray(msg.winning_cells) ? msg.winning_cells : [];
    view.endReason = view.endReason || (msg.draw ? "draw" : "four_in_a_row");
    if (view.status === "active") view.status = "finished";
  }
  board.render(view.board, { lastMove: view.lastMove });
  if (Number.isInteger(msg.row) && Number.isInteger(msg.column)) board.drop(msg.row, msg.column);
  playSound("drop");
  const placed = Number.isInteger(msg.row) && Number.isInteger(msg.column) ? ` ${cellName(msg.row, msg.column)}` : "";
  const who = isPlayer() && msg.player === view.seat ? "You" : `${nameOf(msg.player)} (${SEAT_COLOUR[msg.player]})`;
  if (isOver()) {
    board.markWinningCells(view.winningCells);
    showGameOver({ live: true });
    announce(`${who} played${placed}. ${outcome().title}`);
  } else {
    const myTurn = isPlayer() && view.nextPlayer === view.seat;
    if (myTurn && !wasMyTurn) setTimeout(() => playSound("turn"), 250);
    announce(`${who} played${placed}. ${myTurn ? "Your turn." : isPlayer() ? "Opponent's turn." : `${nameOf(view.nextPlayer)} to move.`}`);
  }
  render();
}

/**
 * Keeps `view.moves` complete: when the game holds more moves than this client has
 * seen (it joined late, reconnected or missed an event), the list is read again.
 */
function syncMoves(count) {
  const known = view.moves.filter(Boolean).length;
  if (known === count && view.moves.length === count) {
    renderMoves();
    return;
  }
  if (view.movesLoading) return;
  view.movesLoading = true;
  const current = view;
  api
    .moves(view.gameId)
    .then((moves) => {
      if (view !== current || !Array.isArray(moves)) return;
      const fresh = [];
      for (const m of moves) fresh[m.move_number - 1] = { player: m.player, column: m.column, row: m.row };
      // Events that arrived meanwhile are newer than the list.
      view.moves.forEach((m, i) => {
        if (m && !fresh[i]) fresh[i] = m;
      });
      view.moves = fresh;
    })
    .catch(() => {})
    .finally(() => {
      if (view !== current) return;
      view.movesLoading = false;
      renderMoves();
    });
}

function renderMoves() {
  renderMoveList(byId("move-list"), view.moves.filter(Boolean), { current: view.moves.length });
  byId("move-list-empty").hidden = view.moves.length > 0;
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
  view.drawOffer = null;
  if (view.ratings) {
    for (const seat of [1, 2]) {
      const rating = view.ratings[String(seat)];
      if (typeof rating === "number" && view.players[seat]) view.players[seat] = { ...view.players[seat], elo_rating: rating };
    }
    if (view.seat && typeof view.ratings[String(view.seat)] === "number") updateMyRating(view.ratings[String(view.seat)]);
  }
  board.markWinningCells(view.winningCells);
  showGameOver({ live: !wasOver || !view.celebrated });
  if (!wasOver) announce(`${outcome().title} ${outcome().detail}`);
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
  openGame(newGameId, mode, { replace: true });
  toast("Rematch!", mode === "play" ? "Colours are swapped. Have fun!" : "The players started a rematch.", { kind: "success" });
}

function onDrawOffered(msg) {
  view.drawOffer = msg.player === 1 || msg.player === 2 ? msg.player : null;
  if (isPlayer() && view.drawOffer !== view.seat) {
    toast("Draw offered", `${nameOf(view.drawOffer)} offers a draw.`, { kind: "info", key: "draw" });
    announce(`${nameOf(view.drawOffer)} offers a draw.`);
  }
  render();
}

function onDrawDeclined(msg) {
  const offeredBy = view.drawOffer;
  view.drawOffer = null;
  if (isPlayer() && offeredBy === view.seat) {
    toast("Draw declined", `${nameOf(msg.player)} wants to play on.`, { kind: "info", key: "draw" });
  }
  render();
}

/** An emote shows for a few seconds in a bubble by its sender's card (unless hidden). */
function showEmote(msg) {
  const seat = msg.player;
  if ((seat !== 1 && seat !== 2) || emotesHidden()) return;
  const glyph = emoteGlyph(msg.emote);
  if (!glyph) return;
  const bubble = byId(`emote-bubble-${seat}`);
  bubble.replaceChildren(glyph);
  bubble.dataset.emote = msg.emote;
  bubble.hidden = false;
  bubble.classList.remove("pop");
  void bubble.offsetWidth;
  bubble.classList.add("pop");
  announce(`${nameOf(seat)}: ${EMOTES[msg.emote].label}`);
  clearTimeout(view.emoteTimers[seat]);
  view.emoteTimers[seat] = setTimeout(() => {
    bubble.hidden = true;
  }, EMOTE_SHOWN_MS);
}

function hideEmoteBubbles() {
  for (const seat of [1, 2]) byId(`emote-bubble-${seat}`).hidden = true;
}

const ERROR_TEXT = {
  not_your_turn: "Wait for your turn.",
  no_draw_offer: "There is no draw offer to answer.",
  own_draw_offer: "You cannot answer your own offer.",
  too_late_to_abort: "Too late to abort: two moves were played. You can resign.",
  column_full: "That column is full.",
  game_over: "The game is over.",
  game_not_active: "The game has not started yet.",
  rate_limited: "Slow down a little.",
};

function onServerError(msg) {
  view.moveInFlight = false;
  if (msg.code === "unauthorized") {
    toast("Session expired", "Log in again to keep playing. You are watching for now.", { kind: "warning" });
    view.seat = null;
    switchToWatching();
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

/**
 * The board is played with the keyboard as well as the mouse: a column letter (a–g) or
 * digit (1–7) drops a disc there; ← → move the cursor column and Enter or Space drops
 * it. Arrows and Enter act only while no other control has the focus.
 */
function onKey(event) {
  if (!view || byId("screen-game").hidden || byId("resign-dialog").open) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const onControl = target instanceof Element && target !== byId("board") && target.closest("button, a, [role='tab']") !== null;
  const key = event.key;
  const direct = /^[1-7]$/.test(key) ? Number(key) - 1 : columnOfLetter(key);
  if (direct !== null) {
    event.preventDefault();
    moveCursor(direct);
    play(direct);
  } else if ((key === "ArrowLeft" || key === "ArrowRight") && !onControl) {
    event.preventDefault();
    const step = key === "ArrowLeft" ? -1 : 1;
    const from = view.hoverCol ?? view.cursor;
    moveCursor((from + step + COLS) % COLS);
    announceCursor();
  } else if ((key === "Enter" || key === " ") && !onControl) {
    event.preventDefault();
    play(view.hoverCol ?? view.cursor);
  }
}

function moveCursor(col) {
  view.cursor = col;
  view.hoverCol = col;
  renderHover();
}

function announceCursor() {
  const col = view.cursor;
  const free = view.board.filter((row) => row[col] === 0).length;
  announce(`Column ${columnName(col)}, ${free ? `${free} free` : "full"}`);
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

function sendAction(action, restCall) {
  if (view.socket.send({ action })) return;
  restCall().catch((err) => toast(ERROR_TEXT[err.code] || err.message, "", { kind: "warning", key: "move-error" }));
}

function offerDraw() {
  if (!isPlayer() || view.status !== "active" || view.drawOffer === view.seat) return;
  sendAction("draw_offer", () => api.draw(view.gameId, "offer"));
}

function answerDraw(accept) {
  if (!isPlayer() || view.drawOffer === null || view.drawOffer === view.seat) return;
  if (accept) sendAction("draw_accept", () => api.draw(view.gameId, "accept"));
  else sendAction("draw_decline", () => api.draw(view.gameId, "decline"));
}

function abortGame() {
  if (!isPlayer() || view.status !== "active") return;
  sendAction("abort", () => api.abort(view.gameId));
}

function sendEmote(emote) {
  if (!isPlayer() || !view.players[1] || !view.players[2]) return;
  if (!view.socket.send({ action: "emote", emote })) api.emote(view.gameId, emote).catch(() => {});
}

/** The emote buttons and the "hide emotes" switch, built once. */
function initEmotes() {
  const bar = byId("emote-bar");
  bar.replaceChildren(
    ...Object.entries(EMOTES).map(([name, emote]) =>
      h("button", { type: "button", class: "secondary small emote-button", title: emote.label, "aria-label": `Send ${emote.label}`, dataset: { testid: `emote-${name}` }, onclick: () => sendEmote(name) }, emoteGlyph(name)),
    ),
  );
  const hide = byId("hide-emotes");
  hide.checked = emotesHidden();
  hide.addEventListener("change", () => {
    setEmotesHidden(hide.checked);
    if (hide.checked) hideEmoteBubbles();
  });
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
  renderSeatLabel();
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
  const abortable = isPlayer() && view.status === "active" && view.moves.length < ABORT_BEFORE_MOVES;
  byId("abort").hidden = !abortable;
  // While the opponent's offer is pending, the answer is Accept / Decline, not a new offer.
  const opponentOffers = view.drawOffer !== null && view.drawOffer !== view.seat;
  byId("offer-draw").hidden = !(isPlayer() && view.status === "active") || abortable || opponentOffers;
  byId("offer-draw").disabled = view.drawOffer === view.seat;
  byId("offer-draw").textContent = view.drawOffer === view.seat ? "Draw offered" : "Offer draw";
  renderDrawOffer();
  renderOptions();
  byId("emote-panel").hidden = !(isPlayer() && view.players[1] && view.players[2]);
}

/** The pending draw offer: the offering seat waits, the other may accept or decline. */
function renderDrawOffer() {
  const box = byId("draw-offer");
  const offer = view.status === "active" ? view.drawOffer : null;
  box.hidden = offer === null;
  if (offer === null) return;
  const mine = isPlayer() && offer === view.seat;
  const answerable = isPlayer() && !mine;
  byId("draw-offer-text").textContent = mine ? "You offered a draw. Waiting for an answer…" : `${nameOf(offer)} offers a draw.`;
  byId("accept-draw").hidden = !answerable;
  byId("decline-draw").hidden = !answerable;
}

/** How the game was set up: rated or casual, the clock, and the creator's colour while waiting. */
function renderOptions() {
  const parts = [view.rated ? "Rated" : "Casual"];
  if (view.limitSecs) parts.push(`${view.limitSecs} s per move`);
  if (view.status === "waiting") parts.push({ first: "creator moves first", second: "creator moves second", random: "colours drawn at random" }[view.colour] || "");
  byId("game-options-line").textContent = parts.filter(Boolean).join(" · ");
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
    const online = !!view.online[seat] || !!(player && player.bot);
    const nameEl = byId(`player-name-${seat}`);
    nameEl.replaceChildren(
      player && player.bot
        ? h("span", { class: "name-text" }, player.username)
        : player
          ? h("a", { class: "name-text", href: addressOf.player(player.username), dataset: { link: "" } }, player.username)
          : h("span", { class: "name-text" }, seat === 2 && view.status === "waiting" ? "Waiting for opponent…" : `Player ${seat}`),
    );
    if (me) nameEl.append(" ", h("em", { class: "you" }, "(you)"));
    if (player && player.bot) nameEl.append(" ", h("span", { class: "pill bot-level", dataset: { testid: `bot-level-${seat}` } }, player.bot));
    const presence = byId(`player-presence-${seat}`);
    presence.textContent = !player
      ? "—"
      : player.bot
        ? "Computer · unrated game"
        : `${online ? "Online" : "Offline"}${typeof player.elo_rating === "number" ? ` · ${player.elo_rating}` : ""}`;
    card.classList.toggle("is-me", me);
    card.classList.toggle("active-turn", active);
    card.classList.toggle("online", !!player && online);
    card.classList.toggle("offline", !!player && !online);
    card.classList.toggle("winner", isOver() && view.winner === seat);
    card.dataset.online = String(online);
    card.dataset.active = String(active);
  }
}

/** Says which colour the player has, in words: a phone truncates names, not this line. */
function renderSeatLabel() {
  const label = byId("seat-label");
  if (!isPlayer()) {
    label.hidden = true;
    return;
  }
  const colour = SEAT_COLOUR[view.seat];
  label.replaceChildren(
    h("i", { class: `disc p${view.seat}`, "aria-hidden": "true" }),
    ` You are ${colour}`,
    view.status === "waiting" || (view.status === "active" && view.moves.length === 0) ? (view.seat === 1 ? " · you move first" : " · you move second") : "",
  );
  label.dataset.seat = String(view.seat);
  label.hidden = false;
}

function renderHover() {
  const show = canMove() && view.hoverCol !== null;
  board.setHover(show ? view.hoverCol : null, view.seat);
  board.setCursor(isPlayer() && !isOver() ? view.cursor : null);
}

/**
 * Both cards show a clock while the game runs: the player to move counts down, the
 * other shows the full time they will have for their move.
 */
function renderClock() {
  if (!view) return;
  const total = (view.limitSecs || 60) * 1000;
  for (const seat of [1, 2]) {
    const card = byId(`player-card-${seat}`);
    const ring = card.querySelector(".ring-fill");
    const label = byId(`player-clock-${seat}`);
    const running = view.status === "active" && view.nextPlayer === seat && typeof view.deadlineMs === "number";
    if (!running) {
      ring.style.strokeDashoffset = String(RING_LENGTH);
      label.textContent = view.status === "active" && view.limitSecs ? `${view.limitSecs}s` : "";
      label.dataset.running = "false";
      card.classList.remove("low-time");
      continue;
    }
    const left = Math.max(0, view.deadlineMs - serverNow());
    const fraction = Math.max(0, Math.min(1, left / total));
    ring.style.strokeDasharray = String(RING_LENGTH);
    ring.style.strokeDashoffset = String(RING_LENGTH * (1 - fraction));
    const seconds = Math.ceil(left / 1000);
    label.textContent = `${seconds}s`;
    label.dataset.running = "true";
    const low = left <= LOW_TIME_MS;
    card.classList.toggle("low-time", low);
    // A tick each second of the player's own low clock (the last third of a short one).
    const ticking = left <= Math.min(LOW_TIME_MS, total / 3);
    if (ticking && seconds > 0 && isPlayer() && seat === view.seat && view.lastTickSecond !== seconds) {
      view.lastTickSecond = seconds;
      playSound("lowClock");
      if (seconds === 10) announce("10 seconds left.");
    }
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
  if (reason === "draw_agreed") return { result: "draw", title: "Draw agreed", detail: `The players agreed to a draw.${view.rated ? "" : " Casual game: no rating change."}` };
  if (reason === "aborted") return { result: "aborted", title: "Game aborted", detail: "The game was aborted before it really began. No rating change." };
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
  if (live && !view.soundedEnd) {
    view.soundedEnd = true;
    refreshLiveStats().catch(() => {});
    const sound = { win: "win", loss: "loss", draw: "draw" }[result];
    if (sound) setTimeout(() => playSound(sound), 300);
  }
  if (live && result === "win" && !view.celebrated) {
    view.celebrated = true;
    launchConfetti();
  }
  if (wasHidden) banner.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

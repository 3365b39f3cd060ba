// Connection soak: SOCKETS idle WebSockets, opened evenly over RAMP_S seconds, held for
// HOLD_S seconds, each sending `{"action":"ping"}` every PING_MS (the web client pings
// every 25 s) and timing the `pong`. The sockets watch GAMES waiting games created in
// setup (as spectators: connected, never identified), or, with SOAK_PATH=lobby, sit on
// `/ws/lobby`. With WS_URLS set the sockets are spread over those instances; give one
// URL to load a single instance.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8001 -e WS_URLS=ws://127.0.0.1:8001 \
//          -e SOCKETS=10000 -e VUS=20 -e RAMP_S=60 -e HOLD_S=60 loadtest/soak.js
//
// Knobs: SOCKETS (default 1000), VUS (k6 VUs sharing them, default 10), RAMP_S (default
// 30), HOLD_S (default 60), PING_MS (default 25000), GAMES (default SOCKETS/10),
// SOAK_PATH (game | lobby | mixed: every other socket on a game, the rest in the lobby;
// default game), WATCHERS (default 0: that many of the game sockets watch one active
// game instead, where two players make BROADCAST_MOVES moves, one every BROADCAST_MS,
// once every socket is open), MOVE_LIMIT_S (the server's MOVE_TIME_LIMIT_SECONDS,
// default 60), LOBBY_PLAYERS (players whose tokens the lobby sockets identify with,
// default 100).
//
// Measures: soak_opened, soak_open_failed, soak_closed_early (closed by the server or
// the network before the end), soak_pong_ms, soak_pongs_missing (a ping without a
// pong by the next ping), soak_messages; with WATCHERS, soak_broadcast_ms (the move's
// time on the server — its turn deadline less the move time limit — to a watcher
// receiving it, for every watcher and move) and soak_broadcast_moves (moves played).

import { WebSocket } from 'k6/experimental/websockets';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { TREND_STATS, VUS, body, countError, logError, post, register, summarize, wsBase } from './lib.js';

const SOCKETS = parseInt(__ENV.SOCKETS || '1000', 10);
const RAMP_S = parseFloat(__ENV.RAMP_S || '30');
const HOLD_S = parseFloat(__ENV.HOLD_S || '60');
const PING_MS = parseInt(__ENV.PING_MS || '25000', 10);
const GAMES = parseInt(__ENV.GAMES || String(Math.max(1, Math.ceil(SOCKETS / 10))), 10);
const SOAK_PATH = __ENV.SOAK_PATH || 'game';
const SOAK_VUS = Math.min(VUS, SOCKETS);
const WATCHERS = parseInt(__ENV.WATCHERS || '0', 10);
const BROADCAST_MOVES = parseInt(__ENV.BROADCAST_MOVES || '21', 10);
const BROADCAST_MS = parseInt(__ENV.BROADCAST_MS || '1000', 10);
const MOVE_LIMIT_MS = parseInt(__ENV.MOVE_LIMIT_S || '60', 10) * 1000;
const LOBBY_PLAYERS = parseInt(__ENV.LOBBY_PLAYERS || '100', 10);

const opened = new Counter('soak_opened');
const openFailed = new Counter('soak_open_failed');
const closedEarly = new Counter('soak_closed_early');
const pongMs = new Trend('soak_pong_ms', true);
const pongsMissing = new Counter('soak_pongs_missing');
const messages = new Counter('soak_messages');
const connectMs = new Trend('soak_connect_ms', true);
const broadcastMs = new Trend('soak_broadcast_ms', true);
const broadcastMoves = new Counter('soak_broadcast_moves');

const scenarios = {
  soak: {
    executor: 'per-vu-iterations',
    vus: SOAK_VUS,
    iterations: 1,
    maxDuration: `${Math.ceil(RAMP_S + HOLD_S + 120)}s`,
    gracefulStop: '30s',
  },
};
if (WATCHERS > 0) {
  // Starts once every socket is open (the ramp begins 2 s after setup).
  scenarios.broadcast = {
    executor: 'per-vu-iterations',
    vus: 1,
    iterations: 1,
    exec: 'broadcast',
    startTime: `${Math.ceil(RAMP_S + 10)}s`,
    maxDuration: `${Math.ceil(HOLD_S + 60)}s`,
  };
}

export const options = {
  setupTimeout: '300s',
  scenarios,
  summaryTrendStats: TREND_STATS,
};

export function setup() {
  const games = [];
  if (SOAK_PATH !== 'lobby') {
    const host = register('soak');
    for (let i = 0; i < GAMES; i++) {
      const res = post('/games', {}, host.token, 'POST /games');
      if (res.status === 201) games.push(body(res).game_id);
      else countError(res, 'soak_setup');
    }
  }
  // Lobby sockets must identify (the server closes an unidentified lobby socket after
  // WS_IDENTIFY_TIMEOUT_SECONDS): they share LOBBY_PLAYERS players' tokens.
  const lobbyTokens = [];
  if (SOAK_PATH !== 'game') {
    for (let i = 0; i < LOBBY_PLAYERS; i++) lobbyTokens.push(register('lob').token);
  }
  let watched = null;
  if (WATCHERS > 0) {
    const players = [register('bca'), register('bcb')];
    const created = post('/games', {}, players[0].token, 'POST /games');
    const gameId = body(created).game_id;
    post(`/games/${gameId}/join`, undefined, players[1].token, 'POST /games/{id}/join');
    watched = { gameId, tokens: players.map((p) => p.token) };
  }
  // Every VU follows the same schedule, counted from here.
  return { games, watched, lobbyTokens, start: Date.now() + 2000 };
}

export default function (data) {
  const perVu = Math.ceil(SOCKETS / SOAK_VUS);
  // The index of this VU within the soak scenario (__VU also counts the broadcaster's VU).
  const first = exec.scenario.iterationInTest * perVu;
  const last = Math.min(SOCKETS, first + perVu);
  const rampMs = RAMP_S * 1000;
  const end = data.start + rampMs + HOLD_S * 1000;
  const sockets = [];
  let ending = false;

  for (let i = first; i < last; i++) {
    const at = data.start + Math.floor((i / SOCKETS) * rampMs);
    setTimeout(() => openSocket(i), Math.max(0, at - Date.now()));
  }
  setTimeout(() => {
    ending = true;
    for (const s of sockets) {
      if (s.timer) clearInterval(s.timer);
      s.ws.close();
    }
  }, Math.max(0, end - Date.now()));

  function openSocket(i) {
    if (ending) return;
    const inLobby = SOAK_PATH === 'lobby' || (SOAK_PATH === 'mixed' && i % 2 === 1);
    const slot = SOAK_PATH === 'mixed' ? Math.floor(i / 2) : i;
    const watching = !inLobby && data.watched !== null && slot < WATCHERS;
    let path = inLobby ? '/ws/lobby' : `/ws/${data.games[i % data.games.length]}`;
    if (watching) path = `/ws/${data.watched.gameId}`;
    const s = { ws: null, timer: null, pingAt: null, open: false, opened: false };
    const begun = Date.now();
    const ws = new WebSocket(`${wsBase(i)}${path}`);
    s.ws = ws;
    sockets.push(s);
    ws.onopen = () => {
      s.open = true;
      s.opened = true;
      opened.add(1);
      connectMs.add(Date.now() - begun);
      if (inLobby) ws.send(JSON.stringify({ action: 'identify', token: data.lobbyTokens[i % data.lobbyTokens.length] }));
      const ping = () => {
        if (!s.open) return;
        if (s.pingAt !== null) pongsMissing.add(1);
        s.pingAt = Date.now();
        ws.send('{"action":"ping"}');
      };
      // Spread the pings of all sockets evenly over the ping period.
      setTimeout(() => {
        if (ending) return;
        ping();
        s.timer = setInterval(ping, PING_MS);
      }, Math.floor(Math.random() * PING_MS));
    };
    ws.onmessage = (e) => {
      messages.add(1);
      if (watching && e.data.indexOf('"type":"move"') >= 0) {
        const msg = JSON.parse(e.data);
        if (msg.turn_deadline_ms) broadcastMs.add(Date.now() - (msg.turn_deadline_ms - MOVE_LIMIT_MS));
      }
      if (e.data.indexOf('"pong"') >= 0 && s.pingAt !== null) {
        pongMs.add(Date.now() - s.pingAt);
        s.pingAt = null;
      }
    };
    ws.onerror = (e) => {
      if (ending) return;
      if (!s.opened) {
        openFailed.add(1);
        logError('soak_open', 'ws_open_failed', 0, null, e && e.error ? e.error : '');
      }
    };
    ws.onclose = () => {
      const wasOpen = s.open;
      s.open = false;
      if (s.timer) clearInterval(s.timer);
      s.timer = null;
      if (!ending && wasOpen) {
        closedEarly.add(1);
        logError('soak', 'ws_closed_early', 0, null, '');
      }
    };
  }
}

/**
 * The two players of the watched game: both identify, then they play BROADCAST_MOVES
 * moves, one every BROADCAST_MS, filling the board row by row from the left (three
 * rows of alternating colours: no four in a row, so the game never ends early).
 */
export function broadcast(data) {
  const seats = [null, null];
  let ready = 0;
  let played = 0;
  let timer = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    for (const ws of seats) if (ws) ws.close();
  };
  const play = () => {
    if (played >= Math.min(BROADCAST_MOVES, 21)) {
      stop();
      return;
    }
    seats[played % 2].send(JSON.stringify({ action: 'move', column: played % 7 }));
    broadcastMoves.add(1);
    played += 1;
  };
  for (const seat of [0, 1]) {
    const ws = new WebSocket(`${wsBase(0)}/ws/${data.watched.gameId}`);
    seats[seat] = ws;
    ws.onopen = () => ws.send(JSON.stringify({ action: 'identify', token: data.watched.tokens[seat] }));
    ws.onmessage = (e) => {
      if (e.data.indexOf('"identified"') >= 0) {
        ready += 1;
        if (ready === 2) timer = setInterval(play, BROADCAST_MS);
      } else if (e.data.indexOf('"type":"error"') >= 0) {
        logError('broadcast', 'ws_error', 0, data.watched.gameId, e.data.slice(0, 200));
      }
    };
  }
}

export function handleSummary(data) {
  return summarize(data, 'soak');
}

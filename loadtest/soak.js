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
// SOAK_PATH (game | lobby, default game).
//
// Measures: soak_opened, soak_open_failed, soak_closed_early (closed by the server or
// the network before the end), soak_pong_ms, soak_pongs_missing (a ping without a
// pong by the next ping), soak_messages.

import { WebSocket } from 'k6/experimental/websockets';
import { Counter, Trend } from 'k6/metrics';
import { TREND_STATS, VUS, body, countError, logError, post, register, summarize, wsBase } from './lib.js';

const SOCKETS = parseInt(__ENV.SOCKETS || '1000', 10);
const RAMP_S = parseFloat(__ENV.RAMP_S || '30');
const HOLD_S = parseFloat(__ENV.HOLD_S || '60');
const PING_MS = parseInt(__ENV.PING_MS || '25000', 10);
const GAMES = parseInt(__ENV.GAMES || String(Math.max(1, Math.ceil(SOCKETS / 10))), 10);
const SOAK_PATH = __ENV.SOAK_PATH || 'game';
const SOAK_VUS = Math.min(VUS, SOCKETS);

const opened = new Counter('soak_opened');
const openFailed = new Counter('soak_open_failed');
const closedEarly = new Counter('soak_closed_early');
const pongMs = new Trend('soak_pong_ms', true);
const pongsMissing = new Counter('soak_pongs_missing');
const messages = new Counter('soak_messages');
const connectMs = new Trend('soak_connect_ms', true);

export const options = {
  setupTimeout: '300s',
  scenarios: {
    soak: {
      executor: 'per-vu-iterations',
      vus: SOAK_VUS,
      iterations: 1,
      maxDuration: `${Math.ceil(RAMP_S + HOLD_S + 120)}s`,
      gracefulStop: '30s',
    },
  },
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
  // Every VU follows the same schedule, counted from here.
  return { games, start: Date.now() + 2000 };
}

export default function (data) {
  const perVu = Math.ceil(SOCKETS / SOAK_VUS);
  const first = (__VU - 1) * perVu;
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
    const path = SOAK_PATH === 'lobby' ? '/ws/lobby' : `/ws/${data.games[i % data.games.length]}`;
    const s = { ws: null, timer: null, pingAt: null, open: false };
    const begun = Date.now();
    const ws = new WebSocket(`${wsBase(i)}${path}`);
    s.ws = ws;
    sockets.push(s);
    ws.onopen = () => {
      s.open = true;
      opened.add(1);
      connectMs.add(Date.now() - begun);
      const ping = () => {
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
      if (e.data.indexOf('"pong"') >= 0 && s.pingAt !== null) {
        pongMs.add(Date.now() - s.pingAt);
        s.pingAt = null;
      }
    };
    ws.onerror = (e) => {
      if (ending) return;
      if (!s.open) {
        openFailed.add(1);
        logError('soak_open', 'ws_open_failed', 0, null, e && e.error ? e.error : '');
      }
    };
    ws.onclose = () => {
      if (s.timer) clearInterval(s.timer);
      s.timer = null;
      if (!ending && s.open) {
        closedEarly.add(1);
        logError('soak', 'ws_closed_early', 0, null, '');
      }
    };
  }
}

export function handleSummary(data) {
  return summarize(data, 'soak');
}

// Shared helpers of the k6 scenarios: configuration from the environment, player
// registration, REST calls with JSON bodies, random legal moves, and the
// acknowledgement log the runner checks against PostgreSQL and the audit logs.
//
// Environment (all optional; run.py sets them):
//   BASE_URL   http://127.0.0.1:8080   REST (and WebSocket unless WS_URLS is set)
//   WS_URLS    ws://127.0.0.1:8001,...  WebSocket endpoints of the instances, to spread
//                                       the two players of a game over different instances
//   VUS, DURATION                        load shape (each script documents its own knobs)

import http from 'k6/http';
import { Counter } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const WS_URLS = (__ENV.WS_URLS || '')
  .split(',')
  .map((u) => u.trim().replace(/\/$/, ''))
  .filter((u) => u.length > 0);
export const VUS = parseInt(__ENV.VUS || '20', 10);
export const DURATION = __ENV.DURATION || '60s';

export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

/** Every refused or failed request, tagged with the server's error code (or the HTTP status). */
export const errors = new Counter('errors');

/** The WebSocket base URL for a given index (spread over WS_URLS, or the load balancer). */
export function wsBase(index) {
  if (WS_URLS.length > 0) return WS_URLS[index % WS_URLS.length];
  return BASE_URL.replace(/^http/, 'ws');
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomSuffix(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return s;
}

function jsonParams(token, tags) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return { headers, tags: tags || {}, responseCallback: http.expectedStatuses({ min: 200, max: 299 }) };
}

/** Parses a JSON body; null when the body is not JSON. */
export function body(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

/**
 * Counts a refused request under its error code, and writes it to the acknowledgement
 * log as `{"kind":"error",...}` so the runner can report every code and where it
 * happened. Returns that code.
 */
export function countError(res, where, gameId) {
  const parsed = body(res);
  const code = (parsed && parsed.code) || (res.status === 0 ? 'transport' : `http_${res.status}`);
  errors.add(1, { code, where });
  logError(where, code, res.status, gameId, parsed && parsed.error ? parsed.error : res.error || '');
  return code;
}

/** One error line for the runner (REST or WebSocket). */
export function logError(where, code, status, gameId, message) {
  console.log(
    JSON.stringify({ kind: 'error', where, code, status, game_id: gameId || null, message: String(message || '').slice(0, 200), t: Date.now() }),
  );
}

export function post(path, payload, token, name) {
  return http.post(`${BASE_URL}${path}`, payload === undefined ? '{}' : JSON.stringify(payload), jsonParams(token, { name: name || path }));
}

export function get(path, token, name) {
  return http.get(`${BASE_URL}${path}`, jsonParams(token, { name: name || path }));
}

/** Registers a guest player with a unique name; retries a few times on failure. */
export function register(prefix) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const username = `${prefix}${__VU}_${randomSuffix(6)}`.slice(0, 20);
    const res = post('/players', { username }, null, 'POST /players');
    if (res.status === 201 || res.status === 200) {
      const p = body(res);
      return { id: p.id, token: p.token, username };
    }
    countError(res, 'register');
  }
  throw new Error('registration keeps failing');
}

/** Creates a game as `creator` and seats `joiner`; returns the GameView after the join (or null). */
export function createAndJoin(creator, joiner) {
  const created = post('/games', {}, creator.token, 'POST /games');
  if (created.status !== 201) {
    countError(created, 'create');
    return null;
  }
  const gameId = body(created).game_id;
  const joined = post(`/games/${gameId}/join`, undefined, joiner.token, 'POST /games/{id}/join');
  if (joined.status !== 200) {
    countError(joined, 'join');
    return null;
  }
  return body(joined);
}

/** A random column that is not full on `board` (row 0 is the top). */
export function randomLegalColumn(board) {
  const open = [];
  for (let c = 0; c < 7; c++) if (board[0][c] === 0) open.push(c);
  return open[Math.floor(Math.random() * open.length)];
}

/**
 * Writes one acknowledgement line for a game: the move numbers (and seqs) the server
 * confirmed. k6 runs with `--console-output <file> --log-format raw`, so each line of that
 * file is exactly this JSON; run.py reads it back and checks every move is stored once.
 */
export function logAcks(gameId, moves, seqs, source) {
  if (!gameId || moves.length === 0) return;
  console.log(JSON.stringify({ kind: 'acks', source, game_id: gameId, moves, seqs }));
}

/** A compact text summary on stdout (no remote jslib needed) plus the full JSON for run.py. */
export function summarize(data, title) {
  const out = {};
  if (__ENV.SUMMARY_FILE) out[__ENV.SUMMARY_FILE] = JSON.stringify(data, null, 1);
  const lines = [`\n== ${title} ==`];
  const names = Object.keys(data.metrics).sort();
  for (const name of names) {
    const m = data.metrics[name];
    const v = m.values;
    if (m.type === 'trend') {
      lines.push(
        `${name.padEnd(34)} avg=${fmt(v.avg)} p50=${fmt(v.med)} p95=${fmt(v['p(95)'])} p99=${fmt(v['p(99)'])} max=${fmt(v.max)} n=${v.count}`,
      );
    } else if (m.type === 'counter') {
      lines.push(`${name.padEnd(34)} count=${v.count} rate=${fmt(v.rate)}/s`);
    } else if (m.type === 'rate') {
      lines.push(`${name.padEnd(34)} rate=${fmt(v.rate * 100)}% (${v.passes} of ${v.passes + v.fails})`);
    } else if (m.type === 'gauge') {
      lines.push(`${name.padEnd(34)} value=${v.value} max=${v.max}`);
    }
  }
  out.stdout = lines.join('\n') + '\n';
  return out;
}

function fmt(x) {
  if (x === undefined || x === null) return '-';
  return Number(x).toFixed(2);
}

// REST move throughput: VUS games in parallel. Each VU owns two players; one iteration
// is one game: create, join, then random legal moves over `POST /games/{id}/move`,
// alternating seats, until the game ends (four in a row or a full board). Then the
// next iteration starts a new game.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e VUS=40 -e DURATION=60s loadtest/rest_moves.js
//
// Knobs: VUS (games in parallel, default 20), DURATION (default 60s), THINK_MS (pause
// before each move, default 0 = as fast as the server answers), DOUBLE_EVERY (default 0
// = off; N = every Nth move is sent twice at the same moment, as a client retrying too
// early would: exactly one copy may be applied, the other must be refused).
//
// Every 200 answer is an acknowledged move; its game_id and move number are written
// to the console log (see lib.js `logAcks`) for run.py to verify.

import { sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, DURATION, TREND_STATS, VUS, body, countError, createAndJoin, logAcks, post, randomLegalColumn, register,
  summarize,
} from './lib.js';

const THINK_MS = parseInt(__ENV.THINK_MS || '0', 10);
const DOUBLE_EVERY = parseInt(__ENV.DOUBLE_EVERY || '0', 10);
const MAX_RETRIES = 20;

const movesAcked = new Counter('moves_acked');
const gamesCompleted = new Counter('games_completed');
const gamesAborted = new Counter('games_aborted');
const moveMs = new Trend('move_ms', true);
const doubleSent = new Counter('double_sent');
const doubleBothApplied = new Counter('double_both_applied');
const doubleRefused = new Counter('double_refused_as_expected');
let moveCounter = 0;

/** Sends the same move twice at once; returns the response that was accepted (or the first). */
function doubleMove(gameId, column, token) {
  const req = {
    method: 'POST',
    url: `${BASE_URL}/games/${gameId}/move`,
    body: JSON.stringify({ column }),
    params: {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      tags: { name: 'POST /games/{id}/move (double)' },
      responseCallback: http.expectedStatuses({ min: 200, max: 299 }, 409),
    },
  };
  const [a, b] = http.batch([req, req]);
  doubleSent.add(1);
  const ok = [a, b].filter((r) => r.status === 200);
  const refused = [a, b].filter((r) => r.status === 409);
  if (ok.length === 2) {
    doubleBothApplied.add(1);
    countError(b, 'double_both_applied', gameId);
  } else if (ok.length === 1 && refused.length === 1) {
    doubleRefused.add(1);
  }
  for (const r of [a, b]) if (r.status !== 200 && r.status !== 409) countError(r, 'double', gameId);
  if (ok.length >= 1) return ok[0];
  return a;
}

export const options = {
  scenarios: {
    rest_moves: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '30s' },
  },
  summaryTrendStats: TREND_STATS,
  discardResponseBodies: false,
};

let players = null;

export default function () {
  if (players === null) players = { 1: register('ra'), 2: register('rb') };
  const view = createAndJoin(players[1], players[2]);
  if (view === null) {
    sleep(0.5);
    return;
  }
  const gameId = view.game_id;
  let board = view.board;
  let next = view.next_player;
  let status = view.status;
  const moves = [];
  const seqs = [];
  let retries = 0;
  while (status === 'active') {
    if (THINK_MS > 0) sleep(THINK_MS / 1000);
    const column = randomLegalColumn(board);
    moveCounter += 1;
    const res = DOUBLE_EVERY > 0 && moveCounter % DOUBLE_EVERY === 0
      ? doubleMove(gameId, column, players[next].token)
      : post(`/games/${gameId}/move`, { column }, players[next].token, 'POST /games/{id}/move');
    if (res.status === 200) {
      const event = body(res);
      moveMs.add(res.timings.duration);
      movesAcked.add(1);
      moves.push(event.move_count);
      seqs.push(event.seq);
      board = event.board;
      next = event.next_player;
      status = event.status;
      retries = 0;
      continue;
    }
    const code = countError(res, 'move', gameId);
    retries += 1;
    if (retries > MAX_RETRIES || !(code === 'game_busy' || code === 'transport' || code === 'http_502' || code === 'http_504')) {
      // Anything but a transient refusal means this client's view of the game is wrong:
      // stop this game (its acknowledged moves are still checked) and start another.
      gamesAborted.add(1);
      break;
    }
    sleep(0.01 * retries);
  }
  logAcks(gameId, moves, seqs, 'rest');
  if (status !== 'active') gamesCompleted.add(1);
}

export function handleSummary(data) {
  return summarize(data, 'rest_moves');
}

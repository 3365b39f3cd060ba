// Matchmaking bursts: every BURST_EVERY_S seconds all VUS players join the queue at
// the same moment (`POST /matchmaking/join`), then poll `GET /matchmaking/status/{id}`
// every POLL_MS until matched. The player seated first resigns the new game at once,
// the other waits until the game is over, so both can queue again in the next burst.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e VUS=200 loadtest/matchmaking.js
//
// Knobs: VUS (players per burst, default 100; use an even number), DURATION (default
// 60s), BURST_EVERY_S (default 5), POLL_MS (default 250), MATCH_TIMEOUT_MS (default 20000).
//
// Measures: mm_join_ms (the join request), mm_time_to_match_ms (join sent -> a poll or
// the join itself answers "matched"), mm_polls_per_match, mm_matched, mm_timeouts.
// Every match is written to the console log as {"kind":"match","game_id","player_id",
// "seat"}; run.py checks that each game was reported to exactly two different players,
// one per seat, and that no player was matched into two games of the same burst.

import { sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, DURATION, TREND_STATS, VUS, body, countError, get, post, register, summarize,
} from './lib.js';

const BURST_EVERY_S = parseFloat(__ENV.BURST_EVERY_S || '5');
const POLL_MS = parseInt(__ENV.POLL_MS || '250', 10);
const MATCH_TIMEOUT_MS = parseInt(__ENV.MATCH_TIMEOUT_MS || '20000', 10);

const joinMs = new Trend('mm_join_ms', true);
const statusMs = new Trend('mm_status_ms', true);
const timeToMatch = new Trend('mm_time_to_match_ms', true);
const pollsPerMatch = new Trend('mm_polls_per_match');
const matchedCount = new Counter('mm_matched');
const timeouts = new Counter('mm_timeouts');
const mismatched = new Counter('mm_seat_mismatch');

export const options = {
  scenarios: {
    matchmaking: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '30s' },
  },
  summaryTrendStats: TREND_STATS,
};

let me = null;

function waitForNextBurst() {
  const period = BURST_EVERY_S * 1000;
  const now = Date.now();
  sleep((period - (now % period)) / 1000);
}

export default function () {
  if (me === null) me = register('mm');
  waitForNextBurst();
  const started = Date.now();
  const joined = post('/matchmaking/join', { player_id: me.id }, me.token, 'POST /matchmaking/join');
  joinMs.add(joined.timings.duration);
  if (joined.status !== 200) {
    countError(joined, 'mm_join');
    return;
  }
  let status = body(joined);
  let polls = 0;
  while (status.status !== 'matched') {
    if (Date.now() - started > MATCH_TIMEOUT_MS) {
      timeouts.add(1);
      const left = http_delete(`/matchmaking/leave/${me.id}`);
      if (left.status !== 200) countError(left, 'mm_leave');
      return;
    }
    sleep(POLL_MS / 1000);
    const res = get(`/matchmaking/status/${me.id}`, me.token, 'GET /matchmaking/status/{id}');
    polls += 1;
    statusMs.add(res.timings.duration);
    if (res.status !== 200) {
      countError(res, 'mm_status');
      continue;
    }
    status = body(res);
  }
  timeToMatch.add(Date.now() - started);
  pollsPerMatch.add(polls);
  matchedCount.add(1);
  const gameId = status.game_id;
  console.log(JSON.stringify({ kind: 'match', game_id: gameId, player_id: me.id, seat: status.my_player, burst: Math.floor(started / (BURST_EVERY_S * 1000)) }));
  if (status.my_player !== 1 && status.my_player !== 2) mismatched.add(1);
  if (status.my_player === 1) {
    const res = post(`/games/${gameId}/resign`, undefined, me.token, 'POST /games/{id}/resign');
    if (res.status !== 200) countError(res, 'mm_resign', gameId);
  } else {
    // Wait for the opponent's resignation, so the next join is not refused as already_in_game.
    for (let i = 0; i < 40; i++) {
      const res = get(`/games/${gameId}/status`, null, 'GET /games/{id}/status');
      if (res.status === 200 && body(res).status !== 'active') break;
      sleep(0.25);
    }
  }
}

function http_delete(path) {
  return http.del(`${BASE_URL}${path}`, null, {
    headers: { Authorization: `Bearer ${me.token}` },
    tags: { name: 'DELETE /matchmaking/leave/{id}' },
    responseCallback: http.expectedStatuses({ min: 200, max: 299 }),
  });
}

export function handleSummary(data) {
  return summarize(data, 'matchmaking');
}

// Abuse: a log-in flood, then a burst of WebSocket upgrades, while bystanders keep
// using the server. Timeline over DURATION (default 60 s):
//   0 s … FLOOD_S           FLOOD_VUS clients send wrong passwords for one account, nonstop
//   FLOOD_S + 5 s           BURST clients open a game socket at once, hold it 5 s, close
//   the rest                quiet: memory should settle back
//   all along               bystanders: GET /games/{id} and GET /health/ready, RATE per second
//
// What counts: log-in answers by status (401 wrong password, 503 `server_busy` when every
// hashing slot is taken past the wait, 429 when a limit applies), upgrades refused (must
// be 0), readiness answers other than 200 (must be 0), and the bystanders' latency per
// phase. run.py samples the instance's RSS meanwhile (peak, and settled at the end).
//
// Environment: FLOOD_VUS (200), FLOOD_S (30), BURST (500), RATE (20), DURATION.

import http from 'k6/http';
import ws from 'k6/ws';
import { Counter, Trend } from 'k6/metrics';
import { BASE_URL, DURATION, TREND_STATS, body, countError, logError, post, register, summarize, wsBase } from './lib.js';

const FLOOD_VUS = parseInt(__ENV.FLOOD_VUS || '200', 10);
const FLOOD_S = parseInt(__ENV.FLOOD_S || '30', 10);
const BURST = parseInt(__ENV.BURST || '500', 10);
const RATE = parseInt(__ENV.RATE || '20', 10);
const TOTAL_S = parseInt(DURATION, 10) || 60;
const BURST_AT_S = FLOOD_S + 5;

const loginMs = new Trend('abuse_login_ms', true);
const logins = {
  401: new Counter('abuse_login_401'),
  429: new Counter('abuse_login_429'),
  503: new Counter('abuse_login_503'),
};
const upgradesOk = new Counter('abuse_upgrades_ok');
const upgradesRefused = new Counter('abuse_upgrades_refused');
const upgradeMs = new Trend('abuse_upgrade_ms', true);
const readyNot200 = new Counter('abuse_ready_not_200');
const phases = {
  flood: new Trend('abuse_other_ms_flood', true),
  burst: new Trend('abuse_other_ms_burst', true),
  quiet: new Trend('abuse_other_ms_quiet', true),
};

export const options = {
  summaryTrendStats: TREND_STATS,
  setupTimeout: '60s',
  scenarios: {
    flood: { executor: 'constant-vus', exec: 'flood', vus: FLOOD_VUS, duration: `${FLOOD_S}s` },
    burst: {
      executor: 'per-vu-iterations', exec: 'burst', vus: BURST, iterations: 1,
      startTime: `${BURST_AT_S}s`, maxDuration: '60s',
    },
    bystanders: {
      executor: 'constant-arrival-rate', exec: 'bystander', rate: RATE, timeUnit: '1s',
      duration: `${TOTAL_S}s`, preAllocatedVUs: 20, maxVUs: 100,
    },
  },
};

export function setup() {
  const victim = `victim${Math.floor(Math.random() * 1e6)}`;
  const created = post('/players', { username: victim, password: 'the right password' }, null, 'POST /players');
  if (created.status !== 201) throw new Error(`victim registration failed: ${created.status} ${created.body}`);
  const a = register('ab');
  const b = register('ab');
  const game = post('/games', {}, a.token, 'POST /games');
  const gameId = body(game).game_id;
  post(`/games/${gameId}/join`, undefined, b.token, 'POST /games/{id}/join');
  return { victim, gameId, started: Date.now() };
}

export function flood(data) {
  const res = http.post(
    `${BASE_URL}/sessions`,
    JSON.stringify({ username: data.victim, password: `wrong ${Math.random()}` }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'POST /sessions (flood)' },
      responseCallback: http.expectedStatuses(401, 429, 503) },
  );
  loginMs.add(res.timings.duration);
  if (logins[res.status]) logins[res.status].add(1);
  else countError(res, 'flood');
}

export function burst(data) {
  const begun = Date.now();
  const res = ws.connect(`${wsBase(__VU)}/ws/${data.gameId}`, {}, (socket) => {
    socket.on('open', () => {
      upgradeMs.add(Date.now() - begun);
      socket.setTimeout(() => socket.close(), 5000);
    });
  });
  if (res && res.status === 101) {
    upgradesOk.add(1);
  } else {
    upgradesRefused.add(1, { status: String(res ? res.status : 0) });
    logError('burst', `upgrade_${res ? res.status : 0}`, res ? res.status : 0, data.gameId, '');
  }
}

export function bystander(data) {
  const elapsed = (Date.now() - data.started) / 1000;
  const phase = elapsed < FLOOD_S ? 'flood' : elapsed < BURST_AT_S + 10 && elapsed >= BURST_AT_S ? 'burst' : 'quiet';
  const view = http.get(`${BASE_URL}/games/${data.gameId}`, { tags: { name: 'GET /games/{id}' } });
  phases[phase].add(view.timings.duration);
  if (view.status !== 200) countError(view, `bystander_${phase}`);
  const ready = http.get(`${BASE_URL}/health/ready`, {
    tags: { name: 'GET /health/ready' }, responseCallback: http.expectedStatuses(200, 503),
  });
  phases[phase].add(ready.timings.duration);
  if (ready.status !== 200) {
    readyNot200.add(1, { phase });
    logError(`ready_${phase}`, `http_${ready.status}`, ready.status, null, '');
  }
}

export function handleSummary(data) {
  return summarize(data, 'abuse');
}

// WebSocket games: VUS games in parallel, each between two players with their own
// socket. With WS_URLS set, the two sockets of a game go to different instances
// (player 1 to instance i, player 2 to instance i+1), so every move crosses instances
// through Redis Pub/Sub; without it both go through the load balancer (BASE_URL).
//
// One iteration is one game: create + join over REST, open both sockets, identify,
// then the players answer each other's move broadcasts with random legal moves
// (`{"action":"move","column":n}`) until the game ends; then both sockets close.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e VUS=40 loadtest/ws_games.js
//
// Knobs: VUS (games in parallel, default 20), DURATION (default 60s), THINK_MS (pause
// before answering a move, default 0), GAME_TIMEOUT_MS (default 30000), MOVES_PER_GAME
// (stop after that many moves and close both sockets; default 0 = play to the end),
// NEW_PLAYERS (1: register two new players for every game instead of once per VU).
// The runner's `lifecycle` scenario is this script with MOVES_PER_GAME=7 NEW_PLAYERS=1:
// register two players, create and join a game, play 7 moves over WebSocket.
//
// Measures
//   ws_move_to_opponent_ms  mover sends the move -> the opponent's socket receives the
//                           broadcast with that move number (both clocks are this VU's
//                           clock; resolution 1 ms, k6 has no finer timer)
//   ws_move_ack_ms          mover sends -> the mover's own socket receives the broadcast
//   moves_acked             own move broadcasts received by the mover (the runner checks
//                           each against PostgreSQL and the audit logs)
//   ws_deliveries           move broadcasts received, over both sockets (= 2 x moves when
//                           every move reaches both players)
//   ws_moves_missed         moves of a finished game that one of its sockets never got
//   ws_gaps / ws_duplicates / ws_resyncs  seq anomalies seen by a socket

import { WebSocket } from 'k6/experimental/websockets';
import { Counter, Trend } from 'k6/metrics';
import { sleep } from 'k6';
import {
  DURATION, TREND_STATS, VUS, createAndJoin, errors, logAcks, logError, randomLegalColumn, register, summarize, wsBase,
} from './lib.js';

const THINK_MS = parseInt(__ENV.THINK_MS || '0', 10);
const GAME_TIMEOUT_MS = parseInt(__ENV.GAME_TIMEOUT_MS || '30000', 10);
const MOVES_PER_GAME = parseInt(__ENV.MOVES_PER_GAME || '0', 10);
const NEW_PLAYERS = __ENV.NEW_PLAYERS === '1';

const toOpponent = new Trend('ws_move_to_opponent_ms', true);
const ackMs = new Trend('ws_move_ack_ms', true);
const connectMs = new Trend('ws_connect_ms', true);
const movesAcked = new Counter('moves_acked');
const deliveries = new Counter('ws_deliveries');
const missed = new Counter('ws_moves_missed');
const gaps = new Counter('ws_gaps');
const duplicates = new Counter('ws_duplicates');
const resyncs = new Counter('ws_resyncs');
const gamesCompleted = new Counter('games_completed');
const gamesAborted = new Counter('games_aborted');

export const options = {
  scenarios: {
    ws_games: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '40s' },
  },
  summaryTrendStats: TREND_STATS,
};

let players = null;

export default function () {
  if (players === null || NEW_PLAYERS) players = { 1: register('wa'), 2: register('wb') };
  const view = createAndJoin(players[1], players[2]);
  if (view === null) {
    sleep(0.5);
    return;
  }
  playGame(view);
}

function playGame(view) {
  const gameId = view.game_id;
  const game = {
    sentAt: {}, // move number -> ms when the mover sent it
    // With MOVES_PER_GAME the game is left (still active) after that many moves.
    finalSeq: MOVES_PER_GAME > 0 ? view.seq + MOVES_PER_GAME : null,
    moves: [],
    seqs: [],
    closed: false,
    opened: 0,
  };
  const seats = {};
  for (const seat of [1, 2]) {
    seats[seat] = {
      seat,
      lastSeq: view.seq,
      board: view.board,
      received: 0, // move broadcasts received
      moveSeqs: {}, // seqs of the move broadcasts received
      caughtUp: 0, // moves this socket learnt from a `state` instead of a `move` broadcast
      ready: false, // identified, and the state that follows the identification received
      movedAt: {}, // seqs at which this seat already sent a move
      ws: null,
      retries: 0,
    };
  }

  const finish = (aborted, reason) => {
    if (game.closed) return;
    game.closed = true;
    clearTimeout(timer);
    if (aborted) {
      gamesAborted.add(1);
      errors.add(1, { code: reason, where: 'ws_game' });
      logError('ws_game', reason, 0, gameId, `seat1 seq ${seats[1].lastSeq}, seat2 seq ${seats[2].lastSeq}`);
    } else {
      gamesCompleted.add(1);
    }
    if (!aborted) {
      // Every move of the finished game must have reached both sockets.
      const total = game.finalSeq - 1; // seq = 1 (join) + moves for games ended by a move
      for (const seat of [1, 2]) {
        const got = Object.keys(seats[seat].moveSeqs).length;
        if (got < total) missed.add(total - got);
      }
    }
    logAcks(gameId, game.moves, game.seqs, 'ws');
    for (const seat of [1, 2]) if (seats[seat].ws) seats[seat].ws.close();
  };

  const timer = setTimeout(() => finish(true, 'game_timeout'), GAME_TIMEOUT_MS);

  const sendMove = (s) => {
    if (game.closed) return;
    if (s.movedAt[s.lastSeq]) return; // already answered this state of the game
    s.movedAt[s.lastSeq] = true;
    const column = randomLegalColumn(s.board);
    const moveNumber = s.lastSeq; // seq before the move = 1 + moves so far = the next move number
    game.sentAt[moveNumber] = Date.now();
    s.pendingColumn = column;
    s.ws.send(JSON.stringify({ action: 'move', column }));
  };

  const maybeMove = (s, event) => {
    if (MOVES_PER_GAME > 0 && s.lastSeq >= view.seq + MOVES_PER_GAME) return;
    if (event.status === 'active' && event.next_player === s.seat) {
      if (THINK_MS > 0) setTimeout(() => sendMove(s), THINK_MS);
      else sendMove(s);
    }
  };

  const done = () => game.finalSeq !== null && seats[1].lastSeq >= game.finalSeq && seats[2].lastSeq >= game.finalSeq;

  for (const seat of [1, 2]) {
    const s = seats[seat];
    const opened = Date.now();
    const ws = new WebSocket(`${wsBase(__VU + seat - 1)}/ws/${gameId}`);
    s.ws = ws;
    ws.onopen = () => {
      connectMs.add(Date.now() - opened);
      ws.send(JSON.stringify({ action: 'identify', token: players[seat].token }));
    };
    ws.onmessage = (e) => {
      const now = Date.now();
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      switch (msg.type) {
        case 'state': {
          if (msg.reason === 'resync') resyncs.add(1);
          if (msg.seq > s.lastSeq) {
            // Moves this socket learns from a state rather than from their broadcasts.
            s.caughtUp += msg.seq - s.lastSeq;
            s.lastSeq = msg.seq;
            s.board = msg.board;
            if (msg.status !== 'active' && msg.status !== 'waiting') {
              if (game.finalSeq === null || msg.seq > game.finalSeq) game.finalSeq = msg.seq;
            }
            if (s.ready) maybeMove(s, msg);
            if (done()) finish(false);
          }
          if (msg.reason === 'identified' && !s.ready) {
            s.ready = true;
            // Play starts once both sockets are identified and subscribed.
            if (seats[1].ready && seats[2].ready) {
              for (const seat2 of [1, 2]) {
                const other = seats[seat2];
                if (other.lastSeq === seats[1].lastSeq && other.lastSeq === seats[2].lastSeq) maybeMove(other, msg);
              }
            }
          }
          break;
        }
        case 'move': {
          if (s.moveSeqs[msg.seq]) {
            duplicates.add(1); // the same broadcast twice
            break;
          }
          s.moveSeqs[msg.seq] = true;
          s.received += 1;
          deliveries.add(1);
          if (msg.seq <= s.lastSeq) break; // already known from a state
          if (msg.seq > s.lastSeq + 1) gaps.add(1);
          s.lastSeq = msg.seq;
          s.board = msg.board;
          const sent = game.sentAt[msg.move_count];
          if (msg.player === seat) {
            if (sent !== undefined) ackMs.add(now - sent);
            movesAcked.add(1);
            game.moves.push(msg.move_count);
            game.seqs.push(msg.seq);
          } else {
            if (sent !== undefined) toOpponent.add(now - sent);
            maybeMove(s, msg);
          }
          if (msg.status !== 'active') game.finalSeq = msg.seq;
          if (done()) finish(false);
          break;
        }
        case 'game_over':
          if (game.finalSeq === null || msg.seq > game.finalSeq) game.finalSeq = msg.seq;
          if (msg.seq > s.lastSeq) s.lastSeq = msg.seq;
          if (done()) finish(false);
          break;
        case 'error': {
          errors.add(1, { code: msg.code || 'unknown', where: 'ws' });
          logError('ws', msg.code || 'unknown', 0, gameId, msg.error);
          if ((msg.code === 'game_busy' || msg.code === 'rate_limited') && s.retries < 20) {
            s.retries += 1;
            setTimeout(() => {
              if (!game.closed) s.ws.send(JSON.stringify({ action: 'move', column: s.pendingColumn }));
            }, 10 * s.retries);
          } else {
            finish(true, `ws_${msg.code || 'error'}`);
          }
          break;
        }
        default:
          break; // player_status, pong, ...
      }
    };
    ws.onerror = (e) => {
      if (game.closed) return;
      errors.add(1, { code: 'ws_transport', where: 'ws' });
      logError('ws', 'ws_transport', 0, gameId, e && e.error ? e.error : 'socket error');
      finish(true, 'ws_transport');
    };
    ws.onclose = () => {
      if (!game.closed) finish(true, 'ws_closed_early');
    };
  }
}

export function handleSummary(data) {
  return summarize(data, 'ws_games');
}

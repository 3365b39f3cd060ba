// REST client for the Connect 4 Arena API (docs/API.md).
//
// Every failure becomes an `ApiError` carrying the server's stable `code`, so screens
// switch on codes, never on message text. The server's clock is estimated from the
// `Date` header of each response: move deadlines (`turn_deadline_ms`) are in server
// time, and a client whose clock is off by minutes must still draw a sane countdown.

let token = null;
let serverOffsetMs = 0;

// The Date header has one-second resolution: below this skew the local clock is
// more precise than the estimate, so it is used as is.
const MIN_TRUSTED_SKEW_MS = 2000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function setToken(value) {
  token = value || null;
}

/** Milliseconds since the epoch by the server's clock (best estimate). */
export function serverNow() {
  return Date.now() + serverOffsetMs;
}

function noteServerDate(response) {
  const header = response.headers.get("Date");
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  // The header is truncated to the second: compare with the middle of that second.
  const skew = server + 500 - Date.now();
  serverOffsetMs = Math.abs(skew) > MIN_TRUSTED_SKEW_MS ? skew : 0;
}

const RETRYABLE = new Set(["game_busy"]);

async function request(method, path, { body, auth = true, retries = 2 } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  noteServerDate(response);

  if (response.status === 204) return null;
  let payload = null;
  const text = await response.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (response.ok) return payload;

  const code = (payload && payload.code) || `http_${response.status}`;
  const message = (payload && payload.error) || response.statusText || "Request failed";
  if (RETRYABLE.has(code) && retries > 0) {
    await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 150));
    return request(method, path, { body, auth, retries: retries - 1 });
  }
  throw new ApiError(response.status, code, message);
}

const enc = encodeURIComponent;

export const api = {
  register: (username, password) =>
    request("POST", "/players", { body: password ? { username, password } : { username }, auth: false }),
  login: (username, password) => request("POST", "/sessions", { body: { username, password }, auth: false }),
  me: () => request("GET", "/players/me"),
  playerStats: (id) => request("GET", `/players/${enc(id)}/stats`),
  playerGames: (id, limit = 20) => request("GET", `/players/${enc(id)}/games?limit=${limit}`),
  /** The player's waiting or running game, or null. */
  activeGame: (id) => request("GET", `/players/${enc(id)}/active-game`),
  profile: (username) => request("GET", `/profiles/${enc(username)}`, { auth: false }),
  versus: (username, opponent) => request("GET", `/profiles/${enc(username)}/versus/${enc(opponent)}`, { auth: false }),
  leaderboard: (limit = 10) => request("GET", `/leaderboard?limit=${limit}`, { auth: false }),
  stats: () => request("GET", "/stats", { auth: false }),
  heartbeat: () => request("POST", "/heartbeat"),

  /** `options`: `{move_time_limit_secs, rated, colour}` (the server's defaults for any left out). */
  createGame: (options = {}) => request("POST", "/games", { body: options }),
  abort: (gameId) => request("POST", `/games/${enc(gameId)}/abort`),
  /** `action`: `offer` | `accept` | `decline`. */
  draw: (gameId, action) => request("POST", `/games/${enc(gameId)}/draw`, { body: { action } }),
  emote: (gameId, emote) => request("POST", `/games/${enc(gameId)}/emote`, { body: { emote } }),
  /** `startFrom`: the columns of the position to play on from (the empty board when absent). */
  playComputer: (level, startFrom) =>
    request("POST", "/games", { body: { opponent: { bot: level }, ...(startFrom ? { start_from: startFrom } : {}) } }),
  analysis: (gameId) => request("GET", `/games/${enc(gameId)}/analysis`, { auth: false }),
  joinGame: (gameId) => request("POST", `/games/${enc(gameId)}/join`),
  cancelGame: (gameId) => request("DELETE", `/games/${enc(gameId)}/cancel`),
  resign: (gameId) => request("POST", `/games/${enc(gameId)}/resign`),
  waitingGames: () => request("GET", "/games/waiting", { auth: false }),
  liveGames: () => request("GET", "/games/live", { auth: false }),
  game: (gameId) => request("GET", `/games/${enc(gameId)}`, { auth: false }),
  gameStatus: (gameId) => request("GET", `/games/${enc(gameId)}/status`, { auth: false }),
  moves: (gameId) => request("GET", `/games/${enc(gameId)}/moves`, { auth: false }),

  joinQueue: (playerId) => request("POST", "/matchmaking/join", { body: { player_id: playerId } }),
  queueStatus: (playerId) => request("GET", `/matchmaking/status/${enc(playerId)}`),
  leaveQueue: (playerId) => request("DELETE", `/matchmaking/leave/${enc(playerId)}`),
};

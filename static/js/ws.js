// One WebSocket to one game, kept alive across drops.
//
// Invariants the game screen relies on:
// - `onMessage` sees every `state` and only fresh `move` / `game_over` events: an
//   event whose `seq` was already applied is dropped, and an event that skips a
//   `seq` is not applied at all; the socket asks for a `sync` instead and the
//   `state` that answers replaces the whole picture.
// - After any drop the socket reconnects with exponential backoff (immediately on
//   close code 1012, "service restart"), identifies again, and the server's `state`
//   resynchronises the client. Any instance may answer: nothing is sticky.

const CLOSE_SERVICE_RESTART = 1012;
const PING_EVERY_MS = 25_000;
const MAX_BACKOFF_MS = 8_000;

export class GameSocket {
  /**
   * @param {object} options
   * @param {string} options.gameId
   * @param {string|null} options.token  null for a spectator: it never identifies.
   * @param {(msg: object) => void} options.onMessage
   * @param {(status: "connecting"|"open"|"reconnecting"|"closed") => void} options.onStatus
   */
  constructor({ gameId, token, onMessage, onStatus }) {
    this.gameId = gameId;
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.lastSeq = -1;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.syncRequested = false;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/${encodeURIComponent(this.gameId)}`);
    this.ws = ws;
    this.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");

    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      if (this.token) ws.send(JSON.stringify({ action: "identify", token: this.token }));
      this.syncRequested = false;
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ action: "ping" }), PING_EVERY_MS);
      this.onStatus("open");
    });

    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg && typeof msg === "object") this.receive(msg);
    });

    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      if (this.stopped) return;
      this.scheduleReconnect(event.code === CLOSE_SERVICE_RESTART);
    });
  }

  receive(msg) {
    const sequenced = msg.type === "move" || msg.type === "game_over";
    if (msg.type === "state") {
      if (typeof msg.seq === "number") this.lastSeq = msg.seq;
      this.syncRequested = false;
      this.attempt = 0;
    } else if (sequenced && typeof msg.seq === "number") {
      if (msg.seq <= this.lastSeq && msg.type === "move") return;
      if (msg.seq > this.lastSeq + 1 && this.lastSeq >= 0) {
        this.requestSync();
        return;
      }
      this.lastSeq = Math.max(this.lastSeq, msg.seq);
    }
    this.onMessage(msg);
  }

  requestSync() {
    if (this.syncRequested) return;
    this.syncRequested = true;
    this.send({ action: "sync" });
  }

  scheduleReconnect(immediately) {
    this.onStatus("reconnecting");
    const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    const delay = immediately && this.attempt === 0 ? 0 : backoff * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Sends a JSON message; false when the socket is not open. */
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.close(1000, "leaving");
    } else if (ws && ws.readyState === WebSocket.CONNECTING) {
      // Closing a socket mid-handshake makes the browser report a failed connection.
      ws.addEventListener("open", () => ws.close(1000, "leaving"), { once: true });
    }
    this.onStatus("closed");
  }
}

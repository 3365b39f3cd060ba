//! WebSocket `/ws/{game_id}`: one task per socket, `select!`-ing over the client's
//! frames, the game's room (events from every instance), a presence refresh timer and
//! the drain signal. A socket is a spectator until `identify` binds it to the caller's
//! seat; moves, rematch votes and resignations call the same use-cases as REST.
//!
//! Limits: messages of at most [`MAX_MESSAGE`] bytes (larger: a `message_too_large`
//! error, then close 1009; the protocol layer refuses anything over [`MAX_FRAME`]
//! without reading it, also with 1009), text that is not UTF-8 closes with 1007 (RFC
//! 6455, 7.4.1), [`RATE_PER_SECOND`] messages per second with a small burst (beyond:
//! `rate_limited` errors, and persistent abuse closes with 1008). A lobby socket that
//! has not identified within `WS_IDENTIFY_TIMEOUT_SECONDS` closes with 1008 (a game
//! socket that never identifies is a spectator, which is allowed). Small per-socket
//! buffers keep 10k sockets cheap.

use std::{
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Instant,
};

use futures_util::{SinkExt, StreamExt};
use poem::{
    handler,
    web::{
        websocket::{CloseCode, Message, WebSocket, WebSocketConfig, WebSocketStream},
        Data, Path,
    },
    IntoResponse, Response,
};
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use crate::{
    cold::PlayerRecord,
    fanout::RoomEvent,
    game::Seat,
    service::{
        events::{self, ClientMessage},
        Arena, Role, ServiceError, SocketPresence, PRESENCE_REFRESH,
    },
};

/// How long a socket may stay unidentified before it counts as a spectator.
const SPECTATOR_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);
/// First and longest wait before a failed resync is tried again.
const RESYNC_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const RESYNC_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(5);
/// Largest accepted message, in bytes.
pub const MAX_MESSAGE: usize = 4096;
/// Largest frame the protocol layer reads at all (so an oversized message can still be
/// answered with a clear error before the socket closes).
const MAX_FRAME: usize = 1 << 20;
/// Sustained messages per second per socket.
pub const RATE_PER_SECOND: f64 = 20.0;
const RATE_BURST: f64 = 40.0;
/// Refused messages after which a flooding socket is closed.
const MAX_REFUSED: u32 = 200;

fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
}

/// Upgrades to a socket for an existing game (404 JSON otherwise).
#[handler]
pub async fn game_socket(
    Path(game_id): Path<String>,
    ws: WebSocket,
    arena: Data<&Arc<Arena>>,
) -> Response {
    let arena = Arc::clone(arena.0);
    if let Err(err) = arena.game_view(&game_id).await {
        return ApiError::from(err).into_response();
    }
    if arena.is_draining() {
        return ApiError::from(ServiceError::Unavailable).into_response();
    }
    ws.config(socket_config())
        .on_upgrade(move |socket| async move { GameSocket::new(arena, game_id).run(socket).await })
        .into_response()
}

/// The close frame owed to a client whose frame the protocol layer refused: 1009 for
/// a frame or message over the size limit, 1007 for text that is not UTF-8. poem hands
/// tungstenite's error over as text, so its messages are matched ("Space limit
/// exceeded: …", "UTF-8 encoding error: …"; the close-code tests pin them). Anything
/// else is a broken connection: no frame can be sent.
fn refusal(err: &std::io::Error) -> Option<(CloseCode, String)> {
    let text = err.to_string();
    if text.starts_with("Space limit exceeded") {
        Some((CloseCode::Size, "message too large".into()))
    } else if text.starts_with("UTF-8 encoding error") {
        Some((CloseCode::Invalid, "text frames must be UTF-8".into()))
    } else {
        None
    }
}

struct RateLimit {
    tokens: f64,
    last: Instant,
    refused: u32,
}

impl RateLimit {
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * RATE_PER_SECOND)
            .min(RATE_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.refused += 1;
            false
        }
    }
}

struct GameSocket {
    arena: Arc<Arena>,
    game_id: String,
    id: u64,
    player: Option<PlayerRecord>,
    seat: Option<Seat>,
    presence: Option<SocketPresence>,
}

type Sink = futures_util::stream::SplitSink<WebSocketStream, Message>;

impl GameSocket {
    fn new(arena: Arc<Arena>, game_id: String) -> GameSocket {
        let id = arena.next_socket_id();
        GameSocket {
            arena,
            game_id,
            id,
            player: None,
            seat: None,
            presence: None,
        }
    }

    async fn run(mut self, socket: WebSocketStream) {
        self.arena.metrics.open_sockets.fetch_add(1, Relaxed);
        let (mut sink, mut stream) = socket.split();
        let close = self.serve(&mut sink, &mut stream).await;
        if let Some(close) = close {
            let _ = sink.send(Message::Close(Some(close))).await;
        }
        let _ = sink.close().await;
        self.leave().await;
        self.arena.metrics.open_sockets.fetch_sub(1, Relaxed);
    }

    /// Serves until the client leaves or the socket must close (returns the close frame).
    async fn serve(
        &mut self,
        sink: &mut Sink,
        stream: &mut futures_util::stream::SplitStream<WebSocketStream>,
    ) -> Option<(CloseCode, String)> {
        let channel = self.arena.keys.game_channel(&self.game_id);
        let mut room = match self.arena.fanout.subscribe(&channel).await {
            Ok(room) => room,
            Err(err) => {
                tracing::warn!(error = %err, game_id = %self.game_id, "socket could not join its room");
                return Some((CloseCode::Again, "try again".into()));
            }
        };
        self.send_state(sink, None).await.ok()?;
        // A socket that has not identified by then is counted as a spectator; players
        // identify at once and are never counted as viewers in between.
        let spectate = tokio::time::sleep(SPECTATOR_AFTER);
        tokio::pin!(spectate);
        let mut refresh = tokio::time::interval(PRESENCE_REFRESH);
        refresh.tick().await;
        let mut drain = self.arena.drain_watch();
        let mut rate = RateLimit {
            tokens: RATE_BURST,
            last: Instant::now(),
            refused: 0,
        };
        // A resync that could not load the state (the hot store reconnecting after the
        // fan-out did) is tried again, with back-off, until one goes out.
        let mut resync_wait = RESYNC_RETRY_FIRST;
        let resync = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(resync);
        let mut resync_pending = false;
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "socket read failed");
                        return refusal(&err);
                    }
                    Some(Ok(Message::Text(text))) if text.len() > MAX_MESSAGE => {
                        let _ = self.send(sink, events::error_event(&format!("Message too large (max {MAX_MESSAGE} bytes)"), "message_too_large")).await;
                        return Some((CloseCode::Size, "message too large".into()));
                    }
                    Some(Ok(Message::Text(text))) => {
                        if !rate.allow() {
                            if rate.refused > MAX_REFUSED {
                                return Some((CloseCode::Policy, "rate limit".into()));
                            }
                            self.send(sink, events::error_event("Too many messages; slow down", "rate_limited")).await.ok()?;
                            continue;
                        }
                        self.handle(sink, &text).await.ok()?;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        self.send(sink, events::error_event("Binary frames are not supported; send JSON text", "invalid_message")).await.ok()?;
                    }
                    Some(Ok(_)) => {}
                },
                event = room.events.recv() => match event {
                    Ok(RoomEvent::Event(text)) => {
                        self.send(sink, text.to_string()).await.ok()?;
                        self.arena.metrics.broadcasts_delivered.fetch_add(1, Relaxed);
                    }
                    Ok(RoomEvent::Resync) | Err(RecvError::Lagged(_)) => {
                        resync_wait = RESYNC_RETRY_FIRST;
                        resync_pending = !self.send_state(sink, Some("resync")).await.ok()?;
                        resync.as_mut().reset(tokio::time::Instant::now() + resync_wait);
                    }
                    Err(RecvError::Closed) => return Some((CloseCode::Again, "reconnect".into())),
                },
                _ = &mut resync, if resync_pending => {
                    resync_pending = !self.send_state(sink, Some("resync")).await.ok()?;
                    resync_wait = (resync_wait * 2).min(RESYNC_RETRY_MAX);
                    resync.as_mut().reset(tokio::time::Instant::now() + resync_wait);
                }
                _ = &mut spectate, if self.presence.is_none() => {
                    self.take_role(Role::Spectator).await;
                },
                _ = refresh.tick() => {
                    if let Some(presence) = &self.presence {
                        if let Err(err) = self.arena.socket_refresh(presence).await {
                            tracing::warn!(error = %err, "presence refresh failed");
                        }
                    }
                },
                _ = drain.changed() => {
                    return Some((CloseCode::Restart, "server restarting; reconnect".into()));
                }
            }
        }
    }

    async fn send(&self, sink: &mut Sink, text: String) -> std::io::Result<()> {
        sink.send(Message::Text(text)).await
    }

    /// Sends the full state (true), or the error that prevented it (false).
    async fn send_state(&self, sink: &mut Sink, reason: Option<&str>) -> std::io::Result<bool> {
        let (text, sent) = match self.arena.game_view(&self.game_id).await {
            Ok(view) => {
                let presence = self.arena.presence(&self.game_id).await.ok();
                (events::state_event(&view, presence.as_ref(), reason), true)
            }
            Err(err) => (events::error_event(&err.to_string(), err.code()), false),
        };
        self.send(sink, text).await.map(|()| sent)
    }

    /// Handles one client message. Refusals are answered on this socket only.
    async fn handle(&mut self, sink: &mut Sink, text: &str) -> std::io::Result<()> {
        let message = match ClientMessage::decode(text) {
            Ok(message) => message,
            Err(err) => {
                return self
                    .send(sink, events::error_event(&err.to_string(), err.code()))
                    .await
            }
        };
        let outcome = match message {
            ClientMessage::Identify { token } => return self.identify(sink, &token).await,
            ClientMessage::Sync => return self.send_state(sink, Some("sync")).await.map(drop),
            ClientMessage::Ping => return self.send(sink, events::pong_event()).await,
            ClientMessage::Move {
                player: claimed,
                column,
            } => match &self.player {
                Some(player) => self
                    .arena
                    .play_move(player, &self.game_id, claimed, column)
                    .await
                    .map(drop),
                None => Err(ServiceError::Unauthorized),
            },
            ClientMessage::Rematch => match &self.player {
                Some(player) => self.arena.vote_rematch(player, &self.game_id).await,
                None => Err(ServiceError::Unauthorized),
            },
            ClientMessage::Resign => match &self.player {
                Some(player) => self.arena.resign(player, &self.game_id).await.map(drop),
                None => Err(ServiceError::Unauthorized),
            },
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(ServiceError::Unauthorized) if self.player.is_none() => {
                self.send(
                    sink,
                    events::error_event(
                        "Identify first: {\"action\":\"identify\",\"token\":…}",
                        "unauthorized",
                    ),
                )
                .await
            }
            Err(err) => {
                self.send(sink, events::error_event(&err.to_string(), err.code()))
                    .await
            }
        }
    }

    async fn identify(&mut self, sink: &mut Sink, token: &str) -> std::io::Result<()> {
        let player = match self.arena.authenticate(token).await {
            Ok(player) => player,
            Err(err) => {
                return self
                    .send(sink, events::error_event(&err.to_string(), err.code()))
                    .await
            }
        };
        let seat = match self.arena.game_view(&self.game_id).await {
            Ok(view) if view.player1.id == player.id => Some(Seat::One),
            Ok(view) if view.player2.as_ref().is_some_and(|p| p.id == player.id) => Some(Seat::Two),
            _ => None,
        };
        let _ = self.arena.heartbeat(player.id).await;
        self.send(
            sink,
            events::identified_event(seat.map(Seat::number), player.id),
        )
        .await?;
        self.seat = seat;
        self.player = Some(player);
        if let Some(seat) = seat {
            if let Err(err) = self.arena.seat_connected(&self.game_id, seat).await {
                tracing::warn!(error = %err, "clearing the abandonment timer failed");
            }
        }
        self.take_role(seat.map(Role::Player).unwrap_or(Role::Spectator))
            .await;
        self.send_state(sink, Some("identified")).await.map(drop)
    }

    /// Records this socket's role in the game's presence and tells everyone (a seat
    /// connecting, or the viewer count changing).
    async fn take_role(&mut self, role: Role) {
        if self.presence.as_ref().map(|p| p.role) == Some(role) {
            return;
        }
        let previous = self.presence.take();
        if let Some(old) = &previous {
            let _ = self.arena.socket_left(old).await;
        }
        self.presence = self
            .arena
            .socket_joined(&self.game_id, role, self.id)
            .await
            .ok();
        let seat = match role {
            Role::Player(seat) => seat,
            Role::Spectator => return self.arena.announce_viewers(&self.game_id, true),
        };
        let player_id = self.player.as_ref().map(|p| p.id);
        if let Err(err) = self
            .arena
            .announce_presence(&self.game_id, Some(seat), player_id, true)
            .await
        {
            tracing::warn!(error = %err, "presence announcement failed");
        }
    }

    async fn leave(&mut self) {
        let Some(presence) = self.presence.take() else {
            return;
        };
        if let Err(err) = self.arena.socket_left(&presence).await {
            tracing::warn!(error = %err, "presence removal failed");
        }
        if presence.role == Role::Spectator {
            return self.arena.announce_viewers(&self.game_id, false);
        }
        if let Some(seat) = self.seat {
            let player_id = self.player.as_ref().map(|p| p.id);
            // A draining instance's sockets move to another instance: no grace timer.
            if !self.arena.is_draining() {
                if let Err(err) = self.arena.seat_disconnected(&self.game_id, seat).await {
                    tracing::warn!(error = %err, "starting the abandonment timer failed");
                }
            }
            if let Err(err) = self
                .arena
                .announce_presence(&self.game_id, Some(seat), player_id, false)
                .await
            {
                tracing::warn!(error = %err, "presence announcement failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_refused_after_the_burst() {
        let mut rate = RateLimit {
            tokens: RATE_BURST,
            last: Instant::now(),
            refused: 0,
        };
        let allowed = (0..100).filter(|_| rate.allow()).count();
        assert!(
            (RATE_BURST as usize..RATE_BURST as usize + 5).contains(&allowed),
            "{allowed}"
        );
        assert!(rate.refused > 50);
    }
}

/// The next event for a lobby socket. Events may have been lost (Redis reconnected,
/// perhaps empty, or the socket fell behind): the client is told with
/// `{"type":"resync"}` and re-checks its matchmaking status (rejoining the queue if
/// the server no longer has its search). `None` once the room is gone.
async fn lobby_event(subscription: &mut crate::fanout::Subscription) -> Option<Arc<str>> {
    match subscription.events.recv().await {
        Ok(RoomEvent::Event(text)) => Some(text),
        Ok(RoomEvent::Resync) | Err(RecvError::Lagged(_)) => {
            Some(Arc::from(events::resync_event()))
        }
        Err(RecvError::Closed) => None,
    }
}

/// Upgrades to a lobby socket: after `identify`, it receives the caller's own events
/// (`{"type":"matched","game_id","my_player"}` when matchmaking pairs it,
/// `{"type":"resync"}` when events may have been lost).
#[handler]
pub async fn lobby_socket(ws: WebSocket, arena: Data<&Arc<Arena>>) -> Response {
    let arena = Arc::clone(arena.0);
    if arena.is_draining() {
        return ApiError::from(ServiceError::Unavailable).into_response();
    }
    ws.config(socket_config())
        .on_upgrade(move |socket| lobby(arena, socket))
        .into_response()
}

async fn lobby(arena: Arc<Arena>, socket: WebSocketStream) {
    arena.metrics.open_sockets.fetch_add(1, Relaxed);
    let (mut sink, mut stream) = socket.split();
    let close = serve_lobby(&arena, &mut sink, &mut stream).await;
    if let Some(close) = close {
        let _ = sink.send(Message::Close(Some(close))).await;
    }
    let _ = sink.close().await;
    arena.metrics.open_sockets.fetch_sub(1, Relaxed);
}

async fn serve_lobby(
    arena: &Arena,
    sink: &mut Sink,
    stream: &mut futures_util::stream::SplitStream<WebSocketStream>,
) -> Option<(CloseCode, String)> {
    let mut drain = arena.drain_watch();
    let mut rate = RateLimit {
        tokens: RATE_BURST,
        last: Instant::now(),
        refused: 0,
    };
    let mut room = None;
    let identify_by = tokio::time::sleep(arena.config.limits.ws_identify_timeout);
    tokio::pin!(identify_by);
    loop {
        let identified = room.is_some();
        let next_event = async {
            match &mut room {
                Some(subscription) => Some(lobby_event(subscription).await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = stream.next() => match frame {
                None | Some(Ok(Message::Close(_))) => return None,
                Some(Err(err)) => return refusal(&err),
                Some(Ok(Message::Text(text))) => {
                    if !rate.allow() {
                        if rate.refused > MAX_REFUSED {
                            return Some((CloseCode::Policy, "rate limit".into()));
                        }
                        continue;
                    }
                    let reply = match ClientMessage::decode(&text) {
                        Ok(ClientMessage::Identify { token }) => match arena.authenticate(&token).await {
                            Ok(player) => match arena.fanout.subscribe(&arena.keys.player_channel(player.id)).await {
                                Ok(subscription) => {
                                    room = Some(subscription);
                                    events::identified_event(None, player.id)
                                }
                                Err(_) => events::error_event("Try again", "unavailable"),
                            },
                            Err(err) => events::error_event(&err.to_string(), err.code()),
                        },
                        Ok(ClientMessage::Ping) => events::pong_event(),
                        Ok(_) => events::error_event("The lobby socket only takes identify and ping", "unknown_action"),
                        Err(err) => events::error_event(&err.to_string(), err.code()),
                    };
                    sink.send(Message::Text(reply)).await.ok()?;
                }
                Some(Ok(_)) => {}
            },
            event = next_event => match event {
                Some(Some(text)) => {
                    sink.send(Message::Text(text.to_string())).await.ok()?;
                    arena.metrics.broadcasts_delivered.fetch_add(1, Relaxed);
                }
                Some(None) => return Some((CloseCode::Again, "reconnect".into())),
                None => {}
            },
            _ = &mut identify_by, if !identified => {
                return Some((CloseCode::Policy, "identify first".into()));
            }
            _ = drain.changed() => return Some((CloseCode::Restart, "server restarting; reconnect".into())),
        }
    }
}

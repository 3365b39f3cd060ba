//! WebSocket `/ws/{game_id}`: one task per socket, `select!`-ing over the client's
//! frames, the game's room (events from every instance), a presence refresh timer and
//! the drain signal. A socket is a spectator until `identify` binds it to the caller's
//! seat; moves, rematch votes and resignations call the same use-cases as REST.
//!
//! Limits: messages of at most [`MAX_MESSAGE`] bytes (larger: a `message_too_large`
//! error, then close 1009; the protocol layer drops anything over [`MAX_FRAME`]), [`RATE_PER_SECOND`] messages per second with a small burst (beyond:
//! `rate_limited` errors, and persistent abuse closes with 1008). Small per-socket
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
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use crate::{
    cold::PlayerRecord,
    fanout::RoomEvent,
    game::Seat,
    service::{events, Arena, Role, ServiceError, SocketPresence, PRESENCE_REFRESH},
};

/// How long a socket may stay unidentified before it counts as a spectator.
const SPECTATOR_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);
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

#[derive(Deserialize)]
struct ClientMessage {
    action: Option<String>,
    token: Option<String>,
    player: Option<serde_json::Value>,
    column: Option<serde_json::Value>,
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

/// What a frame from the client asks for.
enum Request {
    Identify(String),
    Move { player: Option<i64>, column: i64 },
    Rematch,
    Resign,
    Sync,
    Ping,
}

fn parse_request(text: &str) -> Result<Request, (&'static str, String)> {
    let message: ClientMessage = serde_json::from_str(text).map_err(|err| {
        (
            "invalid_message",
            format!("Messages are JSON objects: {err}"),
        )
    })?;
    let integer = |value: &Option<serde_json::Value>,
                   field: &str|
     -> Result<Option<i64>, (&'static str, String)> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or(("invalid_message", format!("{field} must be an integer"))),
        }
    };
    match message.action.as_deref() {
        Some("identify") => message
            .token
            .map(Request::Identify)
            .ok_or(("invalid_message", "identify needs a token".to_string())),
        Some("move") | None => {
            let column = integer(&message.column, "column")?
                .ok_or(("invalid_message", "a move needs a column (0-6)".to_string()))?;
            Ok(Request::Move {
                player: integer(&message.player, "player")?,
                column,
            })
        }
        Some("rematch") => Ok(Request::Rematch),
        Some("resign") => Ok(Request::Resign),
        Some("sync") => Ok(Request::Sync),
        Some("ping") => Ok(Request::Ping),
        Some(other) => Err(("unknown_action", format!("Unknown action {other:?}"))),
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
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "socket read failed");
                        return None;
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
                        self.send_state(sink, Some("resync")).await.ok()?;
                    }
                    Err(RecvError::Closed) => return Some((CloseCode::Again, "reconnect".into())),
                },
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

    async fn send_state(&self, sink: &mut Sink, reason: Option<&str>) -> std::io::Result<()> {
        let text = match self.arena.game_view(&self.game_id).await {
            Ok(view) => {
                let presence = self.arena.presence(&self.game_id).await.ok();
                events::state_event(&view, presence.as_ref(), reason)
            }
            Err(err) => events::error_event(&err.to_string(), err.code()),
        };
        self.send(sink, text).await
    }

    /// Handles one client message. Refusals are answered on this socket only.
    async fn handle(&mut self, sink: &mut Sink, text: &str) -> std::io::Result<()> {
        let request = match parse_request(text) {
            Ok(request) => request,
            Err((code, message)) => {
                return self.send(sink, events::error_event(&message, code)).await
            }
        };
        let outcome = match request {
            Request::Identify(token) => return self.identify(sink, &token).await,
            Request::Sync => return self.send_state(sink, Some("sync")).await,
            Request::Ping => return self.send(sink, events::pong_event()).await,
            Request::Move {
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
            Request::Rematch => match &self.player {
                Some(player) => self.arena.vote_rematch(player, &self.game_id).await,
                None => Err(ServiceError::Unauthorized),
            },
            Request::Resign => match &self.player {
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
        self.send_state(sink, Some("identified")).await
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
        let (seat, player_id) = match role {
            Role::Player(seat) => (Some(seat), self.player.as_ref().map(|p| p.id)),
            Role::Spectator => (None, None),
        };
        if let Err(err) = self
            .arena
            .announce_presence(&self.game_id, seat, player_id, true)
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
            if let Err(err) = self
                .arena
                .announce_presence(&self.game_id, None, None, false)
                .await
            {
                tracing::warn!(error = %err, "presence announcement failed");
            }
            return;
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
    fn both_move_shapes_parse() {
        assert!(matches!(
            parse_request(r#"{"player":1,"column":3}"#),
            Ok(Request::Move {
                player: Some(1),
                column: 3
            })
        ));
        assert!(matches!(
            parse_request(r#"{"action":"move","column":6}"#),
            Ok(Request::Move {
                player: None,
                column: 6
            })
        ));
    }

    #[test]
    fn bad_messages_get_codes() {
        assert!(matches!(
            parse_request("not json"),
            Err(("invalid_message", _))
        ));
        assert!(matches!(
            parse_request(r#"{"column":"three"}"#),
            Err(("invalid_message", _))
        ));
        assert!(matches!(
            parse_request(r#"{"action":"dance"}"#),
            Err(("unknown_action", _))
        ));
        assert!(matches!(
            parse_request(r#"{"action":"identify"}"#),
            Err(("invalid_message", _))
        ));
        assert!(matches!(
            parse_request(r#"[]"#),
            Err(("invalid_message", _))
        ));
    }

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
    loop {
        let next_event = async {
            match &mut room {
                Some(subscription) => Some(lobby_event(subscription).await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = stream.next() => match frame {
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return None,
                Some(Ok(Message::Text(text))) => {
                    if !rate.allow() {
                        if rate.refused > MAX_REFUSED {
                            return Some((CloseCode::Policy, "rate limit".into()));
                        }
                        continue;
                    }
                    let reply = match parse_request(&text) {
                        Ok(Request::Identify(token)) => match arena.authenticate(&token).await {
                            Ok(player) => match arena.fanout.subscribe(&arena.keys.player_channel(player.id)).await {
                                Ok(subscription) => {
                                    room = Some(subscription);
                                    events::identified_event(None, player.id)
                                }
                                Err(_) => events::error_event("Try again", "unavailable"),
                            },
                            Err(err) => events::error_event(&err.to_string(), err.code()),
                        },
                        Ok(Request::Ping) => events::pong_event(),
                        Ok(_) => events::error_event("The lobby socket only takes identify and ping", "unknown_action"),
                        Err((code, message)) => events::error_event(&message, code),
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
            _ = drain.changed() => return Some((CloseCode::Restart, "server restarting; reconnect".into())),
        }
    }
}

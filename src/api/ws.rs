//! WebSocket `/ws/{game_id}`: one task per socket, `select!`-ing over the client's
//! frames, the game's room (events from every instance), a presence refresh timer and
//! the drain signal. A socket is a spectator until `identify` binds it to the caller's
//! seat; moves, rematch votes, resignations, aborts, draw offers and emotes call the
//! same use-cases as REST.
//!
//! Limits: messages of at most [`MAX_MESSAGE`] bytes (larger: a `message_too_large`
//! error, then close 1009; the protocol layer refuses anything over [`MAX_FRAME`]
//! without reading it, also with 1009), text that is not UTF-8 closes with 1007 (RFC
//! 6455, 7.4.1), [`RATE_PER_SECOND`] messages per second with a small burst (beyond:
//! `rate_limited` errors, and persistent abuse closes with 1008). A lobby socket that
//! has not identified within `WS_IDENTIFY_TIMEOUT_SECONDS` closes with 1008 (a game
//! socket that never identifies is a spectator, which is allowed).
//!
//! Memory: a socket is a task, its buffers and its room membership, held by many
//! thousands at once. Its read buffer is sized to the protocol ([`READ_BUFFER`]) and
//! its task's idle state is kept small: the handling of a message, a resync or a
//! presence update (futures that reach the stores, many times the idle state) is
//! boxed while it runs instead of being reserved in every socket's task.

use std::{
    ops::ControlFlow,
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
    cold::Player,
    fanout::{Broadcast, RoomEvent, Subscription},
    game::Seat,
    service::{
        protocol::{self, ClientMessage},
        AppState, DrawAction, GameId, Role, ServiceError, ServiceResult, SocketPresence,
        PRESENCE_REFRESH,
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
/// Bytes a socket reads at a time. Client messages are tens of bytes; a larger one is
/// read in several steps (the buffer grows to the message, then is reused).
const READ_BUFFER: usize = 512;
/// Sustained messages per second per socket.
pub const RATE_PER_SECOND: f64 = 20.0;
const RATE_BURST: f64 = 40.0;
/// Refused messages after which a flooding socket is closed.
const MAX_REFUSED: u32 = 200;

fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
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
    state: Data<&Arc<AppState>>,
) -> Response {
    let state = Arc::clone(state.0);
    let game_id = match GameId::parse(&game_id) {
        Ok(game_id) => game_id,
        Err(err) => return ApiError::from(err).into_response(),
    };
    if let Err(err) = state.views.game_view(&game_id).await {
        return ApiError::from(err).into_response();
    }
    if state.drain.is_draining() {
        return ApiError::from(ServiceError::Unavailable).into_response();
    }
    ws.config(socket_config())
        .on_upgrade(move |socket| async move { GameSocket::new(state, game_id).run(socket).await })
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
    fn new() -> RateLimit {
        RateLimit {
            tokens: RATE_BURST,
            last: Instant::now(),
            refused: 0,
        }
    }

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
    state: Arc<AppState>,
    game_id: GameId,
    id: u64,
    player: Option<Player>,
    presence: Option<SocketPresence>,
}

type Sink = futures_util::stream::SplitSink<WebSocketStream, Message>;
type Stream = futures_util::stream::SplitStream<WebSocketStream>;
/// Why a socket's loop ends: the close frame to send, if any.
type Close = Option<(CloseCode, String)>;

/// A full `state` owed to the client after events may have been lost, retried with
/// back-off until one goes out (the hot store may reconnect after the fan-out did).
struct Resync {
    pending: bool,
    wait: std::time::Duration,
}

impl GameSocket {
    fn new(state: Arc<AppState>, game_id: GameId) -> GameSocket {
        let id = state.connections.next_socket_id();
        GameSocket {
            state,
            game_id,
            id,
            player: None,
            presence: None,
        }
    }

    async fn run(mut self, socket: WebSocketStream) {
        self.state.metrics.open_sockets.fetch_add(1, Relaxed);
        let (mut sink, mut stream) = socket.split();
        let close = self.serve(&mut sink, &mut stream).await;
        if let Some(close) = close {
            let _ = sink.send(Message::Close(Some(close))).await;
        }
        let _ = sink.close().await;
        if let Some(presence) = self.presence.take() {
            self.state.connections.leave(presence).await;
        }
        self.state.metrics.open_sockets.fetch_sub(1, Relaxed);
    }

    /// Serves until the client leaves or the socket must close (returns the close frame).
    async fn serve(&mut self, sink: &mut Sink, stream: &mut Stream) -> Close {
        let mut room = match Box::pin(self.state.broadcasts.subscribe_game(&self.game_id)).await {
            Ok(room) => room,
            Err(err) => {
                tracing::warn!(error = %err, game_id = %self.game_id, "socket could not join its room");
                return Some((CloseCode::Again, "try again".into()));
            }
        };
        Box::pin(self.send_state(sink, None)).await.ok()?;
        // A socket that has not identified by then is counted as a spectator; players
        // identify at once and are never counted as viewers in between.
        let spectate = tokio::time::sleep(SPECTATOR_AFTER);
        tokio::pin!(spectate);
        let mut refresh = tokio::time::interval(PRESENCE_REFRESH);
        refresh.tick().await;
        let mut drain = self.state.drain.watch();
        let mut rate = RateLimit::new();
        let mut resync = Resync {
            pending: false,
            wait: RESYNC_RETRY_FIRST,
        };
        let retry = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(retry);
        loop {
            let step = tokio::select! {
                frame = stream.next() => self.on_frame(sink, frame, &mut rate).await,
                event = room.events.recv() => self.on_event(sink, event, &mut resync, retry.as_mut()).await,
                _ = &mut retry, if resync.pending => {
                    self.retry_resync(sink, &mut resync, retry.as_mut()).await
                }
                _ = &mut spectate, if self.presence.is_none() => {
                    Box::pin(self.take_role(Role::Spectator)).await;
                    ControlFlow::Continue(())
                },
                _ = refresh.tick() => {
                    Box::pin(self.refresh_presence()).await;
                    ControlFlow::Continue(())
                },
                _ = drain.changed() => {
                    ControlFlow::Break(Some((CloseCode::Restart, "server restarting; reconnect".into())))
                }
            };
            if let ControlFlow::Break(close) = step {
                return close;
            }
        }
    }

    /// A frame from the client (or the end of the stream).
    async fn on_frame(
        &mut self,
        sink: &mut Sink,
        frame: Option<Result<Message, std::io::Error>>,
        rate: &mut RateLimit,
    ) -> ControlFlow<Close> {
        let sent = match frame {
            None | Some(Ok(Message::Close(_))) => return ControlFlow::Break(None),
            Some(Err(err)) => {
                tracing::debug!(error = %err, "socket read failed");
                return ControlFlow::Break(refusal(&err));
            }
            Some(Ok(Message::Text(text))) if text.len() > MAX_MESSAGE => {
                let message = format!("Message too large (max {MAX_MESSAGE} bytes)");
                let _ = self
                    .send(sink, protocol::error_event(&message, "message_too_large"))
                    .await;
                return ControlFlow::Break(Some((CloseCode::Size, "message too large".into())));
            }
            Some(Ok(Message::Text(text))) => {
                if !rate.allow() {
                    if rate.refused > MAX_REFUSED {
                        return ControlFlow::Break(Some((CloseCode::Policy, "rate limit".into())));
                    }
                    let refused =
                        protocol::error_event("Too many messages; slow down", "rate_limited");
                    self.send(sink, refused).await
                } else {
                    // Boxed: a message's handling (a move reaches both stores) is far
                    // larger than the idle socket's state, which every socket carries.
                    Box::pin(self.handle(sink, &text)).await
                }
            }
            Some(Ok(Message::Binary(_))) => {
                let message = "Binary frames are not supported; send JSON text";
                self.send(sink, protocol::error_event(message, "invalid_message"))
                    .await
            }
            Some(Ok(_)) => Ok(()),
        };
        match sent {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(None),
        }
    }

    /// An event of the game's room, forwarded; a full state when events were lost.
    async fn on_event(
        &mut self,
        sink: &mut Sink,
        event: Result<RoomEvent, RecvError>,
        resync: &mut Resync,
        retry: std::pin::Pin<&mut tokio::time::Sleep>,
    ) -> ControlFlow<Close> {
        match event {
            Ok(RoomEvent::Event(event)) => {
                if self.send(sink, event.text.to_string()).await.is_err() {
                    return ControlFlow::Break(None);
                }
                self.state.metrics.observe_delivery(event.arrived);
                ControlFlow::Continue(())
            }
            Ok(RoomEvent::Resync) | Err(RecvError::Lagged(_)) => {
                resync.wait = RESYNC_RETRY_FIRST;
                let Ok(sent) = Box::pin(self.send_state(sink, Some("resync"))).await else {
                    return ControlFlow::Break(None);
                };
                resync.pending = !sent;
                retry.reset(tokio::time::Instant::now() + resync.wait);
                ControlFlow::Continue(())
            }
            Err(RecvError::Closed) => {
                ControlFlow::Break(Some((CloseCode::Again, "reconnect".into())))
            }
        }
    }

    /// Tries a resync that could not be sent again, backing off.
    async fn retry_resync(
        &mut self,
        sink: &mut Sink,
        resync: &mut Resync,
        retry: std::pin::Pin<&mut tokio::time::Sleep>,
    ) -> ControlFlow<Close> {
        let Ok(sent) = Box::pin(self.send_state(sink, Some("resync"))).await else {
            return ControlFlow::Break(None);
        };
        resync.pending = !sent;
        resync.wait = (resync.wait * 2).min(RESYNC_RETRY_MAX);
        retry.reset(tokio::time::Instant::now() + resync.wait);
        ControlFlow::Continue(())
    }

    async fn refresh_presence(&self) {
        if let Some(presence) = &self.presence {
            if let Err(err) = self.state.connections.refresh(presence).await {
                err.report();
                tracing::warn!(error = %err, "presence refresh failed");
            }
        }
    }

    async fn send(&self, sink: &mut Sink, text: String) -> std::io::Result<()> {
        sink.send(Message::Text(text)).await
    }

    /// Sends a refusal or failure to this socket (a store failure is logged here, at
    /// the edge).
    async fn send_error(&self, sink: &mut Sink, err: &ServiceError) -> std::io::Result<()> {
        err.report();
        self.send(sink, protocol::error_event(&err.to_string(), err.code()))
            .await
    }

    /// Sends the full state (true), or the error that prevented it (false).
    async fn send_state(&self, sink: &mut Sink, reason: Option<&str>) -> std::io::Result<bool> {
        match self.state.views.game_view(&self.game_id).await {
            Ok(view) => {
                let presence = self.state.connections.presence(&self.game_id).await.ok();
                let text = protocol::state_event(&view, presence.as_ref(), reason);
                self.send(sink, text).await.map(|()| true)
            }
            Err(err) => self.send_error(sink, &err).await.map(|()| false),
        }
    }

    /// Handles one client message. Refusals are answered on this socket only.
    async fn handle(&mut self, sink: &mut Sink, text: &str) -> std::io::Result<()> {
        let message = match ClientMessage::decode(text) {
            Ok(message) => message,
            Err(err) => {
                return self
                    .send(sink, protocol::error_event(&err.to_string(), err.code()))
                    .await
            }
        };
        let outcome = match message {
            ClientMessage::Identify { token } => return self.identify(sink, &token).await,
            ClientMessage::Sync => return self.send_state(sink, Some("sync")).await.map(drop),
            ClientMessage::Ping => return self.send(sink, protocol::pong_event()).await,
            message => self.act(message).await,
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(ServiceError::Unauthorized) if self.player.is_none() => {
                let message = "Identify first: {\"action\":\"identify\",\"token\":…}";
                self.send(sink, protocol::error_event(message, "unauthorized"))
                    .await
            }
            Err(err) => self.send_error(sink, &err).await,
        }
    }

    async fn draw(&self, player: &Player, action: DrawAction) -> ServiceResult<()> {
        let games = &self.state.games;
        games.draw(player, &self.game_id, action).await.map(drop)
    }

    /// A move, rematch vote, resignation, abort, draw offer or answer, or emote, for the
    /// identified player.
    async fn act(&self, message: ClientMessage) -> ServiceResult<()> {
        let player = self.player.as_ref().ok_or(ServiceError::Unauthorized)?;
        let games = &self.state.games;
        match message {
            ClientMessage::Move {
                player: claimed,
                column,
            } => {
                let column = games.column(column)?;
                games
                    .play_move(player, &self.game_id, claimed, column)
                    .await
                    .map(drop)
            }
            ClientMessage::Rematch => games.vote_rematch(player, &self.game_id).await,
            ClientMessage::Resign => games.resign(player, &self.game_id).await.map(drop),
            ClientMessage::Abort => games.abort(player, &self.game_id).await.map(drop),
            ClientMessage::DrawOffer => self.draw(player, DrawAction::Offer).await,
            ClientMessage::DrawAccept => self.draw(player, DrawAction::Accept).await,
            ClientMessage::DrawDecline => self.draw(player, DrawAction::Decline).await,
            ClientMessage::Emote { emote } => games.send_emote(player, &self.game_id, emote).await,
            ClientMessage::Identify { .. } | ClientMessage::Sync | ClientMessage::Ping => Ok(()),
        }
    }

    async fn identify(&mut self, sink: &mut Sink, token: &str) -> std::io::Result<()> {
        let player = match self.state.accounts.authenticate(token).await {
            Ok(player) => player,
            Err(err) => return self.send_error(sink, &err).await,
        };
        let seat = match self.state.views.game_view(&self.game_id).await {
            Ok(view) if view.player1.id == player.id => Some(Seat::One),
            Ok(view) if view.player2.as_ref().is_some_and(|p| p.id == player.id) => Some(Seat::Two),
            _ => None,
        };
        if let Err(err) = self.state.connections.heartbeat(player.id).await {
            err.report();
        }
        self.send(
            sink,
            protocol::identified_event(seat.map(Seat::number), player.id),
        )
        .await?;
        self.player = Some(player);
        self.take_role(seat.map(Role::Player).unwrap_or(Role::Spectator))
            .await;
        self.send_state(sink, Some("identified")).await.map(drop)
    }

    /// Takes part in the game's presence as `role` (see [`crate::service::Connections::enter`]).
    async fn take_role(&mut self, role: Role) {
        let player_id = self.player.as_ref().map(|p| p.id);
        self.presence = self
            .state
            .connections
            .enter(
                self.presence.take(),
                &self.game_id,
                role,
                player_id,
                self.id,
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `make` would return (never called).
    fn future_size<A, Fut: std::future::Future>(_make: impl FnOnce(A) -> Fut) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// Every open socket holds its task's idle state: handling a message (a move
    /// reaches both stores: 11.5 KiB of state in a release build when it was inline)
    /// is boxed while it runs instead.
    #[test]
    fn an_idle_socket_task_stays_small() {
        let game_task = future_size(
            |(state, game_id, socket): (Arc<AppState>, GameId, WebSocketStream)| {
                GameSocket::new(state, game_id).run(socket)
            },
        );
        let lobby_task =
            future_size(|(state, socket): (Arc<AppState>, WebSocketStream)| lobby(state, socket));
        eprintln!("socket task state: game {game_task} B, lobby {lobby_task} B");
        assert!(game_task <= 3072, "game socket task: {game_task} B");
        assert!(lobby_task <= 3072, "lobby socket task: {lobby_task} B");
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
async fn lobby_event(subscription: &mut Subscription) -> Option<LobbyEvent> {
    match subscription.events.recv().await {
        Ok(RoomEvent::Event(event)) => Some(LobbyEvent::Broadcast(event)),
        Ok(RoomEvent::Resync) | Err(RecvError::Lagged(_)) => Some(LobbyEvent::Resync),
        Err(RecvError::Closed) => None,
    }
}

/// What a lobby socket is sent next.
enum LobbyEvent {
    Broadcast(Arc<Broadcast>),
    Resync,
}

/// Upgrades to a lobby socket: after `identify`, it receives the caller's own events
/// (`{"type":"matched","game_id","my_player"}` when matchmaking pairs it,
/// `{"type":"resync"}` when events may have been lost).
#[handler]
pub async fn lobby_socket(ws: WebSocket, state: Data<&Arc<AppState>>) -> Response {
    let state = Arc::clone(state.0);
    if state.drain.is_draining() {
        return ApiError::from(ServiceError::Unavailable).into_response();
    }
    ws.config(socket_config())
        .on_upgrade(move |socket| lobby(state, socket))
        .into_response()
}

async fn lobby(state: Arc<AppState>, socket: WebSocketStream) {
    state.metrics.open_sockets.fetch_add(1, Relaxed);
    let (mut sink, mut stream) = socket.split();
    let close = serve_lobby(&state, &mut sink, &mut stream).await;
    if let Some(close) = close {
        let _ = sink.send(Message::Close(Some(close))).await;
    }
    let _ = sink.close().await;
    state.metrics.open_sockets.fetch_sub(1, Relaxed);
}

async fn serve_lobby(state: &AppState, sink: &mut Sink, stream: &mut Stream) -> Close {
    let mut drain = state.drain.watch();
    let mut rate = RateLimit::new();
    let mut room = None;
    let identify_by = tokio::time::sleep(state.config.limits.ws_identify_timeout);
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
                    let reply = Box::pin(lobby_reply(state, &text, &mut room)).await;
                    sink.send(Message::Text(reply)).await.ok()?;
                }
                Some(Ok(_)) => {}
            },
            event = next_event => match event {
                Some(Some(LobbyEvent::Broadcast(event))) => {
                    sink.send(Message::Text(event.text.to_string())).await.ok()?;
                    state.metrics.observe_delivery(event.arrived);
                }
                Some(Some(LobbyEvent::Resync)) => {
                    sink.send(Message::Text(protocol::resync_event())).await.ok()?;
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

/// The answer to a lobby socket's message; `identify` subscribes it to the player's
/// own events.
async fn lobby_reply(state: &AppState, text: &str, room: &mut Option<Subscription>) -> String {
    match ClientMessage::decode(text) {
        Ok(ClientMessage::Identify { token }) => match state.accounts.authenticate(&token).await {
            Ok(player) => match state.broadcasts.subscribe_player(player.id).await {
                Ok(subscription) => {
                    *room = Some(subscription);
                    protocol::identified_event(None, player.id)
                }
                Err(_) => protocol::error_event("Try again", "unavailable"),
            },
            Err(err) => {
                err.report();
                protocol::error_event(&err.to_string(), err.code())
            }
        },
        Ok(ClientMessage::Ping) => protocol::pong_event(),
        Ok(_) => protocol::error_event(
            "The lobby socket only takes identify and ping",
            "unknown_action",
        ),
        Err(err) => protocol::error_event(&err.to_string(), err.code()),
    }
}

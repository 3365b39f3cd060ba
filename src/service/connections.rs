//! Who is connected to a game, over all instances, and what follows from it: seats
//! coming and going are announced, spectators counted, and a seat whose last socket
//! closed starts its abandonment grace period. Everything lives in the hot store, never
//! in one process, so a player may reconnect to any instance.
//!
//! Presence is a sorted set per game of [`PresenceMember`]s (seat, instance, socket)
//! scored by their last refresh; sockets refresh every [`PRESENCE_REFRESH`], and a member not
//! refreshed within [`PRESENCE_WINDOW_MS`] (its instance died) no longer counts.
//! [`Connections`] owns those members, the abandonment timers and the online-players
//! set; the sweeper settles the abandonments it reports due.
//!
//! Seats coming and going are announced at once. Spectators are announced as a viewer
//! count at most once per [`VIEWER_ANNOUNCE_EVERY`] per game and instance: each
//! announcement reaches every socket of the game, so announcing each of a crowd that
//! arrives at once would cost the square of its size.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use super::{broadcasts::Broadcasts, domain::GameId, now_ms, protocol, Drain, ServiceResult};
use crate::{
    game::Seat,
    hot::{Deadline, HotStore, PresenceMember, Timer},
};

/// How often an open socket refreshes its presence.
pub const PRESENCE_REFRESH: Duration = Duration::from_secs(15);
/// A presence entry older than this no longer counts.
pub const PRESENCE_WINDOW_MS: i64 = 45_000;
/// Spectator arrivals and departures of one game are announced at most this often.
pub const VIEWER_ANNOUNCE_EVERY: Duration = Duration::from_millis(500);
/// How long online presence lasts without a heartbeat.
pub const ONLINE_WINDOW_MS: i64 = 60_000;

/// How a socket takes part in a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Player(Seat),
    Spectator,
}

impl Role {
    fn seat(self) -> Option<u8> {
        match self {
            Role::Player(seat) => Some(seat.number()),
            Role::Spectator => None,
        }
    }
}

/// Who is connected to a game, over the whole cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// Whether seat one / seat two has at least one open socket.
    pub seats: [bool; 2],
    pub viewers: u32,
}

impl Presence {
    pub fn seat_online(&self, seat: Seat) -> bool {
        self.seats[usize::from(seat.number() - 1)]
    }
}

/// One socket's entry in a game's presence.
#[derive(Clone, Debug)]
pub struct SocketPresence {
    pub game_id: GameId,
    pub role: Role,
    /// The identified player behind the socket, if any.
    player_id: Option<i64>,
    member: PresenceMember,
}

/// A seat whose grace period ran out (as the timer index holds it).
pub(super) struct Abandonment {
    pub game_id: GameId,
    pub seat: Seat,
    deadline: Deadline,
}

/// Games of this instance with a viewer-count announcement on its way.
#[derive(Default)]
struct PendingViewerCounts(Mutex<HashSet<GameId>>);

impl PendingViewerCounts {
    /// True if no announcement for the game was pending (the caller sends one).
    fn claim(&self, game_id: &GameId) -> bool {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(game_id.clone())
    }

    fn release(&self, game_id: &GameId) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(game_id);
    }
}

pub struct Connections {
    hot: Arc<dyn HotStore>,
    broadcasts: Arc<Broadcasts>,
    drain: Drain,
    instance: String,
    abandon_grace: Duration,
    viewer_counts: PendingViewerCounts,
    next_socket: AtomicU64,
}

impl Connections {
    pub fn new(
        hot: Arc<dyn HotStore>,
        broadcasts: Arc<Broadcasts>,
        drain: Drain,
        instance: &str,
        abandon_grace: Duration,
    ) -> Connections {
        Connections {
            hot,
            broadcasts,
            drain,
            instance: instance.to_string(),
            abandon_grace,
            viewer_counts: PendingViewerCounts::default(),
            next_socket: AtomicU64::new(1),
        }
    }

    /// A process-unique socket number.
    pub fn next_socket_id(&self) -> u64 {
        self.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    pub async fn presence(&self, game_id: &GameId) -> ServiceResult<Presence> {
        let members = self
            .hot
            .presence_members(game_id.as_str(), now_ms() - PRESENCE_WINDOW_MS)
            .await?;
        let mut presence = Presence::default();
        for member in members {
            match member.seat {
                Some(1) => presence.seats[0] = true,
                Some(2) => presence.seats[1] = true,
                _ => presence.viewers += 1,
            }
        }
        Ok(presence)
    }

    /// Takes part in a game as `role` (a socket that was `previous`, if anything):
    /// records it in the game's presence and tells everyone (a seat connecting, or the
    /// viewer count changing). A seat that connects ends its grace period.
    pub async fn enter(
        self: &Arc<Self>,
        previous: Option<SocketPresence>,
        game_id: &GameId,
        role: Role,
        player_id: Option<i64>,
        socket_id: u64,
    ) -> Option<SocketPresence> {
        if let Role::Player(seat) = role {
            if let Err(err) = self.seat_connected(game_id, seat).await {
                err.report();
                tracing::warn!(error = %err, "clearing the abandonment timer failed");
            }
        }
        if previous.as_ref().map(|p| p.role) == Some(role) {
            return previous;
        }
        if let Some(old) = &previous {
            let _ = self.remove(old).await;
        }
        let entry = SocketPresence {
            game_id: game_id.clone(),
            role,
            player_id,
            member: PresenceMember {
                seat: role.seat(),
                instance: self.instance.clone(),
                socket: socket_id,
            },
        };
        let entry = self.refresh(&entry).await.ok().map(|()| entry);
        match role {
            Role::Spectator => self.announce_viewers(game_id, true),
            Role::Player(seat) => {
                self.announce_quietly(game_id, Some(seat), player_id, true)
                    .await
            }
        }
        entry
    }

    /// Keeps a socket's entry alive (every [`PRESENCE_REFRESH`]).
    pub async fn refresh(&self, entry: &SocketPresence) -> ServiceResult<()> {
        self.hot
            .presence_touch(entry.game_id.as_str(), &entry.member, now_ms())
            .await?;
        Ok(())
    }

    /// A socket closed: it leaves the presence, everyone is told, and a seat left with
    /// no socket starts its grace period — unless this instance is draining, whose
    /// sockets are moving to another instance.
    pub async fn leave(self: &Arc<Self>, entry: SocketPresence) {
        if let Err(err) = self.remove(&entry).await {
            err.report();
            tracing::warn!(error = %err, "presence removal failed");
        }
        let seat = match entry.role {
            Role::Spectator => return self.announce_viewers(&entry.game_id, false),
            Role::Player(seat) => seat,
        };
        if !self.drain.is_draining() {
            if let Err(err) = self.seat_disconnected(&entry.game_id, seat).await {
                err.report();
                tracing::warn!(error = %err, "starting the abandonment timer failed");
            }
        }
        self.announce_quietly(&entry.game_id, Some(seat), entry.player_id, false)
            .await;
    }

    async fn remove(&self, entry: &SocketPresence) -> ServiceResult<()> {
        self.hot
            .presence_remove(entry.game_id.as_str(), &entry.member)
            .await?;
        Ok(())
    }

    /// Tells everyone in the game that a seat connected or disconnected.
    async fn announce(
        &self,
        game_id: &GameId,
        seat: Option<Seat>,
        player_id: Option<i64>,
        connected: bool,
    ) -> ServiceResult<()> {
        let presence = self.presence(game_id).await?;
        let event = protocol::player_status_event(
            game_id.as_str(),
            seat.map(Seat::number),
            player_id,
            connected,
            &presence,
        );
        self.broadcasts.to_game(game_id, &event).await
    }

    async fn announce_quietly(
        &self,
        game_id: &GameId,
        seat: Option<Seat>,
        player_id: Option<i64>,
        connected: bool,
    ) {
        if let Err(err) = self.announce(game_id, seat, player_id, connected).await {
            err.report();
            tracing::warn!(error = %err, "presence announcement failed");
        }
    }

    /// Announces the game's viewer count after a spectator came (`connected`) or went,
    /// coalesced with every other change in the next [`VIEWER_ANNOUNCE_EVERY`].
    fn announce_viewers(self: &Arc<Self>, game_id: &GameId, connected: bool) {
        if !self.viewer_counts.claim(game_id) {
            return;
        }
        let connections = Arc::clone(self);
        let game_id = game_id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(VIEWER_ANNOUNCE_EVERY).await;
            connections.viewer_counts.release(&game_id);
            connections
                .announce_quietly(&game_id, None, None, connected)
                .await;
        });
    }

    /// Starts the grace period of a seat whose last socket closed.
    async fn seat_disconnected(&self, game_id: &GameId, seat: Seat) -> ServiceResult<()> {
        if self.presence(game_id).await?.seat_online(seat) {
            return Ok(());
        }
        let grace = self.abandon_grace.as_millis() as i64;
        self.hot
            .schedule(&absence(game_id, seat), now_ms() + grace)
            .await?;
        Ok(())
    }

    /// A seat is back: its grace period ends.
    async fn seat_connected(&self, game_id: &GameId, seat: Seat) -> ServiceResult<()> {
        self.hot.unschedule(&absence(game_id, seat)).await?;
        Ok(())
    }

    /// Seats whose grace period ran out by `now` (at most `limit`). Entries that do not
    /// name a valid game and seat are dropped.
    pub(super) async fn due_abandonments(
        &self,
        now: i64,
        limit: usize,
    ) -> ServiceResult<Vec<Abandonment>> {
        let mut due = Vec::new();
        for deadline in self.hot.due(Timer::Abandonment, now, limit).await? {
            let parsed = match &deadline {
                Deadline::Abandonment { game_id, seat } => Seat::from_number(*seat)
                    .and_then(|seat| Some((GameId::parse(game_id).ok()?, seat))),
                Deadline::Turn { .. } => None,
            };
            match parsed {
                Some((game_id, seat)) => due.push(Abandonment {
                    game_id,
                    seat,
                    deadline,
                }),
                None => self.hot.unschedule(&deadline).await?,
            }
        }
        Ok(due)
    }

    /// Takes a due abandonment out of the timer index (it is being settled).
    pub(super) async fn clear_abandonment(&self, due: &Abandonment) -> ServiceResult<()> {
        self.hot.unschedule(&due.deadline).await?;
        Ok(())
    }

    /// Marks a player online (`POST /heartbeat`, and a socket's `identify`); returns
    /// how many players are online.
    pub async fn heartbeat(&self, player_id: i64) -> ServiceResult<u64> {
        let now = now_ms();
        self.hot.online_touch(player_id, now).await?;
        Ok(self.hot.online_count(now - ONLINE_WINDOW_MS).await?)
    }

    /// Players seen within [`ONLINE_WINDOW_MS`], over the whole cluster.
    pub async fn online_count(&self) -> ServiceResult<u64> {
        Ok(self.hot.online_count(now_ms() - ONLINE_WINDOW_MS).await?)
    }
}

/// The abandonment deadline of a seat.
fn absence(game_id: &GameId, seat: Seat) -> Deadline {
    Deadline::Abandonment {
        game_id: game_id.to_string(),
        seat: seat.number(),
    }
}

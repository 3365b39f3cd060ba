//! What surrounds the board: who is connected to a game (presence, over all
//! instances), and rematch votes. Both live in the hot store, never in one process, so a
//! player may reconnect to any instance.
//!
//! Presence is a sorted set per game of `<role>|<instance>|<socket>` members scored by
//! their last refresh; sockets refresh every [`PRESENCE_REFRESH`], and a member not
//! refreshed within [`PRESENCE_WINDOW_MS`] (its instance died) no longer counts.
//!
//! Seats coming and going are announced at once. Spectators are announced as a viewer
//! count at most once per [`VIEWER_ANNOUNCE_EVERY`] per game and instance: each
//! announcement reaches every socket of the game, so announcing each of a crowd that
//! arrives at once would cost the square of its size.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;
use uuid::Uuid;

use super::{events, Arena, ServiceError, ServiceResult};
use crate::{
    audit::AuditEvent,
    cold::PlayerRecord,
    game::{GameStatus, Seat},
    hot::PresenceMember,
};

/// How often an open socket refreshes its presence.
pub const PRESENCE_REFRESH: Duration = Duration::from_secs(15);
/// A presence entry older than this no longer counts.
pub const PRESENCE_WINDOW_MS: i64 = 45_000;
/// Spectator arrivals and departures of one game are announced at most this often.
pub const VIEWER_ANNOUNCE_EVERY: Duration = Duration::from_millis(500);
/// How long rematch votes are kept.
const REMATCH_VOTE_TTL: Duration = Duration::from_secs(3600);

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

/// Games of this instance with a viewer-count announcement on its way.
#[derive(Default)]
pub struct PendingViewerCounts(Mutex<HashSet<String>>);

impl PendingViewerCounts {
    /// True if no announcement for the game was pending (the caller sends one).
    fn claim(&self, game_id: &str) -> bool {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(game_id.to_string())
    }

    fn release(&self, game_id: &str) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(game_id);
    }
}

/// One socket's entry in a game's presence.
#[derive(Clone, Debug)]
pub struct SocketPresence {
    pub game_id: String,
    pub role: Role,
    member: PresenceMember,
}

impl Arena {
    pub async fn presence(&self, game_id: &str) -> ServiceResult<Presence> {
        let members = self
            .hot
            .presence_members(game_id, super::now_ms() - PRESENCE_WINDOW_MS)
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

    /// Records a socket in a game's presence.
    pub async fn socket_joined(
        &self,
        game_id: &str,
        role: Role,
        socket_id: u64,
    ) -> ServiceResult<SocketPresence> {
        let entry = SocketPresence {
            game_id: game_id.to_string(),
            role,
            member: PresenceMember {
                seat: role.seat(),
                instance: self.instance().to_string(),
                socket: socket_id,
            },
        };
        self.socket_refresh(&entry).await?;
        Ok(entry)
    }

    pub async fn socket_refresh(&self, entry: &SocketPresence) -> ServiceResult<()> {
        self.hot
            .presence_touch(&entry.game_id, &entry.member, super::now_ms())
            .await?;
        Ok(())
    }

    pub async fn socket_left(&self, entry: &SocketPresence) -> ServiceResult<()> {
        self.hot
            .presence_remove(&entry.game_id, &entry.member)
            .await?;
        Ok(())
    }

    /// Tells everyone in the game that a seat connected or disconnected.
    pub async fn announce_presence(
        &self,
        game_id: &str,
        seat: Option<Seat>,
        player_id: Option<i64>,
        connected: bool,
    ) -> ServiceResult<()> {
        let presence = self.presence(game_id).await?;
        let event = events::player_status_event(
            game_id,
            seat.map(Seat::number),
            player_id,
            connected,
            &presence,
        );
        self.publish(game_id, &event).await
    }

    /// Announces the game's viewer count after a spectator came (`connected`) or went,
    /// coalesced with every other change in the next [`VIEWER_ANNOUNCE_EVERY`].
    pub fn announce_viewers(self: &Arc<Self>, game_id: &str, connected: bool) {
        if !self.viewer_counts.claim(game_id) {
            return;
        }
        let arena = Arc::clone(self);
        let game_id = game_id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(VIEWER_ANNOUNCE_EVERY).await;
            arena.viewer_counts.release(&game_id);
            if let Err(err) = arena
                .announce_presence(&game_id, None, None, connected)
                .await
            {
                tracing::warn!(error = %err, game_id, "viewer announcement failed");
            }
        });
    }

    pub(super) async fn publish(&self, game_id: &str, event: &str) -> ServiceResult<()> {
        self.hot
            .publish(&self.keys.game_channel(game_id), event)
            .await?;
        self.metrics
            .broadcasts_published
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// A seat of a finished game votes for a rematch. When both seats have voted, a new
    /// game starts for the same pair with colours swapped, announced to both. Decided
    /// under the finished game's lock: the rematch is created once, and a creation
    /// interrupted by a crash is found again (the new game's `rematch_of`) by the
    /// transaction that reconciles the finished game.
    pub async fn vote_rematch(&self, player: &PlayerRecord, game_id: &str) -> ServiceResult<()> {
        let mut tx = self.begin(game_id).await?;
        let seat = tx
            .state
            .seat_of(player.id)
            .ok_or(ServiceError::NotAPlayer)?;
        if !tx.state.status().is_over() || tx.state.status() == GameStatus::Cancelled {
            return Err(ServiceError::GameNotOver);
        }
        if let Some(new_game_id) = tx.state.rematch_game_id.clone() {
            drop(tx);
            let new_game = self.game_view(&new_game_id).await?;
            return self
                .publish(game_id, &events::rematch_event(game_id, &new_game))
                .await;
        }
        let (votes, _) = self
            .hot
            .rematch_vote(game_id, seat.number(), REMATCH_VOTE_TTL)
            .await?;
        if votes < 2 {
            drop(tx);
            self.audit(
                AuditEvent::new("rematch_vote")
                    .game(game_id)
                    .player(player.id),
            )
            .await;
            return self
                .publish(
                    game_id,
                    &events::rematch_waiting_event(game_id, seat.number()),
                )
                .await;
        }
        let Some(previous_two) = tx.state.player2.as_ref() else {
            return Err(ServiceError::GameNotOver);
        };
        // The players as they are now (the finished game changed their ratings).
        let ids = [previous_two.id, tx.state.player1.id];
        let players = self.cold.players(&ids).await?;
        let current = |id: i64| {
            players
                .iter()
                .find(|p| p.id == id)
                .map(super::games::player_ref)
                .ok_or(ServiceError::PlayerNotFound)
        };
        let (first, second) = (current(ids[0])?, current(ids[1])?);
        let new_id = Uuid::new_v4().to_string();
        tx.writing();
        let new_game = self
            .open_game(
                &new_id,
                first,
                Some(second),
                tx.state.move_time_limit_secs,
                Some(game_id),
            )
            .await?
            .view();
        crate::failpoint::hit("rematch.after_create").await;
        let mut state = tx.state.clone();
        state.rematch_game_id = Some(new_id.clone());
        let audit = AuditEvent::new("rematch")
            .game(game_id)
            .player(player.id)
            .data(json!({"new_game_id": new_id}));
        tx.commit(
            &state,
            vec![events::rematch_event(game_id, &new_game)],
            vec![audit],
        )
        .await
    }
}

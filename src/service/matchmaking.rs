//! Matchmaking. The queue lives in the hot store and pairing is one atomic script, so
//! with any number of players joining through any instances nobody is matched twice.
//! A player is re-tried whenever it joins or asks for its status, and every instance's
//! sweeper re-tries the whole queue every tick, so nobody waits while a compatible
//! partner waits too. A match is pushed on the player's lobby channel (`/ws/lobby`)
//! and kept for polling (`GET /matchmaking/status/{id}`).

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{
    broadcasts::Broadcasts, domain::GameId, games::Games, now_ms, protocol, transaction::GameStore,
    views::MatchStatus, ServiceResult,
};
use crate::{
    audit::{AuditEvent, AuditLog},
    cold::{Cold, Player},
    game::{GameStatus, Seat},
    hot::{HotStore, MatchRecord, PairingRules},
};

/// The rating window: +/-200 at first, 50 wider per second of waiting, at most +/-1000.
/// Entries not refreshed for 30 s (a client that went away) leave the queue.
pub const PAIRING: PairingRules = PairingRules {
    base: 200,
    widen_per_second: 50,
    cap: 1000,
    stale_ms: 30_000,
};
/// How long a pairing may take to create its game before it counts as interrupted.
const PAIRING_GRACE: Duration = Duration::from_secs(5);
/// How long a match is remembered for a player who polls.
const MATCH_MEMORY: Duration = Duration::from_secs(600);

fn matched(game_id: &GameId, seat: Seat, queue_size: u64) -> MatchStatus {
    MatchStatus {
        status: "matched".into(),
        position: None,
        queue_size,
        game_id: Some(game_id.to_string()),
        my_player: Some(seat.number()),
    }
}

/// Where a player stands when not matched.
fn waiting(position: Option<u64>, queue_size: u64) -> MatchStatus {
    MatchStatus {
        status: if position.is_some() {
            "queued"
        } else {
            "not_queued"
        }
        .into(),
        position,
        queue_size,
        game_id: None,
        my_player: None,
    }
}

/// A match as remembered for a player: its game and the player's seat.
fn remembered_match(game_id: &GameId, seat: Seat) -> MatchRecord {
    MatchRecord::Game {
        game_id: game_id.to_string(),
        seat: seat.number(),
    }
}

/// The game and seat of a remembered match, if it names a valid one.
fn game_of(game_id: &str, seat: u8) -> Option<(GameId, Seat)> {
    Some((GameId::parse(game_id).ok()?, Seat::from_number(seat)?))
}

/// The rating-window queue. Owns the queue and the remembered matches in the hot store.
pub struct Matchmaking {
    hot: Arc<dyn HotStore>,
    cold: Cold,
    audit: Arc<AuditLog>,
    broadcasts: Arc<Broadcasts>,
    /// Opens the games of the pairs.
    games: Arc<Games>,
    /// Reads the games of remembered matches.
    store: Arc<GameStore>,
}

impl Matchmaking {
    /// Queues in the hot store of `store`, reads and audits with its database and log.
    pub fn new(
        store: Arc<GameStore>,
        broadcasts: Arc<Broadcasts>,
        games: Arc<Games>,
    ) -> Matchmaking {
        Matchmaking {
            hot: Arc::clone(&store.hot),
            cold: store.cold.clone(),
            audit: Arc::clone(&store.audit),
            broadcasts,
            games,
            store,
        }
    }

    /// Queues `player` (or pairs it at once).
    pub async fn join(&self, player: &Player) -> ServiceResult<MatchStatus> {
        if let Some(status) = self.current_match(player.id).await? {
            return Ok(status);
        }
        let playing = self.cold.open_game_of(player.id).await?;
        if playing.is_some_and(|game| game.status == GameStatus::Active) {
            return Err(super::ServiceError::AlreadyInGame);
        }
        // The rating as of now (the session record may be a few seconds old).
        let rating = self
            .cold
            .player(player.id)
            .await?
            .map_or(player.elo_rating, |fresh| fresh.elo_rating);
        self.hot.queue_join(player.id, rating, now_ms()).await?;
        self.audit
            .record(AuditEvent::new("matchmaking_joined").player(player.id))
            .await;
        self.status(player).await
    }

    /// Where `player` stands; tries to pair it first. The queue is read before the
    /// remembered match: pairing takes a player out of the queue and marks its match in
    /// one atomic step, so a player missing from the queue has its match recorded.
    pub async fn status(&self, player: &Player) -> ServiceResult<MatchStatus> {
        let (position, _) = self.hot.queue_status(player.id, now_ms()).await?;
        if position.is_some() {
            if let Some((game_id, seat)) = self.try_match(player.id).await? {
                let (_, queue_size) = self.hot.queue_status(player.id, now_ms()).await?;
                return Ok(matched(&game_id, seat, queue_size));
            }
        }
        let (position, queue_size) = self.hot.queue_status(player.id, now_ms()).await?;
        if position.is_none() {
            if let Some(status) = self.current_match(player.id).await? {
                return Ok(status);
            }
        }
        Ok(waiting(position, queue_size))
    }

    /// Leaves the queue (and forgets a match not yet picked up).
    pub async fn leave(&self, player: &Player) -> ServiceResult<MatchStatus> {
        if self.hot.queue_leave(player.id).await? {
            self.audit
                .record(AuditEvent::new("matchmaking_left").player(player.id))
                .await;
        }
        self.hot.clear_match(player.id).await?;
        let (_, queue_size) = self.hot.queue_status(player.id, now_ms()).await?;
        Ok(waiting(None, queue_size))
    }

    /// How many players are queued, over the whole cluster.
    pub async fn queue_size(&self) -> ServiceResult<u64> {
        Ok(self.hot.queue_size().await?)
    }

    /// A match remembered for the player, if its game is still being played.
    async fn current_match(&self, player_id: i64) -> ServiceResult<Option<MatchStatus>> {
        let Some(remembered) = self.hot.get_match(player_id).await? else {
            return Ok(None);
        };
        let (_, queue_size) = self.hot.queue_status(player_id, now_ms()).await?;
        let (game_id, seat) = match remembered {
            MatchRecord::Pending { since_ms } => {
                return self.pending_match(player_id, since_ms, queue_size).await
            }
            MatchRecord::Game { game_id, seat } => match game_of(&game_id, seat) {
                Some(game) => game,
                None => return Ok(None),
            },
        };
        let still_on = self
            .store
            .load(&game_id)
            .await
            .map(|s| !s.status().is_over())
            .unwrap_or(false);
        if !still_on {
            self.hot.clear_match(player_id).await?;
            return Ok(None);
        }
        Ok(Some(matched(&game_id, seat, queue_size)))
    }

    /// A player paired at `since` whose game is not recorded in the hot store yet. While
    /// the pairing is young its game is being created: still "queued". Past
    /// [`PAIRING_GRACE`] the instance pairing it died: the database tells whether it
    /// created the game (then the player is matched into it) or not (then the player
    /// goes back into the queue); either way it converges without the client's help.
    async fn pending_match(
        &self,
        player_id: i64,
        since: i64,
        queue_size: u64,
    ) -> ServiceResult<Option<MatchStatus>> {
        if now_ms() - since < PAIRING_GRACE.as_millis() as i64 {
            return Ok(Some(MatchStatus {
                status: "queued".into(),
                position: Some(1),
                queue_size,
                game_id: None,
                my_player: None,
            }));
        }
        let started = self.cold.open_game_of(player_id).await?.filter(|game| {
            game.status == GameStatus::Active && game.created_at.timestamp_millis() >= since
        });
        let restored = started.and_then(|game| {
            let seat = game.seat_of(player_id)?;
            Some((GameId::parse(&game.id).ok()?, seat))
        });
        if let Some((game_id, seat)) = restored {
            tracing::warn!(player_id, %game_id, "pairing was interrupted after its game was created; match restored");
            self.hot
                .set_match(player_id, &remembered_match(&game_id, seat), MATCH_MEMORY)
                .await?;
            return Ok(Some(matched(&game_id, seat, queue_size)));
        }
        tracing::warn!(
            player_id,
            "pairing was interrupted before its game existed; back in the queue"
        );
        self.return_to_queue(&[player_id]).await;
        let (position, queue_size) = self.hot.queue_status(player_id, now_ms()).await?;
        Ok(Some(waiting(position, queue_size)))
    }

    /// Pairs a queued player if a compatible partner waits; creates their game, with the
    /// partner (who was waiting already) in seat one. Returns the game and this player's seat.
    async fn try_match(&self, player_id: i64) -> ServiceResult<Option<(GameId, Seat)>> {
        let Some(partner_id) = self
            .hot
            .queue_try_pair(player_id, now_ms(), PAIRING)
            .await?
        else {
            return Ok(None);
        };
        crate::failpoint::hit("matchmaking.after_pair").await;
        let opened = async {
            let (first, second) = self.games.current_players(partner_id, player_id).await?;
            self.games.open_matched(first, second).await
        };
        let game_id = match opened.await {
            Ok(game_id) => game_id,
            Err(err) => {
                self.return_to_queue(&[partner_id, player_id]).await;
                return Err(err);
            }
        };
        crate::failpoint::hit("matchmaking.after_create").await;
        for (id, seat) in [(partner_id, Seat::One), (player_id, Seat::Two)] {
            self.hot
                .set_match(id, &remembered_match(&game_id, seat), MATCH_MEMORY)
                .await?;
            let event = protocol::matched_event(game_id.as_str(), seat.number());
            self.broadcasts.to_player(id, &event).await?;
        }
        self.audit
            .record(
                AuditEvent::new("matched")
                    .game(game_id.as_str())
                    .data(json!({"player1_id": partner_id, "player2_id": player_id})),
            )
            .await;
        Ok(Some((game_id, Seat::Two)))
    }

    /// Undoes a pairing whose game could not be created: each player whose rating can
    /// be read goes back into the queue, and both lose the `pending` marker, so nobody
    /// is shown as matched to a game that does not exist. Best effort: what fails here
    /// is logged; the pairing error itself is what the caller reports.
    async fn return_to_queue(&self, player_ids: &[i64]) {
        let players = match self.cold.players(player_ids).await {
            Ok(players) => players,
            Err(err) => {
                tracing::warn!(error = %err, ?player_ids, "pairing failed; players not re-queued");
                Vec::new()
            }
        };
        for &id in player_ids {
            if let Some(player) = players.iter().find(|p| p.id == id) {
                if let Err(err) = self.hot.queue_join(id, player.elo_rating, now_ms()).await {
                    tracing::warn!(error = %err, player_id = id, "could not re-queue after a failed pairing");
                }
            }
            if let Err(err) = self.hot.clear_match(id).await {
                tracing::warn!(error = %err, player_id = id, "could not clear a pending match");
            }
        }
    }

    /// One pass over the queue, longest waiting first (run by every instance's sweeper).
    pub(super) async fn pair_queue(&self) -> ServiceResult<()> {
        let waiting = self.hot.queue_players(200).await?;
        if waiting.len() < 2 {
            return Ok(());
        }
        for player_id in waiting {
            self.try_match(player_id).await?;
        }
        Ok(())
    }
}

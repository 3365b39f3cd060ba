//! The database's view of a game, from which the hot state is rebuilt: after Redis lost
//! it (restart, flush, TTL), after an interrupted change (see `transaction.rs`), and for
//! clocks after the hot store came back empty.
//!
//! Everything the hot state holds can be derived from the database: players and their
//! current ratings, the moves, the result, the rematch that followed, and the move
//! clock — the turn began at the last stored move (or when the game started), so a
//! rebuilt deadline is the one the players were playing against, never a fresh one.

use super::{now_ms, state::GameState, views::PlayerRef, Arena, ServiceError, ServiceResult};
use crate::{
    cold::{entities::stored_move, GameClock, RatingOutcome},
    game::{EndReason, GameStatus, Outcome},
    hot::Deadline,
};

/// A game as the database records it.
pub(super) struct Rebuilt {
    pub state: GameState,
    /// The stored moves, in order.
    pub stored_moves: Vec<stored_move::Model>,
    /// The rating changes of a rated result (settled now, or earlier).
    pub ratings: Option<RatingOutcome>,
}

impl Arena {
    /// The state as the database knows it: the game row, its stored moves, its players'
    /// current ratings, its clock and its rematch. A game whose stored moves end it but
    /// whose row is unsettled (its last mover died before settling) is settled now.
    pub(super) async fn rebuild_state(&self, game_id: &str) -> ServiceResult<Rebuilt> {
        let row = self
            .cold
            .game(game_id)
            .await?
            .ok_or(ServiceError::GameNotFound)?;
        let stored_moves = self.cold.moves(game_id).await?;
        let ids: Vec<i64> = [Some(row.player1_id), row.player2_id]
            .into_iter()
            .flatten()
            .collect();
        let players = self.cold.players(&ids).await?;
        let player_ref = |id: i64| {
            players.iter().find(|p| p.id == id).map(|p| PlayerRef {
                id: p.id,
                username: p.username.clone(),
                elo_rating: p.elo_rating,
            })
        };
        let player1 = player_ref(row.player1_id).ok_or(ServiceError::PlayerNotFound)?;
        let mut state = GameState {
            id: row.id.clone(),
            status: GameStatus::parse(&row.status)
                .ok_or_else(|| corrupt(game_id, "status", &row.status))?,
            player1,
            player2: row.player2_id.and_then(player_ref),
            moves: stored_moves.iter().map(|m| m.column as u8).collect(),
            end_reason: match row.end_reason.as_deref() {
                Some(reason) => Some(
                    EndReason::parse(reason)
                        .ok_or_else(|| corrupt(game_id, "end_reason", reason))?,
                ),
                None => None,
            },
            winner: row.winner_seat.map(|seat| seat as u8),
            move_time_limit_secs: row.move_time_limit_secs as u32,
            turn_deadline_ms: None,
            created_at: row
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rematch_game_id: self.cold.rematch_of(game_id).await?,
        };
        let mut ratings = match (row.player1_rating_change, row.player2_rating_change) {
            (Some(one), Some(two)) => Some(RatingOutcome {
                changes: (one, two),
                ratings: (
                    state.player1.elo_rating,
                    state.player2.as_ref().map_or(0, |p| p.elo_rating),
                ),
            }),
            _ => None,
        };
        if state.status == GameStatus::Active {
            let ending = match state.board().outcome() {
                Outcome::Won { seat, .. } => Some((EndReason::FourInARow, Some(*seat))),
                Outcome::Draw => Some((EndReason::Draw, None)),
                Outcome::InProgress => None,
            };
            match ending {
                Some((reason, winner)) => {
                    state.end(GameStatus::Finished, reason, winner);
                    ratings = self
                        .settle(&state, GameStatus::Finished, reason, winner)
                        .await?;
                }
                None => {
                    let last_move = stored_moves.last().map(|m| m.created_at);
                    let clock = GameClock::of(&row, last_move);
                    state.turn_deadline_ms = Some(clock.deadline.timestamp_millis());
                }
            }
        }
        tracing::info!(
            game_id,
            moves = state.moves.len(),
            "game state rebuilt from the database"
        );
        Ok(Rebuilt {
            state,
            stored_moves,
            ratings,
        })
    }

    /// When the player to move runs out of time if the turn begins at `began_ms`.
    pub(super) fn deadline_after(&self, state: &GameState, began_ms: i64) -> i64 {
        began_ms + i64::from(state.move_time_limit_secs) * 1000
    }

    /// Re-arms every active game's clock from the database when the hot store lost its
    /// timer indexes (it came back empty); a no-op while they are known to be complete.
    /// Any number of instances may do it at once: each entry is the database's deadline.
    pub(super) async fn rearm_clocks_if_lost(&self) -> ServiceResult<()> {
        if self.hot.clocks_armed().await? {
            return Ok(());
        }
        let clocks = self.cold.active_clocks().await?;
        for clock in &clocks {
            self.hot
                .schedule(
                    &Deadline::turn(&clock.game_id),
                    clock.deadline.timestamp_millis(),
                )
                .await?;
        }
        self.hot.mark_clocks_armed().await?;
        tracing::info!(
            games = clocks.len(),
            overdue = clocks
                .iter()
                .filter(|c| c.deadline.timestamp_millis() <= now_ms())
                .count(),
            "move clocks re-armed from the database"
        );
        Ok(())
    }
}

/// A stored value that is not one of the known names: an error, never a default.
fn corrupt(game_id: &str, field: &str, value: &str) -> ServiceError {
    tracing::error!(game_id, field, value, "stored game has an unknown value");
    ServiceError::Unavailable
}

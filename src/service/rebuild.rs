//! The database's view of a game, from which the hot state is rebuilt: after Redis lost
//! it (restart, flush, TTL), after an interrupted change (see `transaction.rs`), and for
//! clocks after the hot store came back empty.
//!
//! Everything the hot state holds can be derived from the database: players and their
//! current ratings, the moves, the result, the rematch that followed, and the move
//! clock — the turn began at the last stored move (or when the game started), so a
//! rebuilt deadline is the one the players were playing against, never a fresh one.

use chrono::Utc;

use super::{
    domain::{Colour, GameId},
    state::GameState,
    transaction::GameStore,
    views::PlayerRef,
    ServiceError, ServiceResult,
};
use crate::{
    cold::{
        entities::game, entities::stored_move, ColdError, FinishRecord, GameClock, RatingOutcome,
    },
    game::{EndReason, GameStatus, Outcome, Seat},
};

/// A game as the database records it.
pub(super) struct Rebuilt {
    pub state: GameState,
    /// The stored moves, in order.
    pub stored_moves: Vec<stored_move::Model>,
    /// The rating changes of a rated result (settled now, or earlier).
    pub ratings: Option<RatingOutcome>,
}

impl GameStore {
    /// The state as the database knows it: the game row, its stored moves, its players'
    /// current ratings, its clock and its rematch. A game whose stored moves end it but
    /// whose row is unsettled (its last mover died before settling) is settled now.
    pub(super) async fn rebuild(&self, game_id: &GameId) -> ServiceResult<Rebuilt> {
        let row = self
            .cold
            .game(game_id.as_str())
            .await?
            .ok_or(ServiceError::GameNotFound)?;
        let stored_moves = self.cold.moves(game_id.as_str()).await?;
        let mut state = self.stored_state(&row, &stored_moves).await?;
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
            match ending(state.board().outcome()) {
                Some((reason, winner)) => {
                    state.end(GameStatus::Finished, reason, winner);
                    ratings = self
                        .settle(&state, GameStatus::Finished, reason, winner)
                        .await?;
                }
                None => {
                    let last_move = stored_moves.last().map(|m| m.created_at);
                    let clock = GameClock::of(&row, last_move);
                    let limit_ms = i64::from(state.move_time_limit_secs) * 1000;
                    let began_ms = clock.deadline.timestamp_millis() - limit_ms;
                    state.turn_deadline_ms = Some(state.deadline_after(began_ms));
                }
            }
        }
        tracing::info!(%game_id, moves = state.moves.len(), "game state rebuilt from the database");
        Ok(Rebuilt {
            state,
            stored_moves,
            ratings,
        })
    }

    /// The hot state of a stored game as its row and moves say (no clock yet).
    async fn stored_state(
        &self,
        row: &game::Model,
        stored_moves: &[stored_move::Model],
    ) -> ServiceResult<GameState> {
        let ids: Vec<i64> = [Some(row.player1_id), row.player2_id]
            .into_iter()
            .flatten()
            .collect();
        let players = self.cold.players(&ids).await?;
        let player_ref = |id: i64| players.iter().find(|p| p.id == id).map(PlayerRef::from);
        // A stored colour that is not one of the names is an error, never a default.
        let colour = Colour::parse(&row.colour).ok_or_else(|| {
            tracing::error!(game_id = %row.id, colour = %row.colour, "stored game has an unknown colour");
            ServiceError::Unavailable
        })?;
        Ok(GameState {
            id: row.id.clone(),
            status: row.status,
            player1: player_ref(row.player1_id).ok_or(ServiceError::PlayerNotFound)?,
            player2: row.player2_id.and_then(player_ref),
            moves: stored_moves.iter().map(|m| m.column as u8).collect(),
            end_reason: row.end_reason,
            winner: row.winner_seat.map(|seat| seat as u8),
            move_time_limit_secs: row.move_time_limit_secs as u32,
            rated: row.rated,
            colour,
            draw_offer: None,
            turn_deadline_ms: None,
            created_at: row.created_at,
            rematch_game_id: self.cold.rematch_of(&row.id).await?,
        })
    }

    /// Writes the result and the ratings once (see [`crate::cold::Cold::finish_game`]).
    pub(super) async fn settle(
        &self,
        state: &GameState,
        status: GameStatus,
        reason: EndReason,
        winner: Option<Seat>,
    ) -> Result<Option<RatingOutcome>, ColdError> {
        let outcome = self
            .cold
            .finish_game(FinishRecord {
                game_id: &state.id,
                status,
                reason,
                winner,
                move_count: state.moves.len() as u32,
                now: Utc::now(),
            })
            .await?;
        self.metrics
            .games_finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(outcome)
    }
}

/// How the board ends a game, if it does: four in a row or a full board.
pub(super) fn ending(outcome: &Outcome) -> Option<(EndReason, Option<Seat>)> {
    match outcome {
        Outcome::Won { seat, .. } => Some((EndReason::FourInARow, Some(*seat))),
        Outcome::Draw => Some((EndReason::Draw, None)),
        Outcome::InProgress => None,
    }
}

//! The move pipeline (the hot path) and the other ways a game ends.
//!
//! A move is applied exactly once, in order, whatever instance receives it: it is
//! validated under the game's lock against the state committed last, stored in the
//! database under the unique `(game_id, move_number)`, and only then committed to the
//! hot store, whose compare-and-set also publishes the broadcast. If the database
//! already holds that move number (an instance stored it and died before committing),
//! or no longer holds the game as active, the transaction reconciles the hot state
//! with the database and the move is validated again against it. Its audit line is
//! written before the commit, so a move the players saw is always in the audit log.

use std::{sync::atomic::Ordering::Relaxed, time::Instant};

use chrono::Utc;

use super::{
    domain::GameId,
    games::Games,
    protocol,
    rebuild::ending,
    state::GameState,
    transaction::GameTx,
    views::{GameView, MoveEvent},
    ServiceError, ServiceResult,
};
use crate::{
    audit::AuditEvent,
    cold::{NewMove, Player, RatingOutcome},
    game::{Column, EndReason, GameStatus, Placement, Seat},
};

/// A game may be aborted while fewer moves than this were played.
pub const ABORT_BEFORE_MOVES: usize = 2;

impl Games {
    /// Parses the column a client sent (at the edge, before [`Games::play_move`]); one
    /// out of range counts as a rejected move, like any other refused move.
    pub fn column(&self, index: i64) -> ServiceResult<Column> {
        Column::new(index).map_err(|err| {
            self.metrics.moves_rejected.fetch_add(1, Relaxed);
            err.into()
        })
    }

    /// Plays `column` for `player` in `game_id`. `claimed_seat` is the `player` field a
    /// client may send; it is checked against the caller's real seat, never trusted.
    pub async fn play_move(
        &self,
        player: &Player,
        game_id: &GameId,
        claimed_seat: Option<i64>,
        column: Column,
    ) -> ServiceResult<MoveEvent> {
        let received = Instant::now();
        let result = self
            .play_move_retrying(player, game_id, claimed_seat, column)
            .await;
        let metrics = &self.metrics;
        match &result {
            Ok(_) => {
                metrics.moves_applied.fetch_add(1, Relaxed);
                metrics.observe_move_latency(received.elapsed());
            }
            Err(_) => {
                metrics.moves_rejected.fetch_add(1, Relaxed);
            }
        }
        result
    }

    /// One retry when the game changed under the move (the database was ahead and the
    /// transaction reconciled): the move is validated again against the real state.
    async fn play_move_retrying(
        &self,
        player: &Player,
        game_id: &GameId,
        claimed_seat: Option<i64>,
        column: Column,
    ) -> ServiceResult<MoveEvent> {
        let mut attempt = 0;
        loop {
            let tx = self.store.begin(game_id).await?;
            match self.play_locked(tx, player, claimed_seat, column).await {
                Err(ServiceError::StateChanged) if attempt == 0 => attempt += 1,
                result => return result,
            }
        }
    }

    /// Applies the move under the game's lock, then queues the bot's turn if the move
    /// gave it one.
    async fn play_locked(
        &self,
        tx: GameTx<'_>,
        player: &Player,
        claimed_seat: Option<i64>,
        column: Column,
    ) -> ServiceResult<MoveEvent> {
        let (event, state) = self.apply_move(tx, player, claimed_seat, column).await?;
        self.bot_turn_if_owed(&state);
        Ok(event)
    }

    /// The move pipeline under the game's lock: validate, store the move, settle the game
    /// if it ended, audit, commit. Answers the move's event and the state committed.
    async fn apply_move(
        &self,
        mut tx: GameTx<'_>,
        player: &Player,
        claimed_seat: Option<i64>,
        column: Column,
    ) -> ServiceResult<(MoveEvent, GameState)> {
        let mut board = tx.state.board();
        let seat = check_move(&tx.state, player.id, claimed_seat)?;
        let placement = board.play_as(seat, column)?;
        crate::failpoint::hit("move.before_insert").await;
        let now = Utc::now();
        tx.writing();
        let stored = self
            .cold
            .insert_move(NewMove {
                game_id: tx.game_id().as_str(),
                move_number: placement.move_number,
                seat: placement.seat,
                player_id: player.id,
                column: column.index(),
                row: placement.row,
                now,
            })
            .await;
        if let Err(err) = stored {
            return Err(tx.fail(err).await);
        }
        crate::failpoint::hit("move.after_insert").await;
        let mut state = tx.state.clone();
        state.moves.push(column.index());
        // A pending draw offer lapses with the move.
        state.draw_offer = None;
        let ratings = match ending(&placement.outcome) {
            Some((reason, winner)) => {
                state.end(GameStatus::Finished, reason, winner);
                match self
                    .store
                    .settle(&state, GameStatus::Finished, reason, winner)
                    .await
                {
                    Ok(outcome) => outcome,
                    // The move is stored; the transaction reconciles (and settles) it.
                    Err(err) => return Err(tx.fail(err).await),
                }
            }
            None => {
                state.turn_deadline_ms = Some(state.deadline_after(now.timestamp_millis()));
                None
            }
        };
        if state.status().is_over() {
            crate::failpoint::hit("game.after_result").await;
        }
        let event = state.move_event(&placement, player.id, &board);
        let (broadcasts, audit) = move_messages(&state, &placement, &event, player, ratings);
        tx.commit(&state, broadcasts, audit).await?;
        Ok((event, state))
    }

    /// Plays move `index` of the position a game against the computer starts from, for
    /// `mover` (the seat to move), through the move pipeline like any move; no bot turn
    /// is queued until the whole position stands. Refused if the game has moved on.
    pub(super) async fn play_start_move(
        &self,
        game_id: &GameId,
        mover: &Player,
        index: usize,
        column: Column,
    ) -> ServiceResult<GameState> {
        let tx = self.store.begin(game_id).await?;
        if tx.state.moves.len() != index {
            return Err(ServiceError::StateChanged);
        }
        let (_, state) = self.apply_move(tx, mover, None, column).await?;
        self.metrics.moves_applied.fetch_add(1, Relaxed);
        Ok(state)
    }

    /// Plays the computer opponent `bot`'s move in `column`, chosen after the game's
    /// first `after_moves` moves. Under the game's lock: if the game has moved on (this
    /// move was played by another instance, the game ended) nothing happens and the
    /// answer is false, so a bot move is played once whoever tries.
    pub(super) async fn play_bot_move(
        &self,
        bot: &Player,
        game_id: &GameId,
        after_moves: usize,
        column: Column,
    ) -> ServiceResult<bool> {
        let tx = self.store.begin(game_id).await?;
        let state = &tx.state;
        let bot_seat = state.seat_of(bot.id);
        let still_owed = state.status() == GameStatus::Active
            && state.moves.len() == after_moves
            && bot_seat == Some(state.board().next_seat());
        if !still_owed {
            return Ok(false);
        }
        let received = Instant::now();
        self.play_locked(tx, bot, None, column).await?;
        self.metrics.moves_applied.fetch_add(1, Relaxed);
        self.metrics.observe_move_latency(received.elapsed());
        Ok(true)
    }

    /// Resigns `player` from an active game: the opponent wins.
    pub async fn resign(&self, player: &Player, game_id: &GameId) -> ServiceResult<GameView> {
        let tx = self.store.begin(game_id).await?;
        let seat = check_move(&tx.state, player.id, None)?;
        self.end_game(
            tx,
            GameStatus::Finished,
            EndReason::Resign,
            Some(seat.other()),
            Some(("resign", player)),
        )
        .await
    }

    /// Aborts an active game before its second move: it ends without a result
    /// (`abandoned`, reason `aborted`); no rating moves, nobody loses.
    pub async fn abort(&self, player: &Player, game_id: &GameId) -> ServiceResult<GameView> {
        let tx = self.store.begin(game_id).await?;
        check_move(&tx.state, player.id, None)?;
        if tx.state.moves.len() >= ABORT_BEFORE_MOVES {
            return Err(ServiceError::TooLateToAbort);
        }
        self.end_game(
            tx,
            GameStatus::Abandoned,
            EndReason::Aborted,
            None,
            Some(("abort", player)),
        )
        .await
    }

    /// Ends an active game for a reason other than a move (resignation, time,
    /// abandonment, abort, agreed draw), settles it and broadcasts `game_over`. The settlement checks the
    /// database holds exactly the moves this state has: a result is never declared from
    /// a state the database contradicts (the transaction reconciles instead). `by` names
    /// the player action that ends it (e.g. `("resign", player)`), audited before
    /// `game_over`; `None` when the clock ends it.
    pub(super) async fn end_game(
        &self,
        mut tx: GameTx<'_>,
        status: GameStatus,
        reason: EndReason,
        winner: Option<Seat>,
        by: Option<(&'static str, &Player)>,
    ) -> ServiceResult<GameView> {
        let cause = by.map(|(event, player)| {
            AuditEvent::new(event)
                .game(&tx.state.id)
                .player(player.id)
                .seq(tx.state.version())
        });
        let mut state = tx.state.clone();
        state.end(status, reason, winner);
        tx.writing();
        let ratings = match self.store.settle(&state, status, reason, winner).await {
            Ok(ratings) => ratings,
            Err(err) => return Err(tx.fail(err).await),
        };
        crate::failpoint::hit("game.after_result").await;
        let view = state.view();
        let audit = cause
            .into_iter()
            .chain(game_over_audit(&view, ratings))
            .collect();
        tx.commit(
            &state,
            vec![protocol::game_over_event(&view, ratings)],
            audit,
        )
        .await?;
        Ok(view)
    }
}

/// The broadcasts and audit lines of a move just applied to `state` (and of the game's
/// end, if the move ended it).
fn move_messages(
    state: &GameState,
    placement: &Placement,
    event: &MoveEvent,
    player: &Player,
    ratings: Option<RatingOutcome>,
) -> (Vec<String>, Vec<AuditEvent>) {
    let mut broadcasts = vec![protocol::move_event(event)];
    let mut audit = vec![AuditEvent::new("move")
        .game(&state.id)
        .player(player.id)
        .seq(event.seq)
        .data(serde_json::json!({"player": event.player, "column": placement.column, "row": event.row, "move_number": placement.move_number}))];
    if state.status().is_over() {
        let view = state.view();
        broadcasts.push(protocol::game_over_event(&view, ratings));
        audit.extend(game_over_audit(&view, ratings));
    }
    (broadcasts, audit)
}

/// The audit lines of a game's end: `game_over`, then each seat's `rating_change`.
pub(super) fn game_over_audit(view: &GameView, ratings: Option<RatingOutcome>) -> Vec<AuditEvent> {
    let mut audit = vec![AuditEvent::new("game_over")
        .game(&view.game_id)
        .seq(view.seq)
        .data(serde_json::json!({
            "status": view.status,
            "reason": view.end_reason,
            "winner": view.winner,
            "winner_id": view.winner_id,
            "moves": view.move_count,
        }))];
    if let Some(outcome) = ratings {
        for (seat, player, change, rating) in [
            (1, Some(&view.player1), outcome.changes.0, outcome.ratings.0),
            (
                2,
                view.player2.as_ref(),
                outcome.changes.1,
                outcome.ratings.1,
            ),
        ] {
            if let Some(player) = player {
                audit.push(
                    AuditEvent::new("rating_change")
                        .game(&view.game_id)
                        .player(player.id)
                        .seq(view.seq)
                        .data(
                            serde_json::json!({"seat": seat, "change": change, "rating": rating}),
                        ),
                );
            }
        }
    }
    audit
}

/// The caller's seat, if it may act in this game now.
fn check_move(state: &GameState, player_id: i64, claimed_seat: Option<i64>) -> ServiceResult<Seat> {
    let seat = state.seat_of(player_id).ok_or(ServiceError::NotAPlayer)?;
    if let Some(claimed) = claimed_seat {
        if claimed != i64::from(seat.number()) {
            return Err(ServiceError::WrongPlayer {
                claimed: u8::try_from(claimed).unwrap_or(u8::MAX),
                actual: seat.number(),
            });
        }
    }
    match state.status() {
        GameStatus::Active => Ok(seat),
        GameStatus::Waiting => Err(ServiceError::GameNotActive),
        _ => Err(ServiceError::GameOver),
    }
}

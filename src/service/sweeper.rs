//! The background sweep every instance runs (every [`SWEEP_INTERVAL`]): players out of
//! time lose (or the game is aborted if nobody moved), seats disconnected past their
//! grace period lose by abandonment, waiting games nobody joined are cancelled, and the
//! matchmaking queue is re-paired.
//!
//! Every instance sweeps; each expired game is still settled once, because a sweep only
//! acts under the game's lock (a game transaction, so an interrupted change is
//! reconciled first), re-checks the deadline against the state it loaded, and the
//! database's guards refuse a second settlement or one from a stale move list. When the
//! hot store comes back empty, the first sweep re-arms every active game's clock from
//! the database.

use std::{sync::Arc, time::Duration};

use chrono::Utc;

use super::{now_ms, Arena, ServiceError, ServiceResult};
use crate::{
    game::{EndReason, GameStatus, Seat},
    hot::{Deadline, Timer},
};

/// How often each instance sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(500);
/// At most this many timers per kind are handled per sweep.
const BATCH: usize = 50;
/// Waiting games are looked at every this many sweeps.
const WAITING_EVERY: u64 = 20;

impl Arena {
    /// Runs the sweep until the instance drains.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let arena = Arc::clone(self);
        tokio::spawn(async move {
            let mut drain = arena.drain_watch();
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut round: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = drain.changed() => return,
                }
                round += 1;
                if let Err(err) = arena.sweep(round % WAITING_EVERY == 0).await {
                    tracing::warn!(error = %err, "sweep failed; retrying next tick");
                }
            }
        })
    }

    async fn sweep(&self, include_waiting: bool) -> ServiceResult<()> {
        self.rearm_clocks_if_lost().await?;
        let now = now_ms();
        for deadline in self.hot.due(Timer::TurnDeadline, now, BATCH).await? {
            self.expire_turn(deadline.game_id()).await?;
        }
        for deadline in self.hot.due(Timer::Abandonment, now, BATCH).await? {
            self.settle_abandonment(&deadline).await?;
        }
        self.pair_queue().await?;
        if include_waiting {
            let cutoff = Utc::now()
                - chrono::Duration::from_std(self.config.waiting_game_ttl).unwrap_or_default();
            for game in self.cold.stale_waiting_games(cutoff, BATCH as u64).await? {
                self.expire_waiting(&game.id).await?;
            }
        }
        Ok(())
    }

    /// The player to move ran out of time.
    async fn expire_turn(&self, game_id: &str) -> ServiceResult<()> {
        let tx = match self.try_begin(game_id).await {
            Ok(Some(tx)) => tx,
            Ok(None) => return Ok(()),
            Err(ServiceError::GameNotFound) => {
                // A game that does not exist has no clock to enforce.
                self.hot.unschedule(&Deadline::turn(game_id)).await?;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let clock = tx.state.running_clock();
        if clock.is_none_or(|deadline| deadline > now_ms()) {
            // Moved or ended since it was scheduled: put the index right.
            match clock {
                Some(deadline) => {
                    self.hot
                        .schedule(&Deadline::turn(game_id), deadline)
                        .await?
                }
                None => self.hot.unschedule(&Deadline::turn(game_id)).await?,
            }
            return Ok(());
        }
        let out_of_time = tx.state.board().next_seat();
        tracing::info!(game_id, seat = out_of_time.number(), "move clock ran out");
        if tx.state.moves.is_empty() {
            self.end_game(tx, GameStatus::Abandoned, EndReason::Timeout, None, None)
                .await?;
        } else {
            self.end_game(
                tx,
                GameStatus::Finished,
                EndReason::Timeout,
                Some(out_of_time.other()),
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// A seat stayed disconnected past its grace period.
    async fn settle_abandonment(&self, deadline: &Deadline) -> ServiceResult<()> {
        let parsed = match deadline {
            Deadline::Abandonment { game_id, seat } => Some((game_id.as_str(), *seat)),
            Deadline::Turn { .. } => None,
        };
        let Some((game_id, seat)) =
            parsed.and_then(|(id, seat)| Some((id, Seat::from_number(seat)?)))
        else {
            return self.hot.unschedule(deadline).await.map_err(Into::into);
        };
        let Some(tx) = self.try_begin(game_id).await? else {
            return Ok(());
        };
        self.hot.unschedule(deadline).await?;
        let returned = self.presence(game_id).await?.seats[usize::from(seat.number() - 1)];
        if tx.state.status() != GameStatus::Active || returned {
            return Ok(());
        }
        tracing::info!(game_id, seat = seat.number(), "seat abandoned the game");
        self.end_game(
            tx,
            GameStatus::Finished,
            EndReason::Abandoned,
            Some(seat.other()),
            None,
        )
        .await?;
        Ok(())
    }

    /// Starts the grace period of a seat whose last socket closed.
    pub async fn seat_disconnected(&self, game_id: &str, seat: Seat) -> ServiceResult<()> {
        if self.presence(game_id).await?.seats[usize::from(seat.number() - 1)] {
            return Ok(());
        }
        let grace = self.config.abandon_grace.as_millis() as i64;
        self.hot
            .schedule(&absence(game_id, seat), now_ms() + grace)
            .await?;
        Ok(())
    }

    /// A seat is back: its grace period ends.
    pub async fn seat_connected(&self, game_id: &str, seat: Seat) -> ServiceResult<()> {
        self.hot.unschedule(&absence(game_id, seat)).await?;
        Ok(())
    }

    /// A waiting game nobody joined in time.
    async fn expire_waiting(&self, game_id: &str) -> ServiceResult<()> {
        let Some(tx) = self.try_begin(game_id).await? else {
            return Ok(());
        };
        if tx.state.status() != GameStatus::Waiting {
            return Ok(());
        }
        self.cancel_locked(tx, None, "expired").await?;
        Ok(())
    }
}

/// The abandonment deadline of a seat.
fn absence(game_id: &str, seat: Seat) -> Deadline {
    Deadline::Abandonment {
        game_id: game_id.to_string(),
        seat: seat.number(),
    }
}

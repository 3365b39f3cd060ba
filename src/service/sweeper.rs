//! The background sweep every instance runs (every [`SWEEP_INTERVAL`]): players out of
//! time lose (or the game is aborted if nobody moved), seats disconnected past their
//! grace period lose by abandonment, waiting games nobody joined are cancelled, and the
//! matchmaking queue is re-paired.
//!
//! Every instance sweeps; each expired game is still settled once, because a sweep only
//! acts under the game's lock, re-checks the deadline against the state it loaded, and
//! the database's status guard refuses a second settlement.

use std::{sync::Arc, time::Duration};

use chrono::Utc;

use super::{now_ms, Arena, ServiceResult};
use crate::{
    game::{EndReason, GameStatus, Seat},
    hot::Timer,
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
        let now = now_ms();
        for game_id in self.hot.due(Timer::TurnDeadline, now, BATCH).await? {
            self.expire_turn(&game_id).await?;
        }
        for member in self.hot.due(Timer::Abandonment, now, BATCH).await? {
            self.settle_abandonment(&member).await?;
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
        let (lock, state) = match self.try_lock_and_load(game_id).await {
            Ok(Some(locked)) => locked,
            Ok(None) => return Ok(()),
            Err(err) => {
                // A game that can't be loaded has no clock to enforce.
                self.hot.unschedule(Timer::TurnDeadline, game_id).await?;
                return Err(err);
            }
        };
        let clock = state.running_clock();
        if clock.is_none_or(|deadline| deadline > now_ms()) {
            // Moved or ended since it was scheduled: put the index right.
            match clock {
                Some(deadline) => {
                    self.hot
                        .schedule(Timer::TurnDeadline, game_id, deadline)
                        .await?
                }
                None => self.hot.unschedule(Timer::TurnDeadline, game_id).await?,
            }
            self.release(lock).await;
            return Ok(());
        }
        let out_of_time = state.board().next_seat();
        tracing::info!(game_id, seat = out_of_time.number(), "move clock ran out");
        if state.moves.is_empty() {
            self.end_game(lock, state, GameStatus::Abandoned, EndReason::Timeout, None)
                .await?;
        } else {
            self.end_game(
                lock,
                state,
                GameStatus::Finished,
                EndReason::Timeout,
                Some(out_of_time.other()),
            )
            .await?;
        }
        Ok(())
    }

    /// A seat stayed disconnected past its grace period.
    async fn settle_abandonment(&self, member: &str) -> ServiceResult<()> {
        let parsed = member.split_once('|').and_then(|(game_id, seat)| {
            Some((game_id, seat.parse().ok().and_then(Seat::from_number)?))
        });
        let Some((game_id, seat)) = parsed else {
            return self
                .hot
                .unschedule(Timer::Abandonment, member)
                .await
                .map_err(Into::into);
        };
        let Some((lock, state)) = self.try_lock_and_load(game_id).await? else {
            return Ok(());
        };
        self.hot.unschedule(Timer::Abandonment, member).await?;
        let returned = self.presence(game_id).await?.seats[usize::from(seat.number() - 1)];
        if state.status() != GameStatus::Active || returned {
            self.release(lock).await;
            return Ok(());
        }
        tracing::info!(game_id, seat = seat.number(), "seat abandoned the game");
        self.end_game(
            lock,
            state,
            GameStatus::Finished,
            EndReason::Abandoned,
            Some(seat.other()),
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
            .schedule(
                Timer::Abandonment,
                &format!("{game_id}|{}", seat.number()),
                now_ms() + grace,
            )
            .await?;
        Ok(())
    }

    /// A seat is back: its grace period ends.
    pub async fn seat_connected(&self, game_id: &str, seat: Seat) -> ServiceResult<()> {
        self.hot
            .unschedule(Timer::Abandonment, &format!("{game_id}|{}", seat.number()))
            .await?;
        Ok(())
    }

    /// A waiting game nobody joined in time.
    async fn expire_waiting(&self, game_id: &str) -> ServiceResult<()> {
        let Some((lock, state)) = self.try_lock_and_load(game_id).await? else {
            return Ok(());
        };
        if state.status() != GameStatus::Waiting {
            self.release(lock).await;
            return Ok(());
        }
        self.cancel_locked(lock, state, None, "expired").await?;
        Ok(())
    }
}

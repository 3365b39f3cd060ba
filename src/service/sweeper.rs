//! The background sweep every instance runs (every [`SWEEP_INTERVAL`]): players out of
//! time lose (or the game is aborted if nobody moved), seats disconnected past their
//! grace period lose by abandonment, a computer opponent's overdue turn is played (its
//! instance died before playing it), waiting games nobody joined are cancelled, and the
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

use super::{
    connections::{Abandonment, Connections},
    domain::GameId,
    games::{Cancellation, Games},
    matchmaking::Matchmaking,
    now_ms,
    state::BOT_TURN_SECS,
    transaction::GameStore,
    Drain, ServiceError, ServiceResult,
};
use crate::{
    cold::Cold,
    game::{EndReason, GameStatus},
    hot::{Deadline, HotStore, Timer},
};

/// How often each instance sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(500);
/// At most this many timers per kind are handled per sweep.
const BATCH: usize = 50;
/// Waiting games are looked at every this many sweeps.
const WAITING_EVERY: u64 = 20;

/// The background sweep. Owns the move-clock index (`c4:timers:turn`, written by
/// commits) and its "armed" marker.
pub struct Sweeper {
    store: Arc<GameStore>,
    games: Arc<Games>,
    matchmaking: Arc<Matchmaking>,
    connections: Arc<Connections>,
    hot: Arc<dyn HotStore>,
    cold: Cold,
    /// How long a waiting game may wait for an opponent.
    waiting_game_ttl: Duration,
}

impl Sweeper {
    /// Sweeps the stores of `store`.
    pub fn new(
        store: Arc<GameStore>,
        games: Arc<Games>,
        matchmaking: Arc<Matchmaking>,
        connections: Arc<Connections>,
        waiting_game_ttl: Duration,
    ) -> Sweeper {
        Sweeper {
            hot: Arc::clone(&store.hot),
            cold: store.cold.clone(),
            store,
            games,
            matchmaking,
            connections,
            waiting_game_ttl,
        }
    }

    /// Runs the sweep until the instance drains.
    pub fn spawn(self: &Arc<Self>, drain: &Drain) -> tokio::task::JoinHandle<()> {
        let sweeper = Arc::clone(self);
        let mut drain = drain.watch();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut round: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = drain.changed() => return,
                }
                round += 1;
                if let Err(err) = sweeper.sweep(round % WAITING_EVERY == 0).await {
                    err.report();
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
        for due in self.connections.due_abandonments(now, BATCH).await? {
            self.settle_abandonment(&due).await?;
        }
        self.matchmaking.pair_queue().await?;
        if include_waiting {
            let cutoff =
                Utc::now() - chrono::Duration::from_std(self.waiting_game_ttl).unwrap_or_default();
            for game in self.cold.stale_waiting_games(cutoff, BATCH as u64).await? {
                self.expire_waiting(&GameId::parse(&game.id)?).await?;
            }
        }
        Ok(())
    }

    /// The player to move ran out of time.
    async fn expire_turn(&self, member: &str) -> ServiceResult<()> {
        let began = match GameId::parse(member) {
            Ok(game_id) => self.store.try_begin(&game_id).await,
            Err(err) => Err(err),
        };
        let tx = match began {
            Ok(Some(tx)) => tx,
            Ok(None) => return Ok(()),
            Err(ServiceError::GameNotFound) => {
                // A game that does not exist has no clock to enforce.
                self.hot.unschedule(&Deadline::turn(member)).await?;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let clock = tx.state.running_clock();
        if clock.is_none_or(|deadline| deadline > now_ms()) {
            // Moved or ended since it was scheduled: put the index right.
            match clock {
                Some(deadline) => self.hot.schedule(&Deadline::turn(member), deadline).await?,
                None => self.hot.unschedule(&Deadline::turn(member)).await?,
            }
            return Ok(());
        }
        if tx.state.bot_to_move().is_some() {
            // The instance that owed this bot move did not play it (it died, or its
            // move failed): play it here. Pushed back a bot turn, in case this fails too.
            let game_id = tx.game_id().clone();
            drop(tx);
            tracing::info!(game_id = member, "bot turn overdue; playing it here");
            let retry_at = now_ms() + BOT_TURN_SECS * 1000;
            self.hot.schedule(&Deadline::turn(member), retry_at).await?;
            self.games.bot_turns.owe(&game_id);
            return Ok(());
        }
        let out_of_time = tx.state.board().next_seat();
        tracing::info!(
            game_id = member,
            seat = out_of_time.number(),
            "move clock ran out"
        );
        let (status, winner) = if tx.state.moves.is_empty() {
            (GameStatus::Abandoned, None)
        } else {
            (GameStatus::Finished, Some(out_of_time.other()))
        };
        self.games
            .end_game(tx, status, EndReason::Timeout, winner, None)
            .await?;
        Ok(())
    }

    /// A seat stayed disconnected past its grace period.
    async fn settle_abandonment(&self, due: &Abandonment) -> ServiceResult<()> {
        let Some(tx) = self.store.try_begin(&due.game_id).await? else {
            return Ok(());
        };
        self.connections.clear_abandonment(due).await?;
        let returned = self
            .connections
            .presence(&due.game_id)
            .await?
            .seat_online(due.seat);
        if tx.state.status() != GameStatus::Active || returned {
            return Ok(());
        }
        tracing::info!(game_id = %due.game_id, seat = due.seat.number(), "seat abandoned the game");
        self.games
            .end_game(
                tx,
                GameStatus::Finished,
                EndReason::Abandoned,
                Some(due.seat.other()),
                None,
            )
            .await?;
        Ok(())
    }

    /// A waiting game nobody joined in time.
    async fn expire_waiting(&self, game_id: &GameId) -> ServiceResult<()> {
        let Some(tx) = self.store.try_begin(game_id).await? else {
            return Ok(());
        };
        if tx.state.status() != GameStatus::Waiting {
            return Ok(());
        }
        self.games
            .cancel_locked(tx, None, Cancellation::Expired)
            .await?;
        Ok(())
    }

    /// Re-arms every active game's clock from the database when the hot store lost its
    /// timer indexes (it came back empty); a no-op while they are known to be complete.
    /// Any number of instances may do it at once: each entry is the database's deadline.
    async fn rearm_clocks_if_lost(&self) -> ServiceResult<()> {
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

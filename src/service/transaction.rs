//! The game transaction: the one way a game's state changes, on every instance.
//!
//! [`GameTx`] takes the game's lock, loads its hot state and — before the caller sees
//! it — makes sure that state agrees with the database. The caller validates with the
//! rules engine, writes the database, then [`GameTx::commit`]s: the audit lines are
//! written first, then one hot-store step compares-and-sets the state, publishes the
//! broadcasts and releases the lock. A transaction dropped on any other path (a refusal,
//! an error, an early return) releases its lock in [`Drop`]: nowhere else.
//!
//! **Reconciliation rule.** The database is the record and the hot state its cache,
//! never ahead of it. Taking the lock also leaves a write intent that only a commit or
//! an unlock removes; an intent found without its lock means the previous holder died
//! (or stalled past [`LOCK_TTL`]) between its database write and its commit. Whoever
//! finds one — the next holder, or a reader — first rebuilds the game from the database
//! (moves, result, ratings, clock, rematch), audits what the database holds and the
//! hot state did not (`move_recovered` per move, `game_recovered` for a changed
//! status, `game_over` and `rating_change` for a result), publishes the corrected state (a `state` event with reason `resync` and the
//! right `seq`, plus `game_over` / `rematch` when those are new), and only then acts.
//! A database write that finds the database ahead (a move number already stored, a
//! game no longer active or waiting) reconciles the same way ([`GameTx::reconcile`]).

use std::time::{Duration, Instant};

use rand::Rng;

use super::{events, state::GameState, Arena, ServiceError, ServiceResult};
use crate::{
    audit::AuditEvent,
    cold::ColdError,
    hot::{Commit, CommitOutcome, Loaded, Release, Versioned},
};

/// How long a lock lives if its holder never releases it.
pub const LOCK_TTL: Duration = Duration::from_secs(2);
/// How long a request waits for a busy game before answering `game_busy`.
const LOCK_WAIT: Duration = Duration::from_secs(4);

/// A game's lock while held: released on drop unless committed.
struct Held<'a> {
    arena: &'a Arena,
    game_id: String,
    /// The lock token while held; `None` once committed.
    token: Option<String>,
    /// The hot version read under the lock (`None`: the game had no hot state).
    read_version: Option<u64>,
    /// A database write was started: letting go without a commit leaves the intent.
    wrote: bool,
}

/// A game held under its lock, with its state as loaded (and reconciled).
pub(super) struct GameTx<'a> {
    held: Held<'a>,
    /// The game as loaded.
    pub state: GameState,
}

/// One attempt at the lock.
enum Attempt<'a> {
    Held(Box<GameTx<'a>>),
    Busy,
    /// An interrupted change was reconciled (and the lock released): try again.
    Reconciled,
}

impl Arena {
    /// Locks the game (waiting, with jittered back-off, while another request holds it)
    /// and loads its state, reconciled with the database if a previous holder was
    /// interrupted.
    pub(super) async fn begin(&self, game_id: &str) -> ServiceResult<GameTx<'_>> {
        check_game_id(game_id)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self.attempt(game_id).await? {
                Attempt::Held(tx) => return Ok(*tx),
                Attempt::Reconciled => continue,
                Attempt::Busy => {}
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(ServiceError::Busy);
            }
            let jitter = rand::thread_rng().gen_range(0..=pause.as_micros() as u64);
            tokio::time::sleep(pause + Duration::from_micros(jitter)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// Like [`Arena::begin`], only if the lock is free right now (for background sweeps,
    /// which simply come back later).
    pub(super) async fn try_begin(&self, game_id: &str) -> ServiceResult<Option<GameTx<'_>>> {
        check_game_id(game_id)?;
        loop {
            match self.attempt(game_id).await? {
                Attempt::Held(tx) => return Ok(Some(*tx)),
                Attempt::Reconciled => continue,
                Attempt::Busy => return Ok(None),
            }
        }
    }

    async fn attempt(&self, game_id: &str) -> ServiceResult<Attempt<'_>> {
        let token = format!(
            "{}:{:016x}",
            self.instance(),
            rand::thread_rng().gen::<u64>()
        );
        let Some(loaded) = self
            .hot
            .try_lock_and_load(game_id, &token, LOCK_TTL, self.ttl())
            .await?
        else {
            return Ok(Attempt::Busy);
        };
        let mut held = Held {
            arena: self,
            game_id: game_id.to_string(),
            token: Some(token),
            read_version: loaded.state.as_ref().map(|stored| stored.version),
            wrote: false,
        };
        let hot = loaded.state.as_ref().map(|stored| decode(game_id, stored));
        match hot {
            Some(Ok(state)) if !loaded.interrupted => {
                Ok(Attempt::Held(Box::new(GameTx { held, state })))
            }
            Some(Ok(state)) => {
                tracing::warn!(game_id, "previous lock holder was interrupted; reconciling");
                held.reconcile(Some(&state)).await?;
                Ok(Attempt::Reconciled)
            }
            // An unreadable hot state: the database's replaces it.
            Some(Err(_)) => {
                held.reconcile(None).await?;
                Ok(Attempt::Reconciled)
            }
            None => {
                let state = self.restore_state(game_id, &mut held.read_version).await?;
                Ok(Attempt::Held(Box::new(GameTx { held, state })))
            }
        }
    }

    /// Rebuilds a missing hot state from the database and stores it (the caller holds
    /// the lock, so nobody else stores one meanwhile).
    async fn restore_state(
        &self,
        game_id: &str,
        read_version: &mut Option<u64>,
    ) -> ServiceResult<GameState> {
        let state = self.rebuild_state(game_id).await?.state;
        let versioned = encode(&state)?;
        if self.hot.create(game_id, &versioned, self.ttl()).await? {
            *read_version = Some(versioned.version);
        }
        Ok(state)
    }

    /// The game's state for reading (no lock): the hot state, rebuilt when missing, and
    /// reconciled first when a lock holder was interrupted.
    pub(super) async fn load_state(&self, game_id: &str) -> ServiceResult<GameState> {
        check_game_id(game_id)?;
        let Loaded { state, interrupted } = self.hot.load(game_id, self.ttl()).await?;
        match state {
            Some(stored) if !interrupted => decode(game_id, &stored),
            // Reconciling (or restoring) needs the lock: the transaction does it.
            _ => Ok(self.begin(game_id).await?.state.clone()),
        }
    }

    /// Commits `state` under a lock token, publishing `events`.
    async fn commit_hot(
        &self,
        game_id: &str,
        token: &str,
        read_version: Option<u64>,
        state: &GameState,
        events: Vec<String>,
    ) -> ServiceResult<()> {
        let published = events.len() as u64;
        let outcome = self
            .hot
            .commit(
                game_id,
                Commit {
                    lock_token: token,
                    expected_version: read_version,
                    new: encode(state)?,
                    events,
                    ttl: self.ttl(),
                    turn_deadline_ms: state.running_clock(),
                },
            )
            .await?;
        match outcome {
            CommitOutcome::Committed => {
                self.metrics
                    .broadcasts_published
                    .fetch_add(published, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            CommitOutcome::LockLost | CommitOutcome::VersionChanged => {
                tracing::warn!(game_id, ?outcome, "commit refused; state changed under us");
                Err(ServiceError::StateChanged)
            }
        }
    }
}

impl GameTx<'_> {
    pub fn game_id(&self) -> &str {
        &self.held.game_id
    }

    /// Declares that a database write is about to happen. From here on, a transaction
    /// that ends without committing — an error, or its task dropped mid-way (a client
    /// that hung up) — leaves its write intent behind, so whoever touches the game next
    /// reconciles it with the database.
    pub fn writing(&mut self) {
        self.held.wrote = true;
    }

    /// Writes `audit` (waiting until the lines are in the file), then commits `state`
    /// with its broadcasts and releases the lock, in one hot-store step.
    pub async fn commit(
        mut self,
        state: &GameState,
        broadcasts: Vec<String>,
        audit: Vec<AuditEvent>,
    ) -> ServiceResult<()> {
        self.held.arena.audit_written(audit).await;
        crate::failpoint::hit("commit.before_hot").await;
        let result = self.held.commit(state, broadcasts).await;
        if matches!(result, Err(ServiceError::StateChanged)) && self.held.wrote {
            // This holder stalled past its lock's TTL after writing the database, and
            // someone else committed meanwhile: bring the hot state up to what the
            // database now holds rather than leave it behind until the next write.
            let arena = self.held.arena;
            let game_id = self.held.game_id.clone();
            drop(self);
            if let Err(err) = arena.begin(&game_id).await?.reconcile().await {
                tracing::warn!(error = %err, game_id, "reconciling after a lost lock failed");
            }
        }
        result
    }

    /// Makes the hot state equal to the database's (see the module's reconciliation
    /// rule), audits and publishes the difference, and releases the lock.
    pub async fn reconcile(mut self) -> ServiceResult<()> {
        self.held.reconcile(Some(&self.state)).await
    }

    /// Handles a failed database write: one that found the database ahead of the state
    /// read reconciles and reports [`ServiceError::StateChanged`]; other errors pass
    /// through (the lock is released when the transaction drops).
    pub async fn fail(self, err: ColdError) -> ServiceError {
        match err {
            ColdError::Duplicate(_) | ColdError::Stale(_) => {
                tracing::warn!(game_id = %self.held.game_id, error = %err, "database is ahead of the hot state; reconciling");
                match self.reconcile().await {
                    Ok(()) => ServiceError::StateChanged,
                    Err(err) => err,
                }
            }
            err => err.into(),
        }
    }
}

impl Held<'_> {
    /// Commits `state` with its broadcasts, releasing the lock.
    async fn commit(&mut self, state: &GameState, broadcasts: Vec<String>) -> ServiceResult<()> {
        let token = self.token.take().unwrap_or_default();
        let result = self
            .arena
            .commit_hot(&self.game_id, &token, self.read_version, state, broadcasts)
            .await;
        if result.is_err() {
            // Refused or unanswered: the lock may still be ours; drop releases it
            // (compare-and-delete, harmless if it is not).
            self.token = Some(token);
        }
        result
    }

    /// Replaces the hot state (`stale`, `None` when unreadable) with the database's.
    async fn reconcile(&mut self, stale: Option<&GameState>) -> ServiceResult<()> {
        let arena = self.arena;
        let rebuilt = arena.rebuild_state(&self.game_id).await?;
        let fresh = &rebuilt.state;
        let known_moves = stale.map_or(fresh.moves.len(), |s| s.moves.len());
        if known_moves > fresh.moves.len() {
            tracing::error!(game_id = %self.game_id, hot = known_moves, stored = fresh.moves.len(),
                "hot state was ahead of the database; the database's record wins");
        }
        let mut audit: Vec<AuditEvent> = rebuilt
            .stored_moves
            .iter()
            .filter(|m| usize::try_from(m.move_number).unwrap_or(0) > known_moves)
            .map(|m| {
                AuditEvent::new("move_recovered")
                    .game(&self.game_id)
                    .player(m.player_id)
                    .seq(u64::try_from(m.move_number).unwrap_or(0) + 1)
                    .data(serde_json::json!({
                        "player": m.player_seat,
                        "column": m.column,
                        "row": m.row,
                        "move_number": m.move_number,
                    }))
            })
            .collect();
        let view = fresh.view();
        if let Some(stale) = stale.filter(|s| s.status != fresh.status) {
            audit.push(
                AuditEvent::new("game_recovered")
                    .game(&self.game_id)
                    .seq(view.seq)
                    .data(serde_json::json!({
                        "from_status": stale.status,
                        "status": view.status,
                        "reason": view.end_reason,
                        "winner": view.winner,
                    })),
            );
        }
        let mut broadcasts = vec![events::state_event(&view, None, Some("resync"))];
        if fresh.status().is_over() && stale.is_none_or(|s| !s.status().is_over()) {
            broadcasts.push(events::game_over_event(&view, rebuilt.ratings));
            audit.extend(super::moves::game_over_audit(&view, rebuilt.ratings));
        }
        let new_rematch = fresh
            .rematch_game_id
            .as_deref()
            .filter(|_| stale.is_none_or(|s| s.rematch_game_id.is_none()));
        if let Some(rematch_id) = new_rematch {
            if let Ok(new_game) = arena.rebuild_state(rematch_id).await {
                broadcasts.push(events::rematch_event(&self.game_id, &new_game.state.view()));
            }
        }
        arena.audit_written(audit).await;
        self.commit(fresh, broadcasts).await?;
        tracing::info!(game_id = %self.game_id, seq = view.seq, "hot state reconciled with the database");
        Ok(())
    }
}

impl Drop for Held<'_> {
    /// Releases a lock that was neither committed nor reconciled (refusals, errors, a
    /// dropped task); its intent too, unless a database write may have happened.
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let hot = std::sync::Arc::clone(&self.arena.hot);
        let game_id = std::mem::take(&mut self.game_id);
        let how = if self.wrote {
            Release::Interrupted
        } else {
            Release::Clean
        };
        let release = async move {
            if let Err(err) = hot.unlock(&game_id, &token, how).await {
                // The lock expires on its own within LOCK_TTL.
                tracing::warn!(error = %err, game_id, "unlock failed");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(release);
            }
            Err(_) => tracing::warn!("no runtime to release a game lock; it expires on its own"),
        }
    }
}

/// Game ids are UUIDs; anything that can't be one (too long, odd characters) is
/// simply not found, and never becomes part of a Redis key.
fn check_game_id(game_id: &str) -> ServiceResult<()> {
    let plausible = (1..=64).contains(&game_id.len())
        && game_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plausible {
        Ok(())
    } else {
        Err(ServiceError::GameNotFound)
    }
}

pub(super) fn encode(state: &GameState) -> ServiceResult<Versioned> {
    let text = serde_json::to_string(state).map_err(|err| {
        tracing::error!(error = %err, "game state does not serialize");
        ServiceError::Unavailable
    })?;
    Ok(Versioned {
        version: state.version(),
        state: text,
    })
}

fn decode(game_id: &str, stored: &Versioned) -> ServiceResult<GameState> {
    serde_json::from_str(&stored.state).map_err(|err| {
        tracing::error!(game_id, error = %err, "hot state does not parse");
        ServiceError::Unavailable
    })
}

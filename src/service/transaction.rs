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

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng;

use super::{
    domain::GameId, moves::game_over_audit, protocol, rebuild::Rebuilt, state::GameState,
    ServiceError, ServiceResult,
};
use crate::{
    audit::{AuditEvent, AuditLog},
    cold::{Cold, ColdError},
    game::Seat,
    hot::{Commit, CommitOutcome, Deadline, HotStore, Loaded, Release, Versioned},
    telemetry::Metrics,
};

/// How long a lock lives if its holder never releases it.
pub const LOCK_TTL: Duration = Duration::from_secs(2);
/// How long a request waits for a busy game before answering `game_busy`.
const LOCK_WAIT: Duration = Duration::from_secs(4);
/// How long rematch votes are kept.
const REMATCH_VOTE_TTL: Duration = Duration::from_secs(3600);

/// Where games live: their hot state (a cache of the database's record, see the
/// module doc) and the one way to change it, [`GameStore::begin`]. Owns the game keys
/// of the hot store (state, lock, intent, the turn-deadline index written on commit).
pub struct GameStore {
    // The stores are visible to `rebuild.rs`, the rest of this type.
    pub(super) hot: Arc<dyn HotStore>,
    pub(super) cold: Cold,
    pub(super) audit: Arc<AuditLog>,
    pub(super) metrics: Arc<Metrics>,
    /// Names this instance in lock tokens.
    instance: String,
    /// Sliding time-to-live of a game's hot state.
    ttl: Duration,
}

/// A game's lock while held: released on drop unless committed.
struct Held<'a> {
    store: &'a GameStore,
    game_id: GameId,
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

impl GameStore {
    pub fn new(
        hot: Arc<dyn HotStore>,
        cold: Cold,
        audit: Arc<AuditLog>,
        metrics: Arc<Metrics>,
        instance: &str,
        ttl: Duration,
    ) -> GameStore {
        GameStore {
            hot,
            cold,
            audit,
            metrics,
            instance: instance.to_string(),
            ttl,
        }
    }

    /// Locks the game (waiting, with jittered back-off, while another request holds it)
    /// and loads its state, reconciled with the database if a previous holder was
    /// interrupted.
    pub(super) async fn begin(&self, game_id: &GameId) -> ServiceResult<GameTx<'_>> {
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

    /// Like [`GameStore::begin`], only if the lock is free right now (for background
    /// sweeps, which simply come back later).
    pub(super) async fn try_begin(&self, game_id: &GameId) -> ServiceResult<Option<GameTx<'_>>> {
        loop {
            match self.attempt(game_id).await? {
                Attempt::Held(tx) => return Ok(Some(*tx)),
                Attempt::Reconciled => continue,
                Attempt::Busy => return Ok(None),
            }
        }
    }

    async fn attempt(&self, game_id: &GameId) -> ServiceResult<Attempt<'_>> {
        let token = format!("{}:{:016x}", self.instance, rand::thread_rng().gen::<u64>());
        let Some(loaded) = self
            .hot
            .try_lock_and_load(game_id.as_str(), &token, LOCK_TTL, self.ttl)
            .await?
        else {
            return Ok(Attempt::Busy);
        };
        let mut held = Held {
            store: self,
            game_id: game_id.clone(),
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
                tracing::warn!(%game_id, "previous lock holder was interrupted; reconciling");
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
        game_id: &GameId,
        read_version: &mut Option<u64>,
    ) -> ServiceResult<GameState> {
        let state = self.rebuild(game_id).await?.state;
        let versioned = encode(&state)?;
        if self
            .hot
            .create(game_id.as_str(), &versioned, self.ttl)
            .await?
        {
            *read_version = Some(versioned.version);
        }
        Ok(state)
    }

    /// The game's state for reading (no lock): the hot state, rebuilt when missing, and
    /// reconciled first when a lock holder was interrupted.
    pub async fn load(&self, game_id: &GameId) -> ServiceResult<GameState> {
        let Loaded { state, interrupted } = self.hot.load(game_id.as_str(), self.ttl).await?;
        match state {
            Some(stored) if !interrupted => decode(game_id, &stored),
            // Reconciling (or restoring) needs the lock: the transaction does it.
            _ => Ok(self.begin(game_id).await?.state.clone()),
        }
    }

    /// Stores the hot state of a game just created in the database, and arms its
    /// clock if it started at once.
    pub(super) async fn create(&self, state: &GameState) -> ServiceResult<()> {
        self.hot
            .create(&state.id, &encode(state)?, self.ttl)
            .await?;
        if let Some(deadline) = state.running_clock() {
            self.hot
                .schedule(&Deadline::turn(&state.id), deadline)
                .await?;
        }
        Ok(())
    }

    /// Records `seat`'s vote for a rematch of the game; returns how many seats voted.
    pub(super) async fn rematch_vote(&self, game_id: &GameId, seat: Seat) -> ServiceResult<u8> {
        let (votes, _) = self
            .hot
            .rematch_vote(game_id.as_str(), seat.number(), REMATCH_VOTE_TTL)
            .await?;
        Ok(votes)
    }

    /// Records audit events and waits until their lines are in the file (a process
    /// killed after this returns has them), for events a commit must not outrun.
    pub(super) async fn audit_written(&self, events: Vec<AuditEvent>) {
        if events.is_empty() {
            return;
        }
        if let Err(err) = self.audit.record_all_written(events).await {
            tracing::error!(error = %err, "audit lines not confirmed written");
        }
    }

    /// Commits `state` under a lock token, publishing `events`.
    async fn commit_hot(
        &self,
        game_id: &GameId,
        token: &str,
        read_version: Option<u64>,
        state: &GameState,
        events: Vec<String>,
    ) -> ServiceResult<()> {
        let published = events.len() as u64;
        let outcome = self
            .hot
            .commit(
                game_id.as_str(),
                Commit {
                    lock_token: token,
                    expected_version: read_version,
                    new: encode(state)?,
                    events,
                    ttl: self.ttl,
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
                tracing::warn!(%game_id, ?outcome, "commit refused; state changed under us");
                Err(ServiceError::StateChanged)
            }
        }
    }
}

impl GameTx<'_> {
    pub fn game_id(&self) -> &GameId {
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
        self.held.store.audit_written(audit).await;
        crate::failpoint::hit("commit.before_hot").await;
        let result = self.held.commit(state, broadcasts).await;
        if matches!(result, Err(ServiceError::StateChanged)) && self.held.wrote {
            // This holder stalled past its lock's TTL after writing the database, and
            // someone else committed meanwhile: bring the hot state up to what the
            // database now holds rather than leave it behind until the next write.
            let store = self.held.store;
            let game_id = self.held.game_id.clone();
            drop(self);
            if let Err(err) = store.begin(&game_id).await?.reconcile().await {
                tracing::warn!(error = %err, %game_id, "reconciling after a lost lock failed");
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
            .store
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
        let store = self.store;
        let rebuilt = store.rebuild(&self.game_id).await?;
        let fresh = &rebuilt.state;
        let known_moves = stale.map_or(fresh.moves.len(), |s| s.moves.len());
        if known_moves > fresh.moves.len() {
            tracing::error!(game_id = %self.game_id, hot = known_moves, stored = fresh.moves.len(),
                "hot state was ahead of the database; the database's record wins");
        }
        let (audit, broadcasts) = self.differences(stale, &rebuilt, known_moves).await;
        store.audit_written(audit).await;
        self.commit(fresh, broadcasts).await?;
        tracing::info!(game_id = %self.game_id, seq = fresh.version(), "hot state reconciled with the database");
        Ok(())
    }

    /// What the database holds and the hot state (`stale`) did not: the audit lines
    /// (`move_recovered`, `game_recovered`, `game_over`, `rating_change`) and the
    /// broadcasts (`state`, and `game_over` / `rematch` when those are new).
    async fn differences(
        &self,
        stale: Option<&GameState>,
        rebuilt: &Rebuilt,
        known_moves: usize,
    ) -> (Vec<AuditEvent>, Vec<String>) {
        let fresh = &rebuilt.state;
        let game_id = self.game_id.as_str();
        let mut audit: Vec<AuditEvent> = rebuilt
            .stored_moves
            .iter()
            .filter(|m| usize::try_from(m.move_number).unwrap_or(0) > known_moves)
            .map(|m| {
                AuditEvent::new("move_recovered")
                    .game(game_id)
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
                    .game(game_id)
                    .seq(view.seq)
                    .data(serde_json::json!({
                        "from_status": stale.status,
                        "status": view.status,
                        "reason": view.end_reason,
                        "winner": view.winner,
                    })),
            );
        }
        let mut broadcasts = vec![protocol::state_event(&view, None, Some("resync"))];
        if fresh.status().is_over() && stale.is_none_or(|s| !s.status().is_over()) {
            broadcasts.push(protocol::game_over_event(&view, rebuilt.ratings));
            audit.extend(game_over_audit(&view, rebuilt.ratings));
        }
        let new_rematch = fresh
            .rematch_game_id
            .as_deref()
            .filter(|_| stale.is_none_or(|s| s.rematch_game_id.is_none()));
        if let Some(rematch_id) = new_rematch.and_then(|id| GameId::parse(id).ok()) {
            if let Ok(new_game) = self.store.rebuild(&rematch_id).await {
                broadcasts.push(protocol::rematch_event(game_id, &new_game.state.view()));
            }
        }
        (audit, broadcasts)
    }
}

impl Drop for Held<'_> {
    /// Releases a lock that was neither committed nor reconciled (refusals, errors, a
    /// dropped task); its intent too, unless a database write may have happened.
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let hot = Arc::clone(&self.store.hot);
        let game_id = self.game_id.to_string();
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

fn decode(game_id: &GameId, stored: &Versioned) -> ServiceResult<GameState> {
    serde_json::from_str(&stored.state).map_err(|err| {
        tracing::error!(%game_id, error = %err, "hot state does not parse");
        ServiceError::Unavailable
    })
}

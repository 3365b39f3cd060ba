//! The single path by which a game's state changes, on every instance:
//! lock -> load (or rebuild) -> validate -> write the database -> commit + publish + unlock.
//!
//! The lock is `SET NX PX` with a random token and a short TTL ([`LOCK_TTL`]): an
//! instance that dies while holding it blocks the game for at most that long. The commit
//! is also a compare-and-set on the version read, so even a holder whose lock expired
//! mid-change can never overwrite a newer state.

use std::time::{Duration, Instant};

use rand::Rng;

use super::{state::GameState, Arena, ServiceError, ServiceResult};
use crate::{
    game::{EndReason, GameStatus, Outcome},
    hot::{Commit, CommitOutcome, Versioned},
    service::views::PlayerRef,
};

/// How long a lock lives if its holder never releases it.
pub const LOCK_TTL: Duration = Duration::from_secs(2);
/// How long a request waits for a busy game before answering `game_busy`.
const LOCK_WAIT: Duration = Duration::from_secs(4);

/// Proof of holding a game's lock.
pub struct GameLock {
    pub game_id: String,
    token: String,
}

impl Arena {
    /// Locks the game (waiting, with jittered back-off, while another request holds it)
    /// and loads its state — one round trip to the hot store per attempt. The lock is
    /// released again if loading fails.
    pub(super) async fn lock_and_load(
        &self,
        game_id: &str,
    ) -> ServiceResult<(GameLock, GameState)> {
        check_game_id(game_id)?;
        let token = self.lock_token();
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(locked) = self.attempt_lock_and_load(game_id, &token).await? {
                return Ok(locked);
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(ServiceError::Busy);
            }
            let jitter = rand::thread_rng().gen_range(0..=pause.as_micros() as u64);
            tokio::time::sleep(pause + Duration::from_micros(jitter)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// Like [`Arena::lock_and_load`], only if the lock is free right now (for background
    /// sweeps, which simply come back later).
    pub(super) async fn try_lock_and_load(
        &self,
        game_id: &str,
    ) -> ServiceResult<Option<(GameLock, GameState)>> {
        check_game_id(game_id)?;
        self.attempt_lock_and_load(game_id, &self.lock_token())
            .await
    }

    /// One attempt: the lock and the state in one hot-store call, `None` while another
    /// holder has the lock.
    async fn attempt_lock_and_load(
        &self,
        game_id: &str,
        token: &str,
    ) -> ServiceResult<Option<(GameLock, GameState)>> {
        let Some(stored) = self
            .hot
            .try_lock_and_load(game_id, token, LOCK_TTL, self.ttl())
            .await?
        else {
            return Ok(None);
        };
        let lock = GameLock {
            game_id: game_id.to_string(),
            token: token.to_string(),
        };
        self.state_under(lock, stored).await.map(Some)
    }

    fn lock_token(&self) -> String {
        format!(
            "{}:{:016x}",
            self.instance(),
            rand::thread_rng().gen::<u64>()
        )
    }

    /// The state read together with the lock, rebuilt when missing; releases the lock
    /// when that fails.
    async fn state_under(
        &self,
        lock: GameLock,
        stored: Option<Versioned>,
    ) -> ServiceResult<(GameLock, GameState)> {
        let state = match stored {
            Some(stored) => decode(&lock.game_id, &stored),
            None => self.restore_state(&lock.game_id).await,
        };
        match state {
            Ok(state) => Ok((lock, state)),
            Err(err) => {
                self.release(lock).await;
                Err(err)
            }
        }
    }

    /// Releases a lock without committing (the change was refused or failed).
    pub(super) async fn release(&self, lock: GameLock) {
        if let Err(err) = self.hot.unlock(&lock.game_id, &lock.token).await {
            // The lock expires on its own within LOCK_TTL.
            tracing::warn!(error = %err, game_id = %lock.game_id, "unlock failed");
        }
    }

    /// The game's hot state; rebuilt from the database when missing (Redis restarted,
    /// flushed, or the TTL ran out), never silently reset.
    pub(super) async fn load_state(&self, game_id: &str) -> ServiceResult<GameState> {
        check_game_id(game_id)?;
        match self.hot.load(game_id, self.ttl()).await? {
            Some(stored) => decode(game_id, &stored),
            None => self.restore_state(game_id).await,
        }
    }

    /// Rebuilds a missing hot state from the database and stores it, unless another
    /// instance stored one first (then that one is used).
    async fn restore_state(&self, game_id: &str) -> ServiceResult<GameState> {
        let state = self.rebuild_state(game_id).await?;
        let versioned = encode(&state)?;
        if !self.hot.create(game_id, &versioned, self.ttl()).await? {
            // Another instance rebuilt it first: use theirs.
            if let Some(stored) = self.hot.load(game_id, self.ttl()).await? {
                return decode(game_id, &stored);
            }
        }
        Ok(state)
    }

    /// The state as the database knows it: the game row and its stored moves.
    pub(super) async fn rebuild_state(&self, game_id: &str) -> ServiceResult<GameState> {
        let row = self
            .cold
            .game(game_id)
            .await?
            .ok_or(ServiceError::GameNotFound)?;
        let moves = self.cold.moves(game_id).await?;
        let columns: Vec<u8> = moves.iter().map(|m| m.column as u8).collect();
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
            status: row.status.clone(),
            player1,
            player2: row.player2_id.and_then(player_ref),
            moves: columns,
            end_reason: row.end_reason.clone(),
            winner: row.winner_seat.map(|seat| seat as u8),
            move_time_limit_secs: row.move_time_limit_secs as u32,
            turn_deadline_ms: None,
            created_at: row
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rematch_game_id: None,
        };
        if row.status == GameStatus::Active.as_str() {
            // Stored moves that end the game but an unsettled row: the instance that
            // stored the last move died before settling. Settle it now.
            let ending = match state.board().outcome() {
                Outcome::Won { seat, .. } => Some((EndReason::FourInARow, Some(*seat))),
                Outcome::Draw => Some((EndReason::Draw, None)),
                Outcome::InProgress => None,
            };
            if let Some((reason, winner)) = ending {
                state.end(GameStatus::Finished, reason, winner);
                self.settle(&state, GameStatus::Finished, reason, winner)
                    .await?;
            }
        }
        if state.status() == GameStatus::Active {
            state.turn_deadline_ms = Some(self.deadline_from_now(&state));
        }
        tracing::info!(
            game_id,
            moves = state.moves.len(),
            "hot state rebuilt from the database"
        );
        Ok(state)
    }

    /// When the player to move runs out of time, counted from now.
    pub(super) fn deadline_from_now(&self, state: &GameState) -> i64 {
        super::now_ms() + i64::from(state.move_time_limit_secs) * 1000
    }

    /// Commits `state` (read at `expected_version`) with its broadcasts, releasing the lock.
    pub(super) async fn commit_state(
        &self,
        lock: GameLock,
        expected_version: u64,
        state: &GameState,
        events: Vec<String>,
    ) -> ServiceResult<()> {
        let published = events.len() as u64;
        let outcome = self
            .hot
            .commit(
                &lock.game_id,
                Commit {
                    lock_token: &lock.token,
                    expected_version,
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
                tracing::warn!(game_id = %lock.game_id, ?outcome, "commit refused; state changed under us");
                Err(ServiceError::StateChanged)
            }
        }
    }

    /// Replaces the hot state with the database's (which is ahead of it: an instance
    /// stored a move and died before committing it), tells sockets to resync, and
    /// releases the lock.
    pub(super) async fn reconcile(&self, lock: GameLock, stale_version: u64) -> ServiceResult<()> {
        let state = self.rebuild_state(&lock.game_id).await?;
        let event = super::events::state_event(&state.view(), None, Some("resync"));
        self.commit_state(lock, stale_version, &state, vec![event])
            .await
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

fn encode(state: &GameState) -> ServiceResult<Versioned> {
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

//! The cold layer: players, sessions, games, moves and ratings in a relational database
//! through sea-orm — PostgreSQL in a cluster, SQLite in the embedded mode, one code path.
//! It also keeps the audit anchors (each instance's audit chain head, recorded outside
//! the file) that `connect4-arena verify` checks the audit files against.
//!
//! Invariants kept here rather than trusted to callers:
//! - a move is stored at most once (`moves (game_id, move_number)` is unique);
//! - a move is stored only while its game is `active` (the insert share-locks the game
//!   row on PostgreSQL), and a game is settled only with exactly the moves its settler
//!   saw: a result can never be declared from a state the database contradicts;
//! - a game is settled at most once: [`Cold::finish_game`] flips the status with a guard
//!   on the previous status and writes the result and both ratings in the same
//!   transaction, with the game row and the two player rows locked;
//! - every database error is returned to the caller (and counted), never swallowed.

mod anchors;
pub mod entities;
mod games;
mod move_writer;
mod players;
mod profiles;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr,
    TransactionTrait,
};

pub use anchors::{AnchorReason, NewAnchor, StoredMoveKey};
pub use games::{FinishRecord, GameClock, GameCounts, NewGame, NewMove, RatingOutcome};
pub use move_writer::MoveBatches;
pub use players::{Credentials, LeaderboardRow, NewSession, Player};
pub use profiles::HeadToHead;

/// Advisory lock key held while migrating (any constant, the same for every instance).
const MIGRATION_LOCK: i64 = 0x0c4a_2e4a;

/// Database connections per instance unless configured (`DATABASE_POOL_SIZE`).
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Errors of the cold layer.
#[derive(Debug, thiserror::Error)]
pub enum ColdError {
    /// A unique constraint refused the write (a taken username, a move number already stored).
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The write's guard found the database ahead of the caller's state: the game is no
    /// longer in the status the caller read, or holds moves the caller has not seen.
    #[error("stale: {0}")]
    Stale(String),
    /// The database could not be reached or failed the statement.
    #[error("database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for ColdError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => ColdError::Duplicate(detail),
            _ => ColdError::Database(err),
        }
    }
}

/// Handle to the relational store. Cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Cold {
    db: DatabaseConnection,
    /// Serializes settlements on SQLite (see [`Cold::finish_game`]); `None` on PostgreSQL.
    settle_serial: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// The group-commit writer of moves (PostgreSQL, unless turned off); `None`: one
    /// statement per move.
    moves: Option<move_writer::MoveWriter>,
}

impl Cold {
    /// Connects with the default pool size and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Cold, ColdError> {
        Self::connect_with_pool(url, DEFAULT_POOL_SIZE).await
    }

    /// Connects with at most `pool_size` connections (SQLite: at most 4) and brings the
    /// schema up to date.
    pub async fn connect_with_pool(url: &str, pool_size: u32) -> Result<Cold, ColdError> {
        if let Some(path) = sqlite_file(url) {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|err| {
                        ColdError::Database(DbErr::Custom(format!(
                            "cannot create {}: {err}",
                            dir.display()
                        )))
                    })?;
                }
            }
        }
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(if url.starts_with("sqlite") {
                pool_size.min(4)
            } else {
                pool_size
            })
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        if url.starts_with("sqlite") {
            // WAL lets readers run beside the single writer.
            db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;")
                .await?;
        }
        let settle_serial = url.starts_with("sqlite").then(Default::default);
        let cold = Cold {
            db,
            settle_serial,
            moves: None,
        };
        cold.migrate().await?;
        Ok(cold)
    }

    /// Applies pending migrations (idempotent). On PostgreSQL they run in one
    /// transaction holding an advisory lock, so instances starting at the same moment
    /// migrate one after the other instead of racing on the same tables.
    pub async fn migrate(&self) -> Result<(), ColdError> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            Migrator::up(&self.db, None).await?;
            return Ok(());
        }
        let txn = self.db.begin().await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        Migrator::up(&txn, None).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Stores moves through one group-commit writer ([`MoveBatches`]) on PostgreSQL;
    /// SQLite, a single writer anyway, and `max_moves` 1 keep one statement per move.
    pub fn with_move_batches(mut self, batches: MoveBatches) -> Cold {
        if self.db.get_database_backend() == DbBackend::Postgres && batches.max_moves > 1 {
            self.moves = Some(move_writer::MoveWriter::start(self.db.clone(), batches));
        }
        self
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), ColdError> {
        self.db.ping().await?;
        Ok(())
    }

    /// Closes the pool (graceful shutdown).
    pub async fn close(self) {
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

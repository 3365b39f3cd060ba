//! Group commit of moves (PostgreSQL): one writer per instance stores the moves of
//! many games in one statement.
//!
//! Every move still waits for its own row to be committed before its caller goes on —
//! the mover's acknowledgement and the broadcast follow the commit exactly as with one
//! statement per move — so durability and the exactly-once guarantee are unchanged;
//! what is shared is the statement, its transaction and its WAL flush. The writer takes
//! what has queued while the previous batch was being written, and what arrives within
//! a short gather window after a batch's first move ([`MoveBatches::window`], 1 ms by
//! default; up to [`MoveBatches::max_moves`]): a busy instance writes fewer, larger
//! statements, and a move waits at most the window longer than it would alone.
//!
//! Each row keeps the guard of the single-move insert: it is stored only while its game
//! is `active` (the game row share-locked), and rows the guard refused come back as
//! [`ColdError::Stale`] to their own caller. A batch the database refuses as a whole (a
//! move number already stored, after a crash) is written again move by move, so each
//! caller gets exactly the answer its move alone would have got.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use tokio::{
    sync::{mpsc, oneshot, Semaphore},
    time::Instant,
};

use super::ColdError;
use crate::game::GameStatus;

/// How moves are grouped into statements (`MOVE_BATCH_MAX`, `MOVE_WRITERS`,
/// `MOVE_BATCH_WINDOW_US`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveBatches {
    /// Most moves in one statement; 1 turns group commit off.
    pub max_moves: usize,
    /// Statements in flight at once.
    pub writers: usize,
    /// How long a batch waits, from its first move, for more moves to share its
    /// statement; zero writes what has queued at once.
    pub window: Duration,
}

impl Default for MoveBatches {
    fn default() -> Self {
        MoveBatches {
            max_moves: 64,
            writers: 2,
            window: Duration::from_millis(1),
        }
    }
}

/// One move row, as the batch statement reads it (`jsonb_to_recordset`).
#[derive(Serialize)]
pub(super) struct MoveRow {
    pub game_id: String,
    pub move_number: i32,
    pub player_seat: i16,
    pub player_id: i64,
    pub column: i16,
    pub row: i16,
    pub created_at: DateTime<Utc>,
}

struct Queued {
    row: MoveRow,
    stored: oneshot::Sender<Result<(), ColdError>>,
}

/// The queue into the instance's move writer.
#[derive(Clone)]
pub(super) struct MoveWriter {
    queue: mpsc::UnboundedSender<Queued>,
}

const BATCH_SQL: &str = "INSERT INTO moves (game_id, move_number, player_seat, player_id, \"column\", \"row\", created_at) \
     SELECT m.game_id, m.move_number, m.player_seat, m.player_id, m.\"column\", m.\"row\", m.created_at \
     FROM jsonb_to_recordset($1::jsonb) AS m(game_id varchar, move_number integer, player_seat smallint, \
     player_id bigint, \"column\" smallint, \"row\" smallint, created_at timestamptz) \
     JOIN games g ON g.id = m.game_id AND g.status = $2 \
     FOR SHARE OF g \
     RETURNING game_id, move_number";

impl MoveWriter {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(db: DatabaseConnection, batches: MoveBatches) -> MoveWriter {
        let (queue, moves) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(db, moves, batches));
        MoveWriter { queue }
    }

    /// Stores one move, returning once its batch is committed (or refused).
    pub async fn store(&self, row: MoveRow) -> Result<(), ColdError> {
        let (stored, answer) = oneshot::channel();
        self.queue
            .send(Queued { row, stored })
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> ColdError {
    ColdError::Database(sea_orm::DbErr::Custom("the move writer has stopped".into()))
}

/// Takes a writer slot, then everything queued (up to the batch size), and writes it
/// while the next batch gathers.
async fn write_batches(
    db: DatabaseConnection,
    mut moves: mpsc::UnboundedReceiver<Queued>,
    batches: MoveBatches,
) {
    let slots = Arc::new(Semaphore::new(batches.writers.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = moves.recv().await else {
            return;
        };
        let mut batch = vec![first];
        let deadline = Instant::now() + batches.window;
        while batch.len() < batches.max_moves {
            match moves.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) if batches.window.is_zero() => break,
                Err(_) => match tokio::time::timeout_at(deadline, moves.recv()).await {
                    Ok(Some(next)) => batch.push(next),
                    // The window is over, or the queue closed: write what there is.
                    Ok(None) | Err(_) => break,
                },
            }
        }
        let db = db.clone();
        tokio::spawn(async move {
            write_batch(&db, batch).await;
            drop(slot);
        });
    }
}

async fn write_batch(db: &DatabaseConnection, batch: Vec<Queued>) {
    if batch.len() > 1 {
        match insert_batch(db, &batch).await {
            Ok(stored) => {
                for queued in batch {
                    let key = (queued.row.game_id.clone(), queued.row.move_number);
                    let answer = if stored.contains(&key) {
                        Ok(())
                    } else {
                        Err(not_active(&queued.row))
                    };
                    let _ = queued.stored.send(answer);
                }
                return;
            }
            Err(err) => {
                tracing::debug!(error = %err, moves = batch.len(), "move batch refused; storing its moves one by one");
            }
        }
    }
    for queued in batch {
        let answer = insert_one(db, &queued.row).await;
        let _ = queued.stored.send(answer);
    }
}

/// The `(game_id, move_number)` of the rows stored.
async fn insert_batch(
    db: &DatabaseConnection,
    batch: &[Queued],
) -> Result<HashSet<(String, i32)>, ColdError> {
    let rows: Vec<&MoveRow> = batch.iter().map(|queued| &queued.row).collect();
    let json = serde_json::to_string(&rows)
        .map_err(|err| ColdError::Database(sea_orm::DbErr::Custom(err.to_string())))?;
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        BATCH_SQL,
        [json.into(), GameStatus::Active.as_str().into()],
    );
    let mut stored = HashSet::with_capacity(batch.len());
    for row in db.query_all_raw(statement).await? {
        stored.insert((row.try_get("", "game_id")?, row.try_get("", "move_number")?));
    }
    Ok(stored)
}

/// Stores one move with its guard (the path of every move when batching is off, and
/// on SQLite).
pub(super) async fn insert_one<C: ConnectionTrait>(db: &C, row: &MoveRow) -> Result<(), ColdError> {
    let backend = db.get_database_backend();
    let (sql, share) = match backend {
        DbBackend::Postgres => (
            "INSERT INTO moves (game_id, move_number, player_seat, player_id, \"column\", \"row\", created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 FROM games WHERE id = $1 AND status = $8",
            " FOR SHARE",
        ),
        _ => (
            "INSERT INTO moves (game_id, move_number, player_seat, player_id, \"column\", \"row\", created_at) \
             SELECT ?, ?, ?, ?, ?, ?, ? FROM games WHERE id = ? AND status = ?",
            "",
        ),
    };
    let mut values: Vec<sea_orm::Value> = vec![
        row.game_id.clone().into(),
        row.move_number.into(),
        row.player_seat.into(),
        row.player_id.into(),
        row.column.into(),
        row.row.into(),
        row.created_at.into(),
    ];
    if backend != DbBackend::Postgres {
        values.push(row.game_id.clone().into());
    }
    values.push(GameStatus::Active.as_str().into());
    let statement = Statement::from_sql_and_values(backend, format!("{sql}{share}"), values);
    let inserted = db.execute_raw(statement).await?;
    if inserted.rows_affected() == 1 {
        Ok(())
    } else {
        Err(not_active(row))
    }
}

fn not_active(row: &MoveRow) -> ColdError {
    ColdError::Stale(format!(
        "game {} is not active; move {} not stored",
        row.game_id, row.move_number
    ))
}

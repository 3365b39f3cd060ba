//! Games and their moves, and the settlement of a finished game.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use super::{
    entities::{game, player, rating, stored_move},
    move_writer::{insert_one, MoveRow},
    Cold, ColdError,
};
use crate::game::{score_of, EndReason, GameStatus, Seat, SeatResult, Settlement};

/// A game as created (status `waiting`, or `active` for a rematch created full).
pub struct NewGame<'a> {
    pub id: &'a str,
    pub player1_id: i64,
    pub player2_id: Option<i64>,
    pub move_time_limit_secs: u32,
    pub rated: bool,
    /// The creator's colour choice (its stable name).
    pub colour: &'a str,
    pub rematch_of: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// A move to store.
pub struct NewMove<'a> {
    pub game_id: &'a str,
    pub move_number: u32,
    pub seat: Seat,
    pub player_id: i64,
    pub column: u8,
    pub row: u8,
    pub now: DateTime<Utc>,
}

/// The end of a game, to be settled once.
pub struct FinishRecord<'a> {
    pub game_id: &'a str,
    pub status: GameStatus,
    pub reason: EndReason,
    /// The winning seat; `None` for a draw or an unrated ending.
    pub winner: Option<Seat>,
    pub move_count: u32,
    pub now: DateTime<Utc>,
}

/// What settling a game did to the ratings (seat one, seat two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatingOutcome {
    pub changes: (i32, i32),
    pub ratings: (i32, i32),
}

/// When an active game's player to move runs out of time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameClock {
    pub game_id: String,
    pub deadline: DateTime<Utc>,
}

impl GameClock {
    /// The clock of `game` whose last move (if any) was stored at `last_move`.
    pub fn of(game: &game::Model, last_move: Option<DateTime<Utc>>) -> GameClock {
        let turn_began = last_move.or(game.started_at).unwrap_or(game.created_at);
        GameClock {
            game_id: game.id.clone(),
            deadline: turn_began + chrono::Duration::seconds(i64::from(game.move_time_limit_secs)),
        }
    }
}

/// Number of games per status, for `/stats`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GameCounts {
    pub total: u64,
    pub waiting: u64,
    pub active: u64,
    pub finished: u64,
}

impl Cold {
    pub async fn insert_game(&self, new: NewGame<'_>) -> Result<game::Model, ColdError> {
        let status = if new.player2_id.is_some() {
            GameStatus::Active
        } else {
            GameStatus::Waiting
        };
        let model = game::ActiveModel {
            id: Set(new.id.to_string()),
            player1_id: Set(new.player1_id),
            player2_id: Set(new.player2_id),
            status: Set(status),
            winner_id: Set(None),
            winner_seat: Set(None),
            is_draw: Set(false),
            end_reason: Set(None),
            move_time_limit_secs: Set(new.move_time_limit_secs as i32),
            rated: Set(new.rated),
            colour: Set(new.colour.to_string()),
            move_count: Set(0),
            rematch_of: Set(new.rematch_of.map(str::to_string)),
            player1_rating_change: Set(None),
            player2_rating_change: Set(None),
            created_at: Set(new.now),
            started_at: Set(new.player2_id.map(|_| new.now)),
            finished_at: Set(None),
        };
        Ok(game::Entity::insert(model)
            .exec_with_returning(&self.db)
            .await?)
    }

    /// Starts a waiting game with its two seats (the creator, seat one while the game
    /// waited, may take seat two). False when the game was no longer waiting.
    pub async fn start_game(
        &self,
        id: &str,
        seats: (i64, i64),
        now: DateTime<Utc>,
    ) -> Result<bool, ColdError> {
        let result = game::Entity::update_many()
            .col_expr(game::Column::Player1Id, Expr::value(seats.0))
            .col_expr(game::Column::Player2Id, Expr::value(seats.1))
            .col_expr(
                game::Column::Status,
                Expr::value(GameStatus::Active.as_str()),
            )
            .col_expr(game::Column::StartedAt, Expr::value(now))
            .filter(game::Column::Id.eq(id))
            .filter(game::Column::Status.eq(GameStatus::Waiting.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Cancels a waiting game. False when it was no longer waiting.
    pub async fn cancel_game(&self, id: &str, now: DateTime<Utc>) -> Result<bool, ColdError> {
        let result = game::Entity::update_many()
            .col_expr(
                game::Column::Status,
                Expr::value(GameStatus::Cancelled.as_str()),
            )
            .col_expr(
                game::Column::EndReason,
                Expr::value(EndReason::Cancelled.as_str()),
            )
            .col_expr(game::Column::FinishedAt, Expr::value(now))
            .filter(game::Column::Id.eq(id))
            .filter(game::Column::Status.eq(GameStatus::Waiting.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Stores a move; [`ColdError::Duplicate`] if that move number is already stored,
    /// [`ColdError::Stale`] if the game is not active in the database. One statement: the
    /// insert selects its values only while the game row is active, share-locking that
    /// row on PostgreSQL so a concurrent settlement (which locks it for update and
    /// counts the moves) either sees this move or makes this insert find no active game.
    pub async fn insert_move(&self, new: NewMove<'_>) -> Result<(), ColdError> {
        let row = MoveRow {
            game_id: new.game_id.to_string(),
            move_number: new.move_number as i32,
            player_seat: i16::from(new.seat.number()),
            player_id: new.player_id,
            column: i16::from(new.column),
            row: i16::from(new.row),
            created_at: new.now,
        };
        match &self.moves {
            Some(writer) => writer.store(row).await,
            None => insert_one(&self.db, &row).await,
        }
    }

    /// Settles a game exactly once: the status flips from `active` only in the first
    /// call; that same transaction first locks both player rows (one statement each, in
    /// id order, so two games of the same player settle one after the other), then
    /// applies Elo and records the history. Returns `Ok(None)` when the game had already
    /// been settled (or was not active), for unrated endings and for casual games.
    /// Whether and how the ending is rated is the rules' decision ([`score_of`],
    /// [`Settlement`]); whether the game counts at all, its own (`rated`).
    pub async fn finish_game(
        &self,
        record: FinishRecord<'_>,
    ) -> Result<Option<RatingOutcome>, ColdError> {
        // SQLite has a single writer anyway; serializing here keeps a transaction from
        // having to upgrade a read lock, which SQLite refuses with "database is locked".
        let _serial = match &self.settle_serial {
            Some(serial) => Some(serial.lock().await),
            None => None,
        };
        let txn = self.db.begin().await?;
        let Some(stored) = lock_active_game(&txn, &record).await? else {
            return Ok(None);
        };
        let rated = score_of(record.status, record.reason, record.winner)
            .zip(stored.player2_id)
            .filter(|_| stored.rated);
        let before = match rated {
            Some((_, player2_id)) => Some(lock_ratings(&txn, stored.player1_id, player2_id).await?),
            None => None,
        };
        if !flip_status(&txn, &record, &stored).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        let (Some((score, player2_id)), Some(before)) = (rated, before) else {
            txn.commit().await?;
            return Ok(None);
        };
        let settlement = Settlement::new(before, score);
        let seats = [(stored.player1_id, Seat::One), (player2_id, Seat::Two)];
        record_ratings(&txn, &record, seats, &settlement).await?;
        txn.commit().await?;
        Ok(Some(RatingOutcome {
            changes: settlement.changes,
            ratings: settlement.after,
        }))
    }

    /// The game started as a rematch of `game_id`, if any.
    pub async fn rematch_of(&self, game_id: &str) -> Result<Option<String>, ColdError> {
        Ok(game::Entity::find()
            .filter(game::Column::RematchOf.eq(game_id))
            .one(&self.db)
            .await?
            .map(|g| g.id))
    }

    /// Every active game's move clock as the database knows it: the turn began at the
    /// last stored move (or when the game started) and lasts the game's limit.
    pub async fn active_clocks(&self) -> Result<Vec<GameClock>, ColdError> {
        let games = game::Entity::find()
            .filter(game::Column::Status.eq(GameStatus::Active.as_str()))
            .all(&self.db)
            .await?;
        let mut clocks = Vec::with_capacity(games.len());
        for chunk in games.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(|g| g.id.clone()).collect();
            let last_moves: Vec<(String, Option<DateTime<Utc>>)> = stored_move::Entity::find()
                .select_only()
                .column(stored_move::Column::GameId)
                .column_as(stored_move::Column::CreatedAt.max(), "last")
                .filter(stored_move::Column::GameId.is_in(ids))
                .group_by(stored_move::Column::GameId)
                .into_tuple()
                .all(&self.db)
                .await?;
            for game in chunk {
                let last_move = last_moves
                    .iter()
                    .find(|(id, _)| *id == game.id)
                    .and_then(|(_, at)| *at);
                clocks.push(GameClock::of(game, last_move));
            }
        }
        Ok(clocks)
    }

    pub async fn game(&self, id: &str) -> Result<Option<game::Model>, ColdError> {
        Ok(game::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?)
    }

    /// A game's moves in order.
    pub async fn moves(&self, game_id: &str) -> Result<Vec<stored_move::Model>, ColdError> {
        Ok(stored_move::Entity::find()
            .filter(stored_move::Column::GameId.eq(game_id))
            .order_by_asc(stored_move::Column::MoveNumber)
            .all(&self.db)
            .await?)
    }

    /// Games of one status, newest first.
    pub async fn games_with_status(
        &self,
        status: GameStatus,
        limit: u64,
    ) -> Result<Vec<game::Model>, ColdError> {
        Ok(game::Entity::find()
            .filter(game::Column::Status.eq(status))
            .order_by_desc(game::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Ended games, most recently finished first.
    pub async fn recent_games(&self, limit: u64) -> Result<Vec<game::Model>, ColdError> {
        Ok(game::Entity::find()
            .filter(game::Column::Status.is_in([
                GameStatus::Finished.as_str(),
                GameStatus::Abandoned.as_str(),
            ]))
            .order_by_desc(game::Column::FinishedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// A player's games, newest first.
    pub async fn player_games(
        &self,
        player_id: i64,
        limit: u64,
    ) -> Result<Vec<game::Model>, ColdError> {
        Ok(game::Entity::find()
            .filter(
                Condition::any()
                    .add(game::Column::Player1Id.eq(player_id))
                    .add(game::Column::Player2Id.eq(player_id)),
            )
            .order_by_desc(game::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// The player's newest game that is waiting or in progress.
    pub async fn open_game_of(&self, player_id: i64) -> Result<Option<game::Model>, ColdError> {
        Ok(game::Entity::find()
            .filter(
                Condition::any()
                    .add(game::Column::Player1Id.eq(player_id))
                    .add(game::Column::Player2Id.eq(player_id)),
            )
            .filter(
                game::Column::Status
                    .is_in([GameStatus::Waiting.as_str(), GameStatus::Active.as_str()]),
            )
            .order_by_desc(game::Column::CreatedAt)
            .one(&self.db)
            .await?)
    }

    /// Waiting games created before `cutoff`, oldest first.
    pub async fn stale_waiting_games(
        &self,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<game::Model>, ColdError> {
        Ok(game::Entity::find()
            .filter(game::Column::Status.eq(GameStatus::Waiting.as_str()))
            .filter(game::Column::CreatedAt.lt(cutoff))
            .order_by_asc(game::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    pub async fn game_counts(&self) -> Result<GameCounts, ColdError> {
        let count = |status: GameStatus| {
            game::Entity::find()
                .filter(game::Column::Status.eq(status))
                .count(&self.db)
        };
        Ok(GameCounts {
            total: game::Entity::find().count(&self.db).await?,
            waiting: count(GameStatus::Waiting).await?,
            active: count(GameStatus::Active).await?,
            finished: count(GameStatus::Finished).await?,
        })
    }
}

/// The game row, locked for update, if it is still active and holds exactly the moves
/// the settler saw ([`ColdError::Stale`] if it holds others).
async fn lock_active_game(
    txn: &DatabaseTransaction,
    record: &FinishRecord<'_>,
) -> Result<Option<game::Model>, ColdError> {
    let Some(stored) = game::Entity::find_by_id(record.game_id.to_string())
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    if stored.status != GameStatus::Active {
        return Ok(None);
    }
    let stored_moves = stored_move::Entity::find()
        .filter(stored_move::Column::GameId.eq(record.game_id))
        .count(txn)
        .await?;
    if stored_moves != u64::from(record.move_count) {
        return Err(ColdError::Stale(format!(
            "game {} holds {stored_moves} moves, not {}; not settled",
            record.game_id, record.move_count
        )));
    }
    Ok(Some(stored))
}

/// Locks both players' rows (in id order) and reads their ratings (seat one, seat two).
async fn lock_ratings(
    txn: &DatabaseTransaction,
    player1_id: i64,
    player2_id: i64,
) -> Result<(i32, i32), ColdError> {
    let mut ids = [player1_id, player2_id];
    ids.sort_unstable();
    let mut locked = Vec::with_capacity(2);
    for id in ids {
        if let Some(row) = player::Entity::find_by_id(id)
            .lock_exclusive()
            .one(txn)
            .await?
        {
            locked.push(row);
        }
    }
    let rating_of = |id: i64| {
        locked
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.elo_rating)
            .ok_or_else(|| {
                ColdError::Database(sea_orm::DbErr::RecordNotFound(format!("player {id}")))
            })
    };
    Ok((rating_of(player1_id)?, rating_of(player2_id)?))
}

/// Flips the game from `active` to its end (guarded: false if it was no longer active).
async fn flip_status(
    txn: &DatabaseTransaction,
    record: &FinishRecord<'_>,
    stored: &game::Model,
) -> Result<bool, ColdError> {
    let winner_id = match record.winner {
        Some(Seat::One) => Some(stored.player1_id),
        Some(Seat::Two) => stored.player2_id,
        None => None,
    };
    let flipped = game::Entity::update_many()
        .col_expr(game::Column::Status, Expr::value(record.status))
        .col_expr(game::Column::EndReason, Expr::value(record.reason))
        .col_expr(game::Column::WinnerId, Expr::value(winner_id))
        .col_expr(
            game::Column::WinnerSeat,
            Expr::value(record.winner.map(|s| i16::from(s.number()))),
        )
        .col_expr(game::Column::IsDraw, Expr::value(record.reason.is_draw()))
        .col_expr(
            game::Column::MoveCount,
            Expr::value(record.move_count as i32),
        )
        .col_expr(game::Column::FinishedAt, Expr::value(record.now))
        .filter(game::Column::Id.eq(record.game_id))
        .filter(game::Column::Status.eq(GameStatus::Active.as_str()))
        .exec(txn)
        .await?;
    Ok(flipped.rows_affected == 1)
}

/// Writes a rated result: each player's new rating and win/loss/draw counter, the
/// rating history, and the game's rating changes.
async fn record_ratings(
    txn: &DatabaseTransaction,
    record: &FinishRecord<'_>,
    seats: [(i64, Seat); 2],
    settlement: &Settlement,
) -> Result<(), ColdError> {
    for (id, seat) in seats {
        let (rating_before, rating_after) = match seat {
            Seat::One => (settlement.before.0, settlement.after.0),
            Seat::Two => (settlement.before.1, settlement.after.1),
        };
        let counter = match settlement.result_of(seat) {
            SeatResult::Won => player::Column::Wins,
            SeatResult::Lost => player::Column::Losses,
            SeatResult::Drew => player::Column::Draws,
        };
        player::Entity::update_many()
            .col_expr(player::Column::EloRating, Expr::value(rating_after))
            .col_expr(counter, Expr::col(counter).add(Expr::value(1)))
            .filter(player::Column::Id.eq(id))
            .exec(txn)
            .await?;
        rating::Entity::insert(rating::ActiveModel {
            player_id: Set(id),
            game_id: Set(record.game_id.to_string()),
            rating_before: Set(rating_before),
            rating_after: Set(rating_after),
            created_at: Set(record.now),
            ..Default::default()
        })
        .exec(txn)
        .await?;
    }
    game::Entity::update_many()
        .col_expr(
            game::Column::Player1RatingChange,
            Expr::value(settlement.changes.0),
        )
        .col_expr(
            game::Column::Player2RatingChange,
            Expr::value(settlement.changes.1),
        )
        .filter(game::Column::Id.eq(record.game_id))
        .exec(txn)
        .await?;
    Ok(())
}

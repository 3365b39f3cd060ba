//! Players and their sessions, and the leaderboard.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};

use super::{
    entities::{player, session},
    Cold, ColdError,
};
use crate::game::BotLevel;

/// A player as the rest of the server sees it. The stored record (with its password
/// hash) stays in this layer; only [`Cold::credentials`] hands the hash out, to check a
/// log-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Player {
    pub id: i64,
    pub username: String,
    pub elo_rating: i32,
    pub wins: i32,
    pub losses: i32,
    pub draws: i32,
    /// A guest has no password: its token is its only credential.
    pub guest: bool,
    /// When the player signed up.
    pub created_at: DateTime<Utc>,
    /// The level of a computer opponent; `None` for people.
    pub bot: Option<BotLevel>,
}

impl From<player::Model> for Player {
    fn from(record: player::Model) -> Player {
        Player {
            guest: record.password_hash.is_none(),
            id: record.id,
            username: record.username,
            elo_rating: record.elo_rating,
            wins: record.wins,
            losses: record.losses,
            draws: record.draws,
            created_at: record.created_at,
            bot: record.bot_level.as_deref().and_then(BotLevel::parse),
        }
    }
}

/// A player with the hash its log-ins are checked against (`None` for a guest).
pub struct Credentials {
    pub player: Player,
    pub password_hash: Option<String>,
}

/// A session to open: the SHA-256 of its bearer token and when it expires.
pub struct NewSession {
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl NewSession {
    fn model(self, player_id: i64, now: DateTime<Utc>) -> session::ActiveModel {
        session::ActiveModel {
            token_hash: Set(self.token_hash),
            player_id: Set(player_id),
            created_at: Set(now),
            expires_at: Set(self.expires_at),
        }
    }
}

/// A player and its first session in one statement (PostgreSQL).
const REGISTER_SQL: &str = "WITH player AS ( \
       INSERT INTO players (username, username_key, password_hash, elo_rating, wins, losses, draws, created_at) \
       VALUES ($1, $2, $3, $4, 0, 0, 0, $5) RETURNING *), \
     session AS ( \
       INSERT INTO sessions (token_hash, player_id, created_at, expires_at) \
       SELECT $6, id, $5, $7 FROM player) \
     SELECT * FROM player";

/// One row of the leaderboard.
#[derive(Clone, Debug)]
pub struct LeaderboardRow {
    pub player_id: i64,
    pub username: String,
    pub elo_rating: i32,
    pub total_games: i64,
    pub wins: i64,
}

impl Cold {
    /// Inserts a player with its first session in one atomic write: a crash can't leave
    /// a registered name without the token that was to be its only credential (a
    /// guest's). [`ColdError::Duplicate`] when the username is taken
    /// (case-insensitively). On PostgreSQL it is one statement (one round trip, one
    /// commit); SQLite, which has no writes in `WITH`, uses a transaction.
    pub async fn create_player(
        &self,
        username: &str,
        password_hash: Option<String>,
        rating: i32,
        now: DateTime<Utc>,
        session: NewSession,
    ) -> Result<Player, ColdError> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                REGISTER_SQL,
                [
                    username.into(),
                    username.to_lowercase().into(),
                    password_hash.into(),
                    rating.into(),
                    now.into(),
                    session.token_hash.into(),
                    session.expires_at.into(),
                ],
            );
            return player::Entity::find()
                .from_raw_sql(statement)
                .one(&self.db)
                .await?
                .map(Player::from)
                .ok_or_else(|| ColdError::Database(sea_orm::DbErr::RecordNotInserted));
        }
        let model = player::ActiveModel {
            username: Set(username.to_string()),
            username_key: Set(username.to_lowercase()),
            password_hash: Set(password_hash),
            elo_rating: Set(rating),
            wins: Set(0),
            losses: Set(0),
            draws: Set(0),
            created_at: Set(now),
            bot_level: Set(None),
            ..Default::default()
        };
        let txn = self.db.begin().await?;
        let record = player::Entity::insert(model)
            .exec_with_returning(&txn)
            .await?;
        session::Entity::insert(session.model(record.id, now))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(record.into())
    }

    /// The account of the computer opponent of `level`, created on first use under
    /// `name` (a name people cannot register). Idempotent across instances: the unique
    /// index on the level makes a concurrent creation fail, and the winner's is read.
    pub async fn bot_player(&self, level: BotLevel, name: &str) -> Result<Player, ColdError> {
        if let Some(found) = self.find_bot(level).await? {
            return Ok(found);
        }
        let model = player::ActiveModel {
            username: Set(name.to_string()),
            username_key: Set(name.to_lowercase()),
            password_hash: Set(None),
            elo_rating: Set(crate::game::INITIAL_RATING),
            wins: Set(0),
            losses: Set(0),
            draws: Set(0),
            created_at: Set(Utc::now()),
            bot_level: Set(Some(level.as_str().to_string())),
            ..Default::default()
        };
        match player::Entity::insert(model)
            .exec(&self.db)
            .await
            .map_err(ColdError::from)
        {
            // Another instance created it first.
            Ok(_) | Err(ColdError::Duplicate(_)) => {}
            Err(err) => return Err(err),
        }
        self.find_bot(level)
            .await?
            .ok_or_else(|| ColdError::Database(sea_orm::DbErr::RecordNotInserted))
    }

    async fn find_bot(&self, level: BotLevel) -> Result<Option<Player>, ColdError> {
        Ok(player::Entity::find()
            .filter(player::Column::BotLevel.eq(level.as_str()))
            .one(&self.db)
            .await?
            .map(Player::from))
    }

    pub async fn player(&self, id: i64) -> Result<Option<Player>, ColdError> {
        Ok(player::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(Player::from))
    }

    pub async fn player_by_username(&self, username: &str) -> Result<Option<Player>, ColdError> {
        Ok(self.credentials(username).await?.map(|found| found.player))
    }

    /// The player of a username (regardless of case) with its password hash.
    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>, ColdError> {
        Ok(player::Entity::find()
            .filter(player::Column::UsernameKey.eq(username.to_lowercase()))
            .one(&self.db)
            .await?
            .map(|record| Credentials {
                password_hash: record.password_hash.clone(),
                player: record.into(),
            }))
    }

    /// Players by id, in no particular order.
    pub async fn players(&self, ids: &[i64]) -> Result<Vec<Player>, ColdError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(player::Entity::find()
            .filter(player::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Player::from)
            .collect())
    }

    pub async fn player_count(&self) -> Result<u64, ColdError> {
        Ok(player::Entity::find().count(&self.db).await?)
    }

    /// Opens another session of a player (a log-in).
    pub async fn create_session(
        &self,
        player_id: i64,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> Result<(), ColdError> {
        session::Entity::insert(session.model(player_id, now))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The player owning an unexpired session.
    pub async fn session_player(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Player>, ColdError> {
        // One round trip: this runs on every authenticated request.
        Ok(session::Entity::find_by_id(token_hash.to_string())
            .filter(session::Column::ExpiresAt.gt(now))
            .find_also_related(player::Entity)
            .one(&self.db)
            .await?
            .and_then(|(_, player)| player)
            .map(Player::from))
    }

    /// Highest ratings first; ties by fewer games, then by who registered first. Computer
    /// opponents are not ranked.
    pub async fn leaderboard(&self, limit: u64) -> Result<Vec<LeaderboardRow>, ColdError> {
        let rows = player::Entity::find()
            .filter(player::Column::BotLevel.is_null())
            .order_by_desc(player::Column::EloRating)
            .order_by_asc(player::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| LeaderboardRow {
                player_id: p.id,
                username: p.username,
                elo_rating: p.elo_rating,
                total_games: i64::from(p.wins + p.losses + p.draws),
                wins: i64::from(p.wins),
            })
            .collect())
    }
}

//! A registered player. `username_key` is the lower-cased username and is unique, so
//! "Alice" and "alice" can't both exist. Win/loss/draw counters are updated in the same
//! transaction as the rating.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "players")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    pub password_hash: Option<String>,
    pub elo_rating: i32,
    pub wins: i32,
    pub losses: i32,
    pub draws: i32,
    pub created_at: ChronoDateTimeUtc,
    /// The level of a computer opponent's account; `None` for people.
    pub bot_level: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! One applied move. `(game_id, move_number)` is unique: the same move can't be stored twice.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moves")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub game_id: String,
    pub move_number: i32,
    pub player_seat: i16,
    pub player_id: i64,
    pub column: i16,
    pub row: i16,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

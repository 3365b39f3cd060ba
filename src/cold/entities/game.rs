//! A game's durable record: who played, how it ended, the rating changes it caused.

use sea_orm::entity::prelude::*;

use crate::game::{EndReason, GameStatus, Seat};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "games")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub player1_id: i64,
    pub player2_id: Option<i64>,
    pub status: GameStatus,
    pub winner_id: Option<i64>,
    pub winner_seat: Option<i16>,
    pub is_draw: bool,
    pub end_reason: Option<EndReason>,
    pub move_time_limit_secs: i32,
    /// False for a casual game: its result moves no rating.
    pub rated: bool,
    /// The creator's colour choice: `first`, `second` or `random`.
    pub colour: String,
    pub move_count: i32,
    pub rematch_of: Option<String>,
    pub player1_rating_change: Option<i32>,
    pub player2_rating_change: Option<i32>,
    pub created_at: ChronoDateTimeUtc,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The seat `player_id` holds in this game, if any.
    pub fn seat_of(&self, player_id: i64) -> Option<Seat> {
        if self.player1_id == player_id {
            Some(Seat::One)
        } else if self.player2_id == Some(player_id) {
            Some(Seat::Two)
        } else {
            None
        }
    }
}

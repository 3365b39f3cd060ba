//! Read-only queries behind a player's profile page: the rating history (one row per
//! rated game, from the `ratings` table the settlement writes) and the record of two
//! players against each other.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{
    entities::{game, rating},
    Cold, ColdError,
};
use crate::game::GameStatus;

/// One player's results against one opponent, from the player's side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadToHead {
    pub wins: u64,
    pub losses: u64,
    pub draws: u64,
}

impl Cold {
    /// The player's latest `limit` rating changes, oldest first.
    pub async fn rating_history(
        &self,
        player_id: i64,
        limit: u64,
    ) -> Result<Vec<rating::Model>, ColdError> {
        let mut rows = rating::Entity::find()
            .filter(rating::Column::PlayerId.eq(player_id))
            .order_by_desc(rating::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.reverse();
        Ok(rows)
    }

    /// Finished games between `player_id` and `opponent_id`, counted from `player_id`'s side.
    pub async fn head_to_head(
        &self,
        player_id: i64,
        opponent_id: i64,
    ) -> Result<HeadToHead, ColdError> {
        let between = || {
            game::Entity::find()
                .filter(game::Column::Status.eq(GameStatus::Finished.as_str()))
                .filter(
                    Condition::any()
                        .add(
                            Condition::all()
                                .add(game::Column::Player1Id.eq(player_id))
                                .add(game::Column::Player2Id.eq(opponent_id)),
                        )
                        .add(
                            Condition::all()
                                .add(game::Column::Player1Id.eq(opponent_id))
                                .add(game::Column::Player2Id.eq(player_id)),
                        ),
                )
        };
        Ok(HeadToHead {
            wins: between()
                .filter(game::Column::WinnerId.eq(player_id))
                .count(&self.db)
                .await?,
            losses: between()
                .filter(game::Column::WinnerId.eq(opponent_id))
                .count(&self.db)
                .await?,
            draws: between()
                .filter(game::Column::IsDraw.eq(true))
                .count(&self.db)
                .await?,
        })
    }
}

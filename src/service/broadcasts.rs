//! The channels broadcasts travel on: one per game (moves, presence, rematches) and one
//! per player (matches found). [`Broadcasts`] owns their names; publishing goes through
//! the hot store (every instance's subscribers receive it, this one's included) and
//! subscribing through this instance's fan-out.

use std::sync::{atomic::Ordering::Relaxed, Arc};

use super::{domain::GameId, ServiceResult};
use crate::{
    fanout::{Fanout, FanoutError, Subscription},
    hot::{HotStore, Keys},
    telemetry::Metrics,
};

pub struct Broadcasts {
    hot: Arc<dyn HotStore>,
    fanout: Arc<dyn Fanout>,
    keys: Keys,
    metrics: Arc<Metrics>,
}

impl Broadcasts {
    pub fn new(
        hot: Arc<dyn HotStore>,
        fanout: Arc<dyn Fanout>,
        keys: Keys,
        metrics: Arc<Metrics>,
    ) -> Broadcasts {
        Broadcasts {
            hot,
            fanout,
            keys,
            metrics,
        }
    }

    /// Sends `event` to every socket of the game, on every instance.
    pub async fn to_game(&self, game_id: &GameId, event: &str) -> ServiceResult<()> {
        self.hot
            .publish(&self.keys.game_channel(game_id.as_str()), event)
            .await?;
        self.metrics.broadcasts_published.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Sends `event` to the player's lobby sockets, on every instance.
    pub async fn to_player(&self, player_id: i64, event: &str) -> ServiceResult<()> {
        self.hot
            .publish(&self.keys.player_channel(player_id), event)
            .await?;
        Ok(())
    }

    /// The game's protocol, for a socket of this instance.
    pub async fn subscribe_game(&self, game_id: &GameId) -> Result<Subscription, FanoutError> {
        self.fanout
            .subscribe(&self.keys.game_channel(game_id.as_str()))
            .await
    }

    /// The player's own protocol, for a lobby socket of this instance.
    pub async fn subscribe_player(&self, player_id: i64) -> Result<Subscription, FanoutError> {
        self.fanout
            .subscribe(&self.keys.player_channel(player_id))
            .await
    }
}

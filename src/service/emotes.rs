//! Quick emotes between the two players of a game: a fixed set ([`Emote`]), no free
//! text. An emote is not part of the game's record: it is published on the game's
//! channel (every instance delivers it to its sockets) and neither stored nor audited.
//! Each seat may send one per [`EMOTE_EVERY`], counted in the hot store so every
//! instance enforces the same budget; beyond it the answer is `rate_limited`.

use std::time::Duration;

use super::{games::Games, protocol, Emote, GameId, ServiceError, ServiceResult};
use crate::cold::Player;

/// One emote per seat per this long.
pub const EMOTE_EVERY: Duration = Duration::from_secs(2);

impl Games {
    /// `player` sends `emote` to the other seat of `game_id` (spectators see it too).
    /// Allowed once both seats are taken, including after the game ended.
    pub async fn send_emote(
        &self,
        player: &Player,
        game_id: &GameId,
        emote: Emote,
    ) -> ServiceResult<()> {
        let state = self.store.load(game_id).await?;
        let seat = state.seat_of(player.id).ok_or(ServiceError::NotAPlayer)?;
        if state.player2.is_none() {
            return Err(ServiceError::GameNotActive);
        }
        let key = self.keys.emote_limit(game_id.as_str(), seat.number());
        let (sent, window_left) = self.store.hot.count_attempt(&key, EMOTE_EVERY).await?;
        if sent > 1 {
            return Err(ServiceError::TooManyEmotes {
                retry_after: window_left,
            });
        }
        let event = protocol::emote_event(game_id.as_str(), seat.number(), player.id, emote);
        self.broadcasts.to_game(game_id, &event).await
    }
}

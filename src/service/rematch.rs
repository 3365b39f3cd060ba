//! Rematch votes. A seat of a finished game votes; when both seats have voted, a new
//! game starts for the same pair with colours swapped and the same options (clock,
//! rated or casual), announced to both. Decided under the finished game's lock: the
//! rematch is created once (a computer opponent accepts at once, and opens the rematch
//! since colours swap), and a creation interrupted by
//! a crash is found again (the new game's `rematch_of`) by the transaction that
//! reconciles the finished game.

use serde_json::json;

use super::{
    domain::GameId, games::Games, protocol, transaction::GameTx, views::PlayerRef, ServiceError,
    ServiceResult,
};
use crate::{audit::AuditEvent, cold::Player, game::GameStatus};

impl Games {
    /// `player` votes for a rematch of the finished game `game_id`.
    pub async fn vote_rematch(&self, player: &Player, game_id: &GameId) -> ServiceResult<()> {
        let tx = self.store.begin(game_id).await?;
        let seat = tx
            .state
            .seat_of(player.id)
            .ok_or(ServiceError::NotAPlayer)?;
        if !tx.state.status().is_over() || tx.state.status() == GameStatus::Cancelled {
            return Err(ServiceError::GameNotOver);
        }
        if let Some(new_game_id) = tx.state.rematch_game_id.clone() {
            drop(tx);
            let new_game = self.store.load(&GameId::parse(&new_game_id)?).await?;
            let event = protocol::rematch_event(game_id.as_str(), &new_game.view());
            return self.broadcasts.to_game(game_id, &event).await;
        }
        let mut votes = self.store.rematch_vote(game_id, seat).await?;
        let against_bot = tx
            .state
            .player(seat.other())
            .is_some_and(|p| p.bot.is_some());
        if votes < 2 && against_bot {
            // A computer opponent always accepts.
            votes = self.store.rematch_vote(game_id, seat.other()).await?;
        }
        if votes < 2 {
            drop(tx);
            self.audit
                .record(
                    AuditEvent::new("rematch_vote")
                        .game(game_id.as_str())
                        .player(player.id),
                )
                .await;
            let event = protocol::rematch_waiting_event(game_id.as_str(), seat.number());
            return self.broadcasts.to_game(game_id, &event).await;
        }
        self.open_rematch(tx, player, game_id).await
    }

    /// Both seats voted: opens the rematch under the finished game's lock.
    async fn open_rematch(
        &self,
        mut tx: GameTx<'_>,
        player: &Player,
        game_id: &GameId,
    ) -> ServiceResult<()> {
        let Some(previous_two) = tx.state.player2.as_ref() else {
            return Err(ServiceError::GameNotOver);
        };
        // The players as they are now (the finished game changed their ratings), colours
        // swapped.
        let (first, second) = self
            .current_players(previous_two.id, tx.state.player1.id)
            .await?;
        let new_id = GameId::random();
        tx.writing();
        let options = tx.state.options();
        let opened = self
            .open_game(&new_id, first, Some(second), options, Some(game_id))
            .await?;
        let new_game = opened.view();
        crate::failpoint::hit("rematch.after_create").await;
        let mut state = tx.state.clone();
        state.rematch_game_id = Some(new_id.to_string());
        let audit = AuditEvent::new("rematch")
            .game(game_id.as_str())
            .player(player.id)
            .data(json!({"new_game_id": new_id.as_str()}));
        let event = protocol::rematch_event(game_id.as_str(), &new_game);
        tx.commit(&state, vec![event], vec![audit]).await?;
        // Colours swap: in a rematch against a bot, the bot opens.
        self.bot_turn_if_owed(&opened);
        Ok(())
    }

    /// Two players as the database has them now.
    pub(super) async fn current_players(
        &self,
        first: i64,
        second: i64,
    ) -> ServiceResult<(PlayerRef, PlayerRef)> {
        let players = self.cold.players(&[first, second]).await?;
        let find = |id: i64| {
            players
                .iter()
                .find(|p| p.id == id)
                .map(PlayerRef::from)
                .ok_or(ServiceError::PlayerNotFound)
        };
        Ok((find(first)?, find(second)?))
    }
}

//! Draw offers. A seat of an active game offers a draw; the other seat accepts (the
//! game ends drawn, `draw_agreed`, rated as a draw when the game is rated) or declines.
//! The offer is part of the game's hot state, changed only under the game's lock by
//! the game transaction, so an offer made on one instance is answered on any other; it
//! changes no version, and lapses when a move is played (or the game ends). Offering
//! while the opponent's offer is pending accepts it.

use serde_json::json;

use super::{
    games::Games, protocol, transaction::GameTx, views::GameView, GameId, ServiceError,
    ServiceResult,
};
use crate::{
    audit::AuditEvent,
    cold::Player,
    game::{EndReason, GameStatus, Seat},
};

/// What a seat does about a draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum DrawAction {
    Offer,
    Accept,
    Decline,
}

impl Games {
    /// `player` offers, accepts or declines a draw in the active game `game_id`.
    pub async fn draw(
        &self,
        player: &Player,
        game_id: &GameId,
        action: DrawAction,
    ) -> ServiceResult<GameView> {
        let tx = self.store.begin(game_id).await?;
        let seat = tx
            .state
            .seat_of(player.id)
            .ok_or(ServiceError::NotAPlayer)?;
        match tx.state.status() {
            GameStatus::Active => {}
            GameStatus::Waiting => return Err(ServiceError::GameNotActive),
            _ => return Err(ServiceError::GameOver),
        }
        let pending = tx.state.draw_offer.and_then(Seat::from_number);
        match (action, pending) {
            // Offered already: nothing changes.
            (DrawAction::Offer, Some(offered)) if offered == seat => Ok(tx.state.view()),
            (DrawAction::Accept | DrawAction::Decline, Some(offered)) if offered == seat => {
                Err(ServiceError::OwnDrawOffer)
            }
            (DrawAction::Offer | DrawAction::Accept, Some(_)) => self.accept_draw(tx, player).await,
            (DrawAction::Decline, Some(_)) => self.set_draw_offer(tx, player, seat, None).await,
            (DrawAction::Offer, None) => self.set_draw_offer(tx, player, seat, Some(seat)).await,
            (DrawAction::Accept | DrawAction::Decline, None) => Err(ServiceError::NoDrawOffer),
        }
    }

    /// Records `seat`'s offer (`offer` is `Some`) or its refusal of the other's (`None`),
    /// and tells both seats.
    async fn set_draw_offer(
        &self,
        tx: GameTx<'_>,
        player: &Player,
        seat: Seat,
        offer: Option<Seat>,
    ) -> ServiceResult<GameView> {
        let mut state = tx.state.clone();
        state.draw_offer = offer.map(Seat::number);
        let game_id = state.id.clone();
        let (name, event) = match offer {
            Some(_) => (
                "draw_offered",
                protocol::draw_offered_event(&game_id, seat.number(), player.id),
            ),
            None => (
                "draw_declined",
                protocol::draw_declined_event(&game_id, seat.number(), player.id),
            ),
        };
        let audit = AuditEvent::new(name)
            .game(&game_id)
            .player(player.id)
            .seq(state.version())
            .data(json!({"player": seat.number()}));
        tx.commit(&state, vec![event], vec![audit]).await?;
        Ok(state.view())
    }

    /// Ends the game drawn by agreement (`game_over` with reason `draw_agreed`).
    async fn accept_draw(&self, tx: GameTx<'_>, player: &Player) -> ServiceResult<GameView> {
        self.end_game(
            tx,
            GameStatus::Finished,
            EndReason::DrawAgreed,
            None,
            Some(("draw_accepted", player)),
        )
        .await
    }
}

//! A game's life: create, join, cancel, and (in `moves.rs` and `rematch.rs`) moves,
//! resignations, the other endings and rematches. [`Games`] changes a game only through
//! the game transaction ([`GameStore::begin`]); creating one writes the database first,
//! then the hot state.

use std::sync::Arc;

use chrono::Utc;

use super::{
    bots::BotTurns,
    broadcasts::Broadcasts,
    domain::{Colour, GameId, GameOptions},
    protocol,
    state::GameState,
    transaction::{GameStore, GameTx},
    views::{GameView, PlayerRef},
    ServiceError, ServiceResult,
};
use crate::{
    audit::{AuditEvent, AuditLog},
    cold::{Cold, ColdError, NewGame, Player},
    config::MOVE_TIME_LIMIT_RANGE,
    game::{Board, Column, EndReason, GameStatus, Seat},
    hot::Keys,
    telemetry::Metrics,
};

/// What a creator may choose for a new game; the server's defaults fill the gaps.
#[derive(Clone, Copy, Debug, Default)]
pub struct GameChoices {
    /// The server default when absent.
    pub move_time_limit_secs: Option<u32>,
    /// Rated when absent.
    pub rated: Option<bool>,
    /// `first` when absent.
    pub colour: Option<Colour>,
}

pub struct Games {
    pub(super) store: Arc<GameStore>,
    pub(super) cold: Cold,
    pub(super) audit: Arc<AuditLog>,
    pub(super) broadcasts: Arc<Broadcasts>,
    pub(super) metrics: Arc<Metrics>,
    /// Names the emote rate-limit keys (`emotes.rs`).
    pub(super) keys: Keys,
    /// The move time limit of a game that does not choose one.
    default_move_time_limit_secs: u32,
    /// Where a commit that leaves a bot to move queues its turn.
    pub(super) bot_turns: BotTurns,
}

/// Why a waiting game was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cancellation {
    /// By its creator.
    Withdrawn,
    /// Nobody joined in time.
    Expired,
}

impl Cancellation {
    fn reason(self) -> &'static str {
        match self {
            Cancellation::Withdrawn => "cancelled",
            Cancellation::Expired => "expired",
        }
    }
}

impl Games {
    /// Changes games through `store`, with its database, audit log and metrics.
    pub fn new(
        store: Arc<GameStore>,
        broadcasts: Arc<Broadcasts>,
        keys: Keys,
        default_move_time_limit_secs: u32,
        bot_turns: BotTurns,
    ) -> Games {
        Games {
            cold: store.cold.clone(),
            audit: Arc::clone(&store.audit),
            metrics: Arc::clone(&store.metrics),
            store,
            broadcasts,
            keys,
            default_move_time_limit_secs,
            bot_turns,
        }
    }

    /// Creates a game with `player` as its creator (player one while it waits; the
    /// colour choice settles the seats when an opponent joins).
    pub async fn create_game(
        &self,
        player: &Player,
        choices: GameChoices,
    ) -> ServiceResult<GameView> {
        let options = GameOptions {
            move_time_limit_secs: self.move_time_limit(choices.move_time_limit_secs)?,
            rated: choices.rated.unwrap_or(true),
            colour: choices.colour.unwrap_or_default(),
        };
        let state = self
            .open_game(&GameId::random(), player.into(), None, options, None)
            .await?;
        Ok(state.view())
    }

    /// Starts a game of `player` against the computer opponent `bot`; it changes
    /// ratings only if `choices.rated` (unrated when absent; `colour` does not apply).
    /// The game starts from the position after the moves `start_from` (empty: the empty
    /// board), each played as the seat to move through the move pipeline (queueing no
    /// bot turn: the bot never has the move until the caller moves); `player` takes the
    /// side to move there (seat one after an even number of moves), the bot the other
    /// seat.
    pub(super) async fn open_against(
        &self,
        player: &Player,
        bot: &Player,
        choices: GameChoices,
        start_from: &[u8],
    ) -> ServiceResult<GameView> {
        check_start_position(start_from)?;
        let options = GameOptions {
            move_time_limit_secs: self.move_time_limit(choices.move_time_limit_secs)?,
            rated: choices.rated.unwrap_or(false),
            colour: Colour::First,
        };
        let seats = match start_from.len() % 2 {
            0 => [player, bot],
            _ => [bot, player],
        };
        let id = GameId::random();
        let first = seats[0].into();
        let mut state = self
            .open_game(&id, first, Some(seats[1].into()), options, None)
            .await?;
        for (index, &column) in start_from.iter().enumerate() {
            let column = Column::new(i64::from(column))?;
            state = self
                .play_start_move(&id, seats[index % 2], index, column)
                .await?;
        }
        Ok(state.view())
    }

    /// Queues the bot's turn when `state`, just committed, leaves a bot to move.
    pub(super) fn bot_turn_if_owed(&self, state: &GameState) {
        if state.status() == GameStatus::Active && state.bot_to_move().is_some() {
            if let Ok(game_id) = GameId::parse(&state.id) {
                self.bot_turns.owe(&game_id);
            }
        }
    }

    /// The chosen time limit, or the default; refused outside the allowed range.
    fn move_time_limit(&self, chosen: Option<u32>) -> ServiceResult<u32> {
        let limit = chosen.unwrap_or(self.default_move_time_limit_secs);
        if !MOVE_TIME_LIMIT_RANGE.contains(&limit) {
            return Err(ServiceError::InvalidParameter(format!(
                "move_time_limit_secs must be between {} and {}",
                MOVE_TIME_LIMIT_RANGE.start(),
                MOVE_TIME_LIMIT_RANGE.end()
            )));
        }
        Ok(limit)
    }

    /// Opens a matched game: `first` in seat one, `second` in seat two, playing at once,
    /// rated, with the default clock.
    pub(super) async fn open_matched(
        &self,
        first: PlayerRef,
        second: PlayerRef,
    ) -> ServiceResult<GameId> {
        let id = GameId::random();
        let options = GameOptions {
            move_time_limit_secs: self.default_move_time_limit_secs,
            rated: true,
            colour: Colour::First,
        };
        self.open_game(&id, first, Some(second), options, None)
            .await?;
        Ok(id)
    }

    /// Stores a new game (both layers) and audits it. With `player2` it starts at once.
    pub(super) async fn open_game(
        &self,
        id: &GameId,
        player1: PlayerRef,
        player2: Option<PlayerRef>,
        options: GameOptions,
        rematch_of: Option<&GameId>,
    ) -> ServiceResult<GameState> {
        let now = Utc::now();
        self.cold
            .insert_game(NewGame {
                id: id.as_str(),
                player1_id: player1.id,
                player2_id: player2.as_ref().map(|p| p.id),
                move_time_limit_secs: options.move_time_limit_secs,
                rated: options.rated,
                colour: options.colour.as_str(),
                rematch_of: rematch_of.map(GameId::as_str),
                now,
            })
            .await?;
        let state = GameState::new(id, player1, player2, options, now);
        self.store.create(&state).await?;
        self.audit
            .record(
                AuditEvent::new("game_created")
                    .game(id.as_str())
                    .player(state.player1.id)
                    .seq(state.version())
                    .data(serde_json::json!({
                        "player2_id": state.player2.as_ref().map(|p| p.id),
                        "move_time_limit_secs": options.move_time_limit_secs,
                        "rated": options.rated,
                        "colour": options.colour.as_str(),
                        "rematch_of": rematch_of.map(GameId::as_str),
                    })),
            )
            .await;
        Ok(state)
    }

    /// Seats `player` opposite the creator: in seat two, or in seat one when the creator
    /// asked to move second (or drew it with `random`).
    pub async fn join_game(&self, player: &Player, game_id: &GameId) -> ServiceResult<GameView> {
        let mut tx = self.store.begin(game_id).await?;
        if tx.state.player1.id == player.id {
            return Err(ServiceError::OwnGame);
        }
        match tx.state.status() {
            GameStatus::Waiting => {}
            GameStatus::Active => return Err(ServiceError::GameFull),
            _ => return Err(ServiceError::GameNotWaiting),
        }
        let now = Utc::now();
        let creator = tx.state.player1.clone();
        let (player1, player2) = match tx.state.colour.creator_seat() {
            Seat::One => (creator, PlayerRef::from(player)),
            Seat::Two => (PlayerRef::from(player), creator),
        };
        tx.writing();
        let seats = (player1.id, player2.id);
        match self.cold.start_game(game_id.as_str(), seats, now).await {
            Ok(true) => {}
            Ok(false) => return Err(tx.fail(no_longer_waiting(game_id)).await),
            Err(err) => return Err(tx.fail(err).await),
        }
        crate::failpoint::hit("join.after_start").await;
        let mut state = tx.state.clone();
        state.player1 = player1;
        state.player2 = Some(player2);
        state.status = GameStatus::Active;
        state.turn_deadline_ms = Some(state.deadline_after(now.timestamp_millis()));
        let view = state.view();
        let event = protocol::state_event(&view, None, Some("joined"));
        let joined = AuditEvent::new("game_joined")
            .game(game_id.as_str())
            .player(player.id)
            .seq(view.seq)
            .data(serde_json::json!({"player1_id": seats.0, "player2_id": seats.1}));
        tx.commit(&state, vec![event], vec![joined]).await?;
        Ok(view)
    }

    /// Withdraws a waiting game (its creator only).
    pub async fn cancel_game(&self, player: &Player, game_id: &GameId) -> ServiceResult<GameView> {
        let tx = self.store.begin(game_id).await?;
        if tx.state.player1.id != player.id {
            return Err(ServiceError::NotCreator);
        }
        if tx.state.status() != GameStatus::Waiting {
            return Err(ServiceError::GameNotWaiting);
        }
        self.cancel_locked(tx, Some(player.id), Cancellation::Withdrawn)
            .await
    }

    /// Cancels a waiting game under its lock (by its creator, or by the sweeper when
    /// nobody joined in time).
    pub(super) async fn cancel_locked(
        &self,
        mut tx: GameTx<'_>,
        by: Option<i64>,
        why: Cancellation,
    ) -> ServiceResult<GameView> {
        let game_id = tx.game_id().clone();
        tx.writing();
        match self.cold.cancel_game(game_id.as_str(), Utc::now()).await {
            Ok(true) => {}
            Ok(false) => return Err(tx.fail(no_longer_waiting(&game_id)).await),
            Err(err) => return Err(tx.fail(err).await),
        }
        let mut state = tx.state.clone();
        state.end(GameStatus::Cancelled, EndReason::Cancelled, None);
        let view = state.view();
        let event = protocol::state_event(&view, None, Some(why.reason()));
        let mut audit = AuditEvent::new("game_cancelled")
            .game(game_id.as_str())
            .seq(view.seq)
            .data(serde_json::json!({ "reason": why.reason() }));
        if let Some(player_id) = by {
            audit = audit.player(player_id);
        }
        tx.commit(&state, vec![event], vec![audit]).await?;
        Ok(view)
    }
}

fn no_longer_waiting(game_id: &GameId) -> ColdError {
    ColdError::Stale(format!("game {game_id} is no longer waiting"))
}

/// Refuses a starting position that is not a legal game still being played (at most
/// 41 moves, each a column from 0 to 6 with room, none after the game was won).
fn check_start_position(moves: &[u8]) -> ServiceResult<()> {
    let refused = |why: String| Err(ServiceError::InvalidMoveList(why));
    match Board::from_moves(moves) {
        Err((index, error)) => refused(format!(
            "move {} (column {}): {error}",
            index + 1,
            moves[index]
        )),
        Ok(board) if board.is_over() => refused("the position is already over".into()),
        Ok(_) => Ok(()),
    }
}

//! `/games`: lifecycle, moves over REST, and the read side of games.

use std::sync::Arc;

use poem_openapi::{param::Path, param::Query, payload::Json, ApiResponse, Object, OpenApi};

use super::{auth::Caller, error::ApiError, ApiTags};
use crate::{
    game::BotLevel,
    service::{
        views::{GameSummary, GameView, LiveGame, MoveEvent, MoveRecord, WaitingGame},
        AppState, Colour, DrawAction, Emote, GameChoices, GameId, ServiceError,
    },
};

#[derive(Object, Default)]
pub struct CreateGameRequest {
    /// Per-move time limit in seconds (5–600); the server default when absent.
    pub move_time_limit_secs: Option<u32>,
    /// False for a casual game, whose result moves no rating; true when absent.
    /// Ignored for a game against the computer (`BOT_GAMES_RATED` decides).
    pub rated: Option<bool>,
    /// The creator's colour: `first` (moves first, the default), `second` or `random`
    /// (drawn when an opponent joins). Against the computer the caller moves first.
    pub colour: Option<Colour>,
    /// Who to play: absent for a game that waits for a person; `{"bot": "easy"}`
    /// (or `medium`, `perfect`) for a game against the computer that starts at once,
    /// the caller in seat 1 (seat 2 after an odd-length `start_from`). Bot games are
    /// unrated unless the server says otherwise.
    pub opponent: Option<Opponent>,
    /// Against the computer only: the columns (0–6) of the moves of the position to play
    /// on from, a legal game not yet over (at most 41 moves; else 422
    /// `invalid_move_list`). The caller takes the side to move there (seat 1 after an
    /// even number of moves, else seat 2), the bot the other seat.
    pub start_from: Option<Vec<i64>>,
}

/// The opponent of a new game.
#[derive(Object)]
pub struct Opponent {
    /// The computer opponent's level: `easy`, `medium` or `perfect`.
    pub bot: String,
}

/// A draw offer or its answer.
#[derive(Object)]
pub struct DrawRequest {
    /// `offer` (accepts the opponent's pending offer, if any), `accept` or `decline`.
    pub action: DrawAction,
}

/// A quick emote to the other seat.
#[derive(Object)]
pub struct EmoteRequest {
    pub emote: Emote,
}

#[derive(ApiResponse)]
pub enum EmoteSent {
    /// Delivered to every socket of the game.
    #[oai(status = 204)]
    Sent,
}

/// A move. `player` (the prototype's field) is optional and checked against the
/// caller's seat; `game_id`, if sent, must match the path.
#[derive(Object)]
pub struct MoveRequest {
    pub game_id: Option<String>,
    pub player: Option<i64>,
    /// 0 (left) to 6 (right).
    pub column: i64,
}

/// The short status of a game.
#[derive(Object)]
pub struct GameStatusView {
    pub game_id: String,
    pub status: String,
    pub next_player: u8,
    pub winner: Option<u8>,
    pub draw: bool,
    pub seq: u64,
    pub move_count: u32,
}

#[derive(ApiResponse)]
pub enum GameCreated {
    /// The game was created; the caller is player 1 until an opponent joins.
    #[oai(status = 201)]
    Created(Json<GameView>),
}

pub struct GamesApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Games")]
impl GamesApi {
    /// Create a game
    ///
    /// Waiting for an opponent, or with `opponent.bot` against the computer, started at once.
    #[oai(path = "/games", method = "post")]
    async fn create(
        &self,
        auth: Caller,
        body: Json<CreateGameRequest>,
    ) -> Result<GameCreated, ApiError> {
        let player = auth.0;
        let view = match &body.opponent {
            Some(Opponent { bot }) => {
                let level = BotLevel::parse(bot)
                    .ok_or_else(|| ServiceError::UnknownBotLevel(bot.clone()))?;
                let start_from = start_columns(body.start_from.as_deref().unwrap_or_default())?;
                let limit = body.move_time_limit_secs;
                let bots = &self.state.bots;
                bots.start_game(&player, level, limit, &start_from).await?
            }
            None if body.start_from.is_some() => {
                return Err(ServiceError::InvalidParameter(
                    "start_from needs an opponent (a bot)".into(),
                )
                .into())
            }
            None => {
                let choices = GameChoices {
                    move_time_limit_secs: body.move_time_limit_secs,
                    rated: body.rated,
                    colour: body.colour,
                };
                self.state.games.create_game(&player, choices).await?
            }
        };
        Ok(GameCreated::Created(Json(view)))
    }

    /// Join a waiting game as player 2
    #[oai(path = "/games/:id/join", method = "post")]
    async fn join(&self, auth: Caller, id: Path<String>) -> Result<Json<GameView>, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.games.join_game(&player, &game_id).await?))
    }

    /// Cancel a waiting game (its creator only)
    #[oai(path = "/games/:id/cancel", method = "delete")]
    async fn cancel(&self, auth: Caller, id: Path<String>) -> Result<Json<GameView>, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.games.cancel_game(&player, &game_id).await?))
    }

    /// Play a move
    ///
    /// The same use-case as the WebSocket move; the move is broadcast to every socket of the game.
    #[oai(path = "/games/:id/move", method = "post")]
    async fn play(
        &self,
        auth: Caller,
        id: Path<String>,
        body: Json<MoveRequest>,
    ) -> Result<Json<MoveEvent>, ApiError> {
        if body
            .game_id
            .as_deref()
            .is_some_and(|game_id| game_id != id.0)
        {
            return Err(ApiError::Unprocessable(Json(super::error::ErrorBody::new(
                "invalid_body",
                "game_id in the body does not match the path",
            ))));
        }
        let player = auth.0;
        let column = self.state.games.column(body.column)?;
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(
            self.state
                .games
                .play_move(&player, &game_id, body.player, column)
                .await?,
        ))
    }

    /// Resign: the opponent wins
    #[oai(path = "/games/:id/resign", method = "post")]
    async fn resign(&self, auth: Caller, id: Path<String>) -> Result<Json<GameView>, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.games.resign(&player, &game_id).await?))
    }

    /// Abort a game before its second move
    ///
    /// Either seat may; the game ends `abandoned` with reason `aborted`, rating nothing.
    #[oai(path = "/games/:id/abort", method = "post")]
    async fn abort(&self, auth: Caller, id: Path<String>) -> Result<Json<GameView>, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.games.abort(&player, &game_id).await?))
    }

    /// Offer, accept or decline a draw
    ///
    /// An accepted offer ends the game drawn (`draw_agreed`); an offer lapses with the next move.
    #[oai(path = "/games/:id/draw", method = "post")]
    async fn draw(
        &self,
        auth: Caller,
        id: Path<String>,
        body: Json<DrawRequest>,
    ) -> Result<Json<GameView>, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        let games = &self.state.games;
        Ok(Json(games.draw(&player, &game_id, body.action).await?))
    }

    /// Send a quick emote to the other seat
    ///
    /// At most one every 2 s per seat (`rate_limited` beyond); not stored.
    #[oai(path = "/games/:id/emote", method = "post")]
    async fn emote(
        &self,
        auth: Caller,
        id: Path<String>,
        body: Json<EmoteRequest>,
    ) -> Result<EmoteSent, ApiError> {
        let player = auth.0;
        let game_id = GameId::parse(&id.0)?;
        let games = &self.state.games;
        games.send_emote(&player, &game_id, body.emote).await?;
        Ok(EmoteSent::Sent)
    }

    /// Games waiting for an opponent
    #[oai(path = "/games/waiting", method = "get")]
    async fn waiting(&self) -> Result<Json<Vec<WaitingGame>>, ApiError> {
        Ok(Json(self.state.views.waiting_games().await?))
    }

    /// Recently ended games
    #[oai(path = "/games/recent", method = "get")]
    async fn recent(
        &self,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u64>>,
    ) -> Result<Json<Vec<GameSummary>>, ApiError> {
        Ok(Json(
            self.state.views.recent_games(limit.0.unwrap_or(20)).await?,
        ))
    }

    /// Games in progress, with viewer counts
    #[oai(path = "/games/live", method = "get")]
    async fn live(&self) -> Result<Json<Vec<LiveGame>>, ApiError> {
        Ok(Json(self.state.views.live_games().await?))
    }

    /// The full state of a game
    #[oai(path = "/games/:id", method = "get")]
    async fn get(&self, id: Path<String>) -> Result<Json<GameView>, ApiError> {
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.views.game_view(&game_id).await?))
    }

    /// The short status of a game
    #[oai(path = "/games/:id/status", method = "get")]
    async fn status(&self, id: Path<String>) -> Result<Json<GameStatusView>, ApiError> {
        let view = self.state.views.game_view(&GameId::parse(&id.0)?).await?;
        Ok(Json(GameStatusView {
            game_id: view.game_id,
            status: view.status,
            next_player: view.next_player,
            winner: view.winner,
            draw: view.draw,
            seq: view.seq,
            move_count: view.move_count,
        }))
    }

    /// The moves of a game, in order (for replays)
    #[oai(path = "/games/:id/moves", method = "get")]
    async fn moves(&self, id: Path<String>) -> Result<Json<Vec<MoveRecord>>, ApiError> {
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.views.game_moves(&game_id).await?))
    }
}

/// The columns of a starting position, each 0 to 6 (its legality is the service's to check).
fn start_columns(columns: &[i64]) -> Result<Vec<u8>, ServiceError> {
    columns
        .iter()
        .map(|&column| u8::try_from(column).ok().filter(|&c| c < 7))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| {
            ServiceError::InvalidMoveList("every move must be a column from 0 to 6".into())
        })
}

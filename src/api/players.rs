//! `/players`: registration, the caller's own record, statistics and history.

use std::sync::Arc;

use poem_openapi::{param::Path, param::Query, payload::Json, ApiResponse, Object, OpenApi};

use poem::Request;

use super::{auth::Caller, client::client_address, error::ApiError, ApiTags};
use crate::{
    cold::Player,
    service::{
        views::{ActiveGame, HistoryEntry, PlayerStats},
        AppState, Password, Registered, ServiceError, Username,
    },
};

/// Registration: a guest (no password) or an account with a password.
#[derive(Object)]
pub struct RegisterRequest {
    /// 3–20 letters, digits, `_` or `-`; unique regardless of case.
    pub username: String,
    /// Optional, 8–128 characters. Without one the player is a guest whose token is its only credential.
    pub password: Option<String>,
}

/// A player with a fresh bearer token.
#[derive(Object)]
pub struct PlayerSession {
    pub id: i64,
    pub username: String,
    pub elo_rating: i32,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub guest: bool,
}

impl From<Registered> for PlayerSession {
    fn from(registered: Registered) -> Self {
        PlayerSession {
            guest: registered.player.guest,
            id: registered.player.id,
            username: registered.player.username,
            elo_rating: registered.player.elo_rating,
            token: registered.token,
        }
    }
}

/// The caller's own record.
#[derive(Object)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub elo_rating: i32,
    pub guest: bool,
}

impl From<Player> for Me {
    fn from(player: Player) -> Self {
        Me {
            guest: player.guest,
            id: player.id,
            username: player.username,
            elo_rating: player.elo_rating,
        }
    }
}

#[derive(ApiResponse)]
pub enum Created {
    /// The player was created.
    #[oai(status = 201)]
    Created(Json<PlayerSession>),
}

pub struct PlayersApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Players")]
impl PlayersApi {
    /// Register a player
    ///
    /// A taken username (case-insensitive) is a 409 `username_taken`, never a log-in.
    /// Sign-ups and log-ins from one address are limited (429 `rate_limited`), and so is
    /// password hashing (503 `server_busy`); both carry `Retry-After`.
    #[oai(path = "/players", method = "post")]
    async fn register(
        &self,
        req: &Request,
        body: Json<RegisterRequest>,
    ) -> Result<Created, ApiError> {
        let client = client_address(req, &self.state.config.trusted_proxies);
        let accounts = &self.state.accounts;
        accounts.admit(client).await?;
        let username = Username::parse(&body.username)?;
        let password = body.password.as_deref().map(Password::parse).transpose()?;
        let registered = accounts.register(&username, password.as_ref()).await?;
        Ok(Created::Created(Json(registered.into())))
    }

    /// The caller's own player record
    #[oai(path = "/players/me", method = "get")]
    async fn me(&self, auth: Caller) -> Result<Json<Me>, ApiError> {
        Ok(Json(auth.0.into()))
    }

    /// A player's statistics
    #[oai(path = "/players/:id/stats", method = "get")]
    async fn stats(&self, id: Path<i64>) -> Result<Json<PlayerStats>, ApiError> {
        Ok(Json(self.state.views.player_stats(id.0).await?))
    }

    /// A player's games, newest first, with the result from that player's side
    #[oai(path = "/players/:id/games", method = "get")]
    async fn games(
        &self,
        id: Path<i64>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u64>>,
    ) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
        Ok(Json(
            self.state
                .views
                .player_history(id.0, limit.0.unwrap_or(20))
                .await?,
        ))
    }

    /// The player's game that is waiting or in progress, or `null` when there is none
    ///
    /// "No game" is a normal answer (200 with `null`), not an error.
    #[oai(path = "/players/:id/active-game", method = "get")]
    async fn active_game(&self, id: Path<i64>) -> Result<Json<Option<ActiveGame>>, ApiError> {
        match self.state.views.active_game(id.0).await {
            Ok(game) => Ok(Json(Some(game))),
            Err(ServiceError::NoActiveGame) => Ok(Json(None)),
            Err(err) => Err(err.into()),
        }
    }
}

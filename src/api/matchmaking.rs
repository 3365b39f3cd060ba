//! `/matchmaking`: the rating-window queue. A match is also pushed on `/ws/lobby`.

use std::sync::Arc;

use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::{auth::Caller, error::ApiError, ApiTags};
use crate::{
    cold::Player,
    service::{views::MatchStatus, AppState, ServiceError},
};

/// The prototype's body; `player_id`, if sent, must be the caller.
#[derive(Object, Default)]
pub struct JoinQueueRequest {
    pub player_id: Option<i64>,
}

pub struct MatchmakingApi {
    pub state: Arc<AppState>,
}

impl MatchmakingApi {
    /// The caller, if `claimed` (a `player_id` in the path or body) is the caller's own.
    fn caller(auth: Caller, claimed: Option<i64>) -> Result<Player, ApiError> {
        if claimed.is_some_and(|id| id != auth.0.id) {
            return Err(ServiceError::NotYourself.into());
        }
        Ok(auth.0)
    }
}

#[OpenApi(tag = "ApiTags::Games")]
impl MatchmakingApi {
    /// Join the matchmaking queue
    ///
    /// Pairs at once when a compatible player waits (status `matched`), else `queued`.
    #[oai(path = "/matchmaking/join", method = "post")]
    async fn join(
        &self,
        auth: Caller,
        body: Json<JoinQueueRequest>,
    ) -> Result<Json<MatchStatus>, ApiError> {
        let player = Self::caller(auth, body.player_id)?;
        Ok(Json(self.state.matchmaking.join(&player).await?))
    }

    /// Where the caller stands in matchmaking
    #[oai(path = "/matchmaking/status/:player_id", method = "get")]
    async fn status(
        &self,
        auth: Caller,
        player_id: Path<i64>,
    ) -> Result<Json<MatchStatus>, ApiError> {
        let player = Self::caller(auth, Some(player_id.0))?;
        Ok(Json(self.state.matchmaking.status(&player).await?))
    }

    /// Leave the matchmaking queue
    #[oai(path = "/matchmaking/leave/:player_id", method = "delete")]
    async fn leave(
        &self,
        auth: Caller,
        player_id: Path<i64>,
    ) -> Result<Json<MatchStatus>, ApiError> {
        let player = Self::caller(auth, Some(player_id.0))?;
        Ok(Json(self.state.matchmaking.leave(&player).await?))
    }
}

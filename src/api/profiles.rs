//! `/profiles`: a player's public profile by username — record, rating history, and the
//! record against another player — for the app's profile page (`/player/<name>`).

use std::sync::Arc;

use poem_openapi::{param::Path, payload::Json, OpenApi};

use super::{error::ApiError, ApiTags};
use crate::service::{
    profiles::{HeadToHeadRecord, PlayerProfile},
    AppState,
};

pub struct ProfilesApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Players")]
impl ProfilesApi {
    /// A player's profile: record, peak rating and rating history (oldest first)
    ///
    /// The username matches regardless of case; 404 `player_not_found` if nobody has it.
    #[oai(path = "/profiles/:username", method = "get")]
    async fn profile(&self, username: Path<String>) -> Result<Json<PlayerProfile>, ApiError> {
        Ok(Json(self.state.profiles.profile(&username.0).await?))
    }

    /// Finished games between two players, counted from the first one's side
    #[oai(path = "/profiles/:username/versus/:opponent", method = "get")]
    async fn head_to_head(
        &self,
        username: Path<String>,
        opponent: Path<String>,
    ) -> Result<Json<HeadToHeadRecord>, ApiError> {
        Ok(Json(
            self.state
                .profiles
                .head_to_head(&username.0, &opponent.0)
                .await?,
        ))
    }
}

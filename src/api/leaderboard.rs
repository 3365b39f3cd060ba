//! `/leaderboard`: the highest ratings.

use std::sync::Arc;

use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::{error::ApiError, ApiTags};
use crate::service::{views::LeaderboardEntry, AppState};

pub struct LeaderboardApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Players")]
impl LeaderboardApi {
    /// Players by rating, highest first
    #[oai(path = "/leaderboard", method = "get")]
    async fn leaderboard(
        &self,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u64>>,
    ) -> Result<Json<Vec<LeaderboardEntry>>, ApiError> {
        Ok(Json(
            self.state.views.leaderboard(limit.0.unwrap_or(10)).await?,
        ))
    }
}

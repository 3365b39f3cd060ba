//! `/stats` and `/heartbeat`: cluster-wide counters and online presence.

use std::sync::Arc;

use poem_openapi::{payload::Json, Object, OpenApi};

use super::{auth::Caller, error::ApiError, ApiTags};
use crate::service::{views::ClusterStats, AppState};

#[derive(Object)]
pub struct HeartbeatReply {
    /// Players seen in the last minute, over the whole cluster.
    pub online_players: u64,
}

pub struct StatsApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Stats")]
impl StatsApi {
    /// Counters over the whole cluster
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self) -> Result<Json<ClusterStats>, ApiError> {
        Ok(Json(self.state.views.cluster_stats().await?))
    }

    /// Mark the caller online
    #[oai(path = "/heartbeat", method = "post")]
    async fn heartbeat(&self, auth: Caller) -> Result<Json<HeartbeatReply>, ApiError> {
        let player = auth.0;
        Ok(Json(HeartbeatReply {
            online_players: self.state.connections.heartbeat(player.id).await?,
        }))
    }
}

//! Health probes for load balancers and orchestrators.

use std::sync::Arc;

use poem_openapi::{payload::Json, ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::service::AppState;

#[derive(Object)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    pub instance: String,
    /// Why the instance is not ready, if it is not.
    pub reason: Option<String>,
}

#[derive(ApiResponse)]
pub enum Readiness {
    /// Ready to take traffic.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// A store is unreachable or the instance is draining.
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

pub struct HealthApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Operations")]
impl HealthApi {
    /// Liveness: the process answers
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
            instance: self.state.instance().to_string(),
            reason: None,
        })
    }

    /// Readiness: both stores answer and the instance is not draining
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self) -> Readiness {
        let instance = self.state.instance().to_string();
        let reason = if self.state.drain.is_draining() {
            Some("draining".to_string())
        } else {
            self.state.check_ready().await.err().map(|err| {
                err.report();
                err.to_string()
            })
        };
        match reason {
            None => Readiness::Ready(Json(Health {
                status: "ok".into(),
                instance,
                reason: None,
            })),
            Some(reason) => Readiness::NotReady(Json(Health {
                status: "unavailable".into(),
                instance,
                reason: Some(reason),
            })),
        }
    }
}

//! `/sessions`: logging in again with a password.

use std::sync::Arc;

use poem_openapi::{payload::Json, Object, OpenApi};

use super::{error::ApiError, players::PlayerSession, ApiTags};
use crate::service::Arena;

#[derive(Object)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

pub struct SessionsApi {
    pub arena: Arc<Arena>,
}

#[OpenApi(tag = "ApiTags::Players")]
impl SessionsApi {
    /// Log in with a password
    ///
    /// Returns a new token. Guests have no password and can't log in (401 `invalid_credentials`).
    #[oai(path = "/sessions", method = "post")]
    async fn login(&self, body: Json<LoginRequest>) -> Result<Json<PlayerSession>, ApiError> {
        Ok(Json(
            self.arena
                .login(&body.username, &body.password)
                .await?
                .into(),
        ))
    }
}

//! `/sessions`: logging in again with a password.

use std::sync::Arc;

use poem_openapi::{payload::Json, Object, OpenApi};

use poem::Request;

use super::{client::client_address, error::ApiError, players::PlayerSession, ApiTags};
use crate::service::{AppState, Username};

#[derive(Object)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

pub struct SessionsApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Players")]
impl SessionsApi {
    /// Log in with a password
    ///
    /// Returns a new token. Guests have no password and can't log in (401 `invalid_credentials`).
    /// Too many attempts on one account are a 429 `too_many_attempts` until the window
    /// closes; too many from one address a 429 `rate_limited` (both with `Retry-After`).
    #[oai(path = "/sessions", method = "post")]
    async fn login(
        &self,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> Result<Json<PlayerSession>, ApiError> {
        let client = client_address(req, &self.state.config.trusted_proxies);
        let accounts = &self.state.accounts;
        accounts.admit(client).await?;
        // A name that breaks the rules can't exist; it gets the same work and answer
        // as an unknown one.
        let username = Username::parse(&body.username).ok();
        let session = accounts.login(username.as_ref(), &body.password).await?;
        Ok(Json(session.into()))
    }
}

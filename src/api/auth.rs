//! Bearer authentication as a poem-openapi security scheme: the spec (and `/docs`)
//! shows which operations need a token, and a handler that takes a [`Caller`] runs
//! only for a valid one. The checker asks [`Accounts::authenticate`] whom the token
//! belongs to; a missing or malformed header is the framework's `AuthorizationError`
//! and an unknown or expired token the service's `Unauthorized`, both 401
//! `unauthorized` (`error.rs`).

use std::sync::Arc;

use poem::Request;
use poem_openapi::{auth::Bearer, SecurityScheme};

use super::error::ApiError;
use crate::{
    cold::Player,
    service::{Accounts, AppState},
};

/// `Authorization: Bearer <token>` from `POST /players` or `POST /sessions`.
// Holds the player the token belongs to, found by the checker.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "BearerToken", checker = "authenticate")]
pub struct Caller(pub Player);

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Player> {
    let state = req.data::<Arc<AppState>>().ok_or_else(|| {
        poem::Error::from_string(
            "no application state in the request",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    check(&state.accounts, &bearer.token).await
}

/// The player behind `token`, or the 401 the API answers.
async fn check(accounts: &Accounts, token: &str) -> poem::Result<Player> {
    accounts.authenticate(token).await.map_err(|err| {
        poem::Error::from_response(poem::IntoResponse::into_response(ApiError::from(err)))
    })
}

//! Bearer authentication. The scheme only extracts the token (and documents it in the
//! spec); [`Accounts::authenticate`] decides whom it belongs to.

use poem_openapi::{auth::Bearer, SecurityScheme};

use super::error::ApiError;
use crate::{cold::Player, service::Accounts};

/// `Authorization: Bearer <token>` from `POST /players` or `POST /sessions`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct BearerToken(Bearer);

impl BearerToken {
    /// The player behind the token, or 401.
    pub async fn player(&self, accounts: &Accounts) -> Result<Player, ApiError> {
        Ok(accounts.authenticate(&self.0.token).await?)
    }
}

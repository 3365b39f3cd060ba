//! Bearer authentication. The scheme only extracts the token (and documents it in the
//! spec); [`Arena::authenticate`] decides whom it belongs to.

use poem_openapi::{auth::Bearer, SecurityScheme};

use super::error::ApiError;
use crate::{cold::PlayerRecord, service::Arena};

/// `Authorization: Bearer <token>` from `POST /players` or `POST /sessions`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct BearerToken(Bearer);

impl BearerToken {
    /// The player behind the token, or 401.
    pub async fn player(&self, arena: &Arena) -> Result<PlayerRecord, ApiError> {
        Ok(arena.authenticate(&self.0.token).await?)
    }
}

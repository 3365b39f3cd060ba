//! Accounts that can't be hijacked. Registering a taken username is refused (never a
//! log-in as that player). A guest's random token is its only credential; a player with
//! a password can log in again. Passwords are hashed with argon2 off the async threads;
//! tokens are 256 random bits, stored only as their SHA-256.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Arena, ServiceError, ServiceResult};
use crate::{
    audit::AuditEvent,
    cold::{ColdError, PlayerRecord},
    game::INITIAL_RATING,
};

/// How long a session token stays valid.
const SESSION_DAYS: i64 = 30;
const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=20;
const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=128;

/// How long a looked-up session is reused.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// The cache is emptied when it grows past this many sessions.
const SESSION_CACHE_MAX: usize = 50_000;

/// Recently authenticated sessions of this instance, by token hash.
#[derive(Default)]
pub struct SessionCache(Mutex<HashMap<String, (Instant, PlayerRecord)>>);

impl SessionCache {
    fn get(&self, token_hash: &str) -> Option<PlayerRecord> {
        let sessions = self.0.lock().ok()?;
        sessions
            .get(token_hash)
            .filter(|(at, _)| at.elapsed() < SESSION_CACHE_TTL)
            .map(|(_, player)| player.clone())
    }

    fn put(&self, token_hash: String, player: PlayerRecord) {
        if let Ok(mut sessions) = self.0.lock() {
            if sessions.len() >= SESSION_CACHE_MAX {
                sessions.clear();
            }
            sessions.insert(token_hash, (Instant::now(), player));
        }
    }
}

/// A player with a fresh token.
pub struct Registered {
    pub player: PlayerRecord,
    pub token: String,
}

/// The player behind a valid token.
pub type Session = PlayerRecord;

/// Checks the username rules; the message says which rule failed.
pub fn validate_username(username: &str) -> ServiceResult<()> {
    let length = username.chars().count();
    if !USERNAME_LEN.contains(&length) {
        return Err(ServiceError::InvalidUsername(format!(
            "Username must be {} to {} characters long",
            USERNAME_LEN.start(),
            USERNAME_LEN.end()
        )));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ServiceError::InvalidUsername(
            "Username may contain only letters, digits, '_' and '-'".into(),
        ));
    }
    Ok(())
}

fn validate_password(password: &str) -> ServiceResult<()> {
    if !PASSWORD_LEN.contains(&password.chars().count()) {
        return Err(ServiceError::InvalidPassword(format!(
            "Password must be {} to {} characters long",
            PASSWORD_LEN.start(),
            PASSWORD_LEN.end()
        )));
    }
    Ok(())
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|_| ServiceError::Unavailable)?
    .map_err(|err| {
        tracing::error!(error = %err, "password hashing failed");
        ServiceError::Unavailable
    })
}

async fn password_matches(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

impl Arena {
    /// Creates a player (a guest when `password` is `None`) and a session.
    pub async fn register(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> ServiceResult<Registered> {
        let username = username.trim();
        validate_username(username)?;
        let password_hash = match password {
            Some(password) => {
                validate_password(password)?;
                Some(hash_password(password.to_string()).await?)
            }
            None => None,
        };
        let guest = password_hash.is_none();
        let player = match self
            .cold
            .create_player(username, password_hash, INITIAL_RATING, Utc::now())
            .await
        {
            Ok(player) => player,
            Err(ColdError::Duplicate(_)) => {
                return Err(ServiceError::UsernameTaken(username.to_string()))
            }
            Err(err) => return Err(err.into()),
        };
        let token = self.open_session(player.id).await?;
        self.audit(
            AuditEvent::new("player_registered")
                .player(player.id)
                .data(serde_json::json!({"username": player.username, "guest": guest})),
        )
        .await;
        Ok(Registered { player, token })
    }

    /// Logs a player with a password in again, with a new session.
    pub async fn login(&self, username: &str, password: &str) -> ServiceResult<Registered> {
        let player = self
            .cold
            .player_by_username(username.trim())
            .await?
            .ok_or(ServiceError::InvalidCredentials)?;
        let Some(stored) = player.password_hash.clone() else {
            return Err(ServiceError::InvalidCredentials);
        };
        if !password_matches(password.to_string(), stored).await {
            return Err(ServiceError::InvalidCredentials);
        }
        let token = self.open_session(player.id).await?;
        self.audit(AuditEvent::new("player_logged_in").player(player.id))
            .await;
        Ok(Registered { player, token })
    }

    /// The player a bearer token belongs to. A REST client sends its token with every
    /// request, so a positive answer is reused for [`SESSION_CACHE_TTL`] (the record's
    /// rating may lag that long; unknown tokens are always looked up).
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Session> {
        if token.is_empty() || token.len() > 128 {
            return Err(ServiceError::Unauthorized);
        }
        let token_hash = hash_token(token);
        if let Some(player) = self.sessions.get(&token_hash) {
            return Ok(player);
        }
        let player = self
            .cold
            .session_player(&token_hash, Utc::now())
            .await?
            .ok_or(ServiceError::Unauthorized)?;
        self.sessions.put(token_hash, player.clone());
        Ok(player)
    }

    async fn open_session(&self, player_id: i64) -> ServiceResult<String> {
        let token = new_token();
        let now = Utc::now();
        self.cold
            .create_session(
                player_id,
                hash_token(&token),
                now,
                now + chrono::Duration::days(SESSION_DAYS),
            )
            .await?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(validate_username("alice_01").is_ok());
        assert!(validate_username("a-b").is_ok());
        assert!(matches!(
            validate_username("ab"),
            Err(ServiceError::InvalidUsername(_))
        ));
        assert!(matches!(
            validate_username(&"x".repeat(21)),
            Err(ServiceError::InvalidUsername(_))
        ));
        assert!(matches!(
            validate_username("bob smith"),
            Err(ServiceError::InvalidUsername(_))
        ));
        assert!(matches!(
            validate_username("<script>"),
            Err(ServiceError::InvalidUsername(_))
        ));
        assert!(matches!(
            validate_username("ünï"),
            Err(ServiceError::InvalidUsername(_))
        ));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}

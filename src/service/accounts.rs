//! Accounts that can't be hijacked. Registering a taken username is refused (never a
//! log-in as that player). A guest's random token is its only credential; a player with
//! a password can log in again. Tokens are 256 random bits, stored only as their SHA-256.
//!
//! Accounts that can't be used to take the server down or to list its players:
//! - argon2 runs on the blocking pool, at most `PASSWORD_HASH_CONCURRENCY` hashes at
//!   once (each needs 19 MiB); a request that can't get a slot within
//!   `PASSWORD_HASH_WAIT_MS` is refused with `server_busy` instead of piling up;
//! - every log-in attempt on an account counts in the hot store (shared by all
//!   instances); past `LOGIN_ATTEMPTS_PER_ACCOUNT` in the window the account answers
//!   `too_many_attempts` until the window closes, right password or not. A success
//!   clears the count. Sign-ups and log-ins also count per client address;
//! - an unknown name or a guest costs the same argon2 verification as a wrong password
//!   (against a dummy hash made once), so timing does not tell which names exist.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use tokio::sync::Semaphore;

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{
    domain::{Password, Username},
    ServiceError, ServiceResult,
};
use crate::{
    audit::{AuditEvent, AuditLog},
    cold::{Cold, ColdError, NewSession, Player},
    config::Limits,
    game::INITIAL_RATING,
    hot::{HotStore, Keys},
};

/// How long a session token stays valid.
const SESSION_DAYS: i64 = 30;

/// How long a looked-up session is reused.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most sessions kept in the cache.
const SESSION_CACHE_MAX: u64 = 50_000;

/// A player with a fresh token.
pub struct Registered {
    pub player: Player,
    pub token: String,
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// When a request that found no hashing slot should try again.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Argon2 work, bounded: see the module doc.
struct Passwords {
    slots: Arc<Semaphore>,
    wait: Duration,
    /// A hash of a random password with the same parameters as real ones, verified
    /// when there is no real hash to verify against.
    dummy: Arc<OnceLock<String>>,
}

impl Passwords {
    fn new(limits: &Limits) -> Passwords {
        Passwords {
            slots: Arc::new(Semaphore::new(limits.hash_concurrency.max(1))),
            wait: limits.hash_wait,
            dummy: Arc::default(),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free. The slot is held by the
    /// blocking task itself, so a client that gives up does not free it early.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| ServiceError::ServerBusy {
                retry_after: BUSY_RETRY_AFTER,
            })?
            .map_err(|_| ServiceError::Unavailable)?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(slot);
            done
        })
        .await
        .map_err(|_| ServiceError::Unavailable)
    }

    async fn hash(&self, password: String) -> ServiceResult<String> {
        self.run(move || hash_now(&password)).await?.map_err(|err| {
            tracing::error!(error = %err, "password hashing failed");
            ServiceError::Unavailable
        })
    }

    /// Whether `password` matches `stored`; with no stored hash, the same work is done
    /// against the dummy hash and the answer is no.
    async fn verify(&self, password: String, stored: Option<String>) -> ServiceResult<bool> {
        let dummy = Arc::clone(&self.dummy);
        self.run(move || {
            let real = stored.is_some();
            let stored = stored.unwrap_or_else(|| {
                dummy
                    .get_or_init(|| {
                        let mut random = [0u8; 16];
                        rand::thread_rng().fill_bytes(&mut random);
                        hash_now(&hex::encode(random)).unwrap_or_default()
                    })
                    .clone()
            });
            let matches = PasswordHash::new(&stored)
                .map(|hash| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
                .unwrap_or(false);
            real && matches
        })
        .await
    }
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
}

/// Sign-ups, log-ins and sessions. Owns the players' credentials and sessions (in the
/// database) and the attempt counters (in the hot store).
pub struct Accounts {
    cold: Cold,
    hot: Arc<dyn HotStore>,
    keys: Keys,
    audit: Arc<AuditLog>,
    limits: Limits,
    passwords: Passwords,
    /// Recently authenticated sessions of this instance, by token hash.
    sessions: moka::future::Cache<String, Player>,
}

impl Accounts {
    pub fn new(
        cold: Cold,
        hot: Arc<dyn HotStore>,
        keys: Keys,
        audit: Arc<AuditLog>,
        limits: Limits,
    ) -> Accounts {
        Accounts {
            passwords: Passwords::new(&limits),
            cold,
            hot,
            keys,
            audit,
            limits,
            sessions: moka::future::Cache::builder()
                .max_capacity(SESSION_CACHE_MAX)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
        }
    }

    /// Counts a sign-up or log-in from `client`; refuses it past the address budget.
    /// Every attempt counts, whether or not what it sends is valid.
    pub async fn admit(&self, client: IpAddr) -> ServiceResult<()> {
        let (attempts, left) = self
            .hot
            .count_attempt(
                &self.keys.address_attempts(client),
                self.limits.address_window,
            )
            .await?;
        if attempts > self.limits.auth_attempts_per_address {
            return Err(ServiceError::RateLimited { retry_after: left });
        }
        Ok(())
    }

    /// Creates a player (a guest when `password` is `None`) and a session.
    pub async fn register(
        &self,
        username: &Username,
        password: Option<&Password>,
    ) -> ServiceResult<Registered> {
        let password_hash = match password {
            Some(password) => Some(self.passwords.hash(password.expose().to_string()).await?),
            None => None,
        };
        let (token, session) = new_session();
        let token_hash = session.token_hash.clone();
        let player = match self
            .cold
            .create_player(
                username.as_str(),
                password_hash,
                INITIAL_RATING,
                Utc::now(),
                session,
            )
            .await
        {
            Ok(player) => player,
            Err(ColdError::Duplicate(_)) => {
                return Err(ServiceError::UsernameTaken(username.as_str().to_string()))
            }
            Err(err) => return Err(err.into()),
        };
        // A new player's next request (creating or joining a game) comes within the
        // cache's lifetime: when it reaches this instance, no lookup.
        self.sessions.insert(token_hash, player.clone()).await;
        self.audit
            .record(
                AuditEvent::new("player_registered")
                    .player(player.id)
                    .data(serde_json::json!({"username": player.username, "guest": player.guest})),
            )
            .await;
        Ok(Registered { player, token })
    }

    /// Logs a player with a password in again, with a new session. Every attempt
    /// counts against the account (see the module doc) before the password is checked,
    /// so concurrent guesses can't slip past the limit. A name that breaks the rules
    /// (`None`) can't exist: nothing to count, the same work, the same answer.
    pub async fn login(
        &self,
        username: Option<&Username>,
        password: &str,
    ) -> ServiceResult<Registered> {
        let account = username.map(|name| self.keys.login_attempts(name.as_str()));
        if let Some(account) = &account {
            let (attempts, left) = self
                .hot
                .count_attempt(account, self.limits.login_window)
                .await?;
            if attempts > self.limits.login_attempts_per_account {
                return Err(ServiceError::TooManyAttempts { retry_after: left });
            }
        }
        let found = match username {
            Some(name) => self.cold.credentials(name.as_str()).await?,
            None => None,
        };
        let (player, stored) = match found {
            Some(found) => (Some(found.player), found.password_hash),
            None => (None, None),
        };
        let matches = self.passwords.verify(password.to_string(), stored).await?;
        let Some(player) = player.filter(|_| matches) else {
            return Err(ServiceError::InvalidCredentials);
        };
        if let Some(account) = &account {
            self.hot.clear_attempts(account).await?;
        }
        let token = self.open_session(player.id).await?;
        self.audit
            .record(AuditEvent::new("player_logged_in").player(player.id))
            .await;
        Ok(Registered { player, token })
    }

    /// The player a bearer token belongs to. A REST client sends its token with every
    /// request, so a positive answer is reused for [`SESSION_CACHE_TTL`] (the record's
    /// rating may lag that long; unknown tokens are always looked up).
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Player> {
        if token.is_empty() || token.len() > 128 {
            return Err(ServiceError::Unauthorized);
        }
        let token_hash = hash_token(token);
        if let Some(player) = self.sessions.get(&token_hash).await {
            return Ok(player);
        }
        let player = self
            .cold
            .session_player(&token_hash, Utc::now())
            .await?
            .ok_or(ServiceError::Unauthorized)?;
        self.sessions.insert(token_hash, player.clone()).await;
        Ok(player)
    }

    async fn open_session(&self, player_id: i64) -> ServiceResult<String> {
        let (token, session) = new_session();
        self.cold
            .create_session(player_id, session, Utc::now())
            .await?;
        Ok(token)
    }
}

/// A new bearer token and the session that stores its hash.
fn new_session() -> (String, NewSession) {
    let token = new_token();
    let session = NewSession {
        token_hash: hash_token(&token),
        expires_at: Utc::now() + chrono::Duration::days(SESSION_DAYS),
    };
    (token, session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}

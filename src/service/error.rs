//! The one error type of the use-cases. Every variant has a stable machine code
//! ([`ServiceError::code`]); the API layer maps variants to HTTP statuses in one place.
//! A store failure keeps its cause ([`std::error::Error::source`]); it is logged and
//! counted once, at the edge that answers it ([`ServiceError::report`]: the API's error
//! mapping, a socket's error message, a background task), and reaches clients only as
//! `unavailable` (its details may hold hostnames).

use std::time::Duration;

use crate::{cold::ColdError, game::MoveError, hot::HotError, telemetry};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Missing, unknown or expired token")]
    Unauthorized,
    #[error("Wrong username or password")]
    InvalidCredentials,
    #[error("Username {0:?} is already taken")]
    UsernameTaken(String),
    #[error("{0}")]
    InvalidUsername(String),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Unknown bot level {0:?}: choose easy, medium or perfect")]
    UnknownBotLevel(String),
    #[error("{0}")]
    InvalidMoveList(String),
    #[error("Game not found")]
    GameNotFound,
    #[error("Player not found")]
    PlayerNotFound,
    #[error("No game in progress")]
    NoActiveGame,
    #[error("You are not a player of this game")]
    NotAPlayer,
    #[error("You play seat {actual}, not seat {claimed}")]
    WrongPlayer { claimed: u8, actual: u8 },
    #[error("Only the creator of a game can cancel it")]
    NotCreator,
    #[error("You can only act for yourself")]
    NotYourself,
    #[error("The game already has two players")]
    GameFull,
    #[error("You cannot join your own game")]
    OwnGame,
    #[error("The game is not waiting for a player")]
    GameNotWaiting,
    #[error("The game has not started yet")]
    GameNotActive,
    #[error("It is not your turn")]
    NotYourTurn,
    #[error("That column is full")]
    ColumnFull,
    #[error("Column must be between 0 and 6")]
    ColumnOutOfRange,
    #[error("The game is over")]
    GameOver,
    #[error("The game has not ended yet")]
    GameNotOver,
    #[error("There is no draw offer from your opponent to answer")]
    NoDrawOffer,
    #[error("You cannot answer your own draw offer")]
    OwnDrawOffer,
    #[error("A game can be aborted only before its second move")]
    TooLateToAbort,
    #[error("You already have a game in progress")]
    AlreadyInGame,
    #[error("The game is busy; retry")]
    Busy,
    #[error("The game changed while your request was applied; retry")]
    StateChanged,
    #[error("A backing store is unavailable; retry later")]
    Unavailable,
    #[error("A backing store is unavailable; retry later")]
    Database(#[from] ColdError),
    #[error("A backing store is unavailable; retry later")]
    HotStore(#[from] HotError),
    #[error("Too many log-in attempts for this account; try again in {} s", retry_secs(.retry_after))]
    TooManyAttempts { retry_after: Duration },
    #[error("Too many sign-ups or log-ins from your address; try again in {} s", retry_secs(.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("One emote every 2 s; try again in {} s", retry_secs(.retry_after))]
    TooManyEmotes { retry_after: Duration },
    #[error("The server is busy; retry in {} s", retry_secs(.retry_after))]
    ServerBusy { retry_after: Duration },
}

/// Whole seconds to wait, rounded up (a `Retry-After` of 0 would invite a hammering).
pub fn retry_secs(wait: &Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0 || wait.is_zero())
}

impl ServiceError {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::UsernameTaken(_) => "username_taken",
            Self::InvalidUsername(_) => "invalid_username",
            Self::InvalidPassword(_) => "invalid_password",
            Self::InvalidParameter(_) => "invalid_parameter",
            Self::UnknownBotLevel(_) => "unknown_bot_level",
            Self::InvalidMoveList(_) => "invalid_move_list",
            Self::GameNotFound => "game_not_found",
            Self::PlayerNotFound => "player_not_found",
            Self::NoActiveGame => "no_active_game",
            Self::NotAPlayer => "not_a_player",
            Self::WrongPlayer { .. } => "wrong_player",
            Self::NotCreator => "not_creator",
            Self::NotYourself => "not_yourself",
            Self::GameFull => "game_full",
            Self::OwnGame => "own_game",
            Self::GameNotWaiting => "game_not_waiting",
            Self::GameNotActive => "game_not_active",
            Self::NotYourTurn => "not_your_turn",
            Self::ColumnFull => "column_full",
            Self::ColumnOutOfRange => "column_out_of_range",
            Self::GameOver => "game_over",
            Self::GameNotOver => "game_not_over",
            Self::NoDrawOffer => "no_draw_offer",
            Self::OwnDrawOffer => "own_draw_offer",
            Self::TooLateToAbort => "too_late_to_abort",
            Self::AlreadyInGame => "already_in_game",
            Self::Busy => "game_busy",
            Self::StateChanged => "state_changed",
            Self::Unavailable | Self::Database(_) | Self::HotStore(_) => "unavailable",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::RateLimited { .. } | Self::TooManyEmotes { .. } => "rate_limited",
            Self::ServerBusy { .. } => "server_busy",
        }
    }

    /// How long the client should wait before retrying, when the error says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooManyAttempts { retry_after }
            | Self::RateLimited { retry_after }
            | Self::TooManyEmotes { retry_after }
            | Self::ServerBusy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<MoveError> for ServiceError {
    fn from(err: MoveError) -> Self {
        match err {
            MoveError::ColumnOutOfRange => Self::ColumnOutOfRange,
            MoveError::ColumnFull => Self::ColumnFull,
            MoveError::GameOver => Self::GameOver,
            MoveError::WrongTurn => Self::NotYourTurn,
        }
    }
}

impl ServiceError {
    /// Logs and counts a store failure, with its cause; other errors are answers, not
    /// failures, and are left to the caller. Called once per error, where it is answered.
    pub fn report(&self) {
        match self {
            Self::Database(cause) => {
                telemetry::count_store_error(telemetry::Store::Database);
                tracing::error!(error = %cause, "database operation failed");
            }
            Self::HotStore(cause) => {
                telemetry::count_store_error(telemetry::Store::Redis);
                tracing::error!(error = %cause, "hot store operation failed");
            }
            _ => {}
        }
    }
}

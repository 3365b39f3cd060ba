//! Values parsed once, at the edge (REST bodies and paths, WebSocket messages), so the
//! use-cases never see a malformed one: a [`GameId`] that can be part of a Redis key, a
//! [`Username`] that follows the rules, a [`Password`] of an acceptable length that
//! never prints, the options a game is created with ([`GameOptions`], [`Colour`]) and
//! the fixed set of [`Emote`]s. (A board column is [`crate::game::Column`], parsed by
//! the rules.)

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ServiceError;
use crate::game::Seat;

const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=20;
const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=128;

/// A game's id: a UUID, or at least something that can be one (1 to 64 ASCII letters,
/// digits and `-`). Anything else is simply not found, and never becomes part of a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GameId(String);

impl GameId {
    /// A fresh random id.
    pub fn random() -> GameId {
        GameId(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(text: &str) -> Result<GameId, ServiceError> {
        let plausible = (1..=64).contains(&text.len())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if plausible {
            Ok(GameId(text.to_string()))
        } else {
            Err(ServiceError::GameNotFound)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GameId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username that follows the rules: 3 to 20 letters, digits, `_` or `-` (surrounding
/// spaces trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username; the error says which rule failed.
    pub fn parse(text: &str) -> Result<Username, ServiceError> {
        let text = text.trim();
        if !USERNAME_LEN.contains(&text.chars().count()) {
            return Err(ServiceError::InvalidUsername(format!(
                "Username must be {} to {} characters long",
                USERNAME_LEN.start(),
                USERNAME_LEN.end()
            )));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ServiceError::InvalidUsername(
                "Username may contain only letters, digits, '_' and '-'".into(),
            ));
        }
        Ok(Username(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new account's password, 8 to 128 characters. Its `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Password, ServiceError> {
        if !PASSWORD_LEN.contains(&text.chars().count()) {
            return Err(ServiceError::InvalidPassword(format!(
                "Password must be {} to {} characters long",
                PASSWORD_LEN.start(),
                PASSWORD_LEN.end()
            )));
        }
        Ok(Password(text.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The colour the creator of a game asks for: to move first (seat one, the default),
/// second, or either, drawn when an opponent joins.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    poem_openapi::Enum,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Colour {
    #[default]
    First,
    Second,
    Random,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// `None` for anything but a stable name (a corrupt stored value is an error).
    pub fn parse(text: &str) -> Option<Colour> {
        text.parse().ok()
    }

    /// The seat the creator takes once an opponent joins (`Random` draws it now).
    pub fn creator_seat(self) -> Seat {
        match self {
            Colour::First => Seat::One,
            Colour::Second => Seat::Two,
            Colour::Random if rand::random::<bool>() => Seat::One,
            Colour::Random => Seat::Two,
        }
    }
}

/// What a game is created with: the move clock, whether the result moves ratings, and
/// the creator's colour. Kept on the game (database and hot state) and by its rematch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GameOptions {
    pub move_time_limit_secs: u32,
    pub rated: bool,
    pub colour: Colour,
}

/// A quick message from one player to the other: a fixed set, so there is nothing to
/// moderate.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Emote {
    ThumbsUp,
    Wow,
    Oops,
    Gg,
    WellPlayed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert_eq!(Username::parse(" alice_01 ").unwrap().as_str(), "alice_01");
        assert!(Username::parse("a-b").is_ok());
        for bad in ["ab", &"x".repeat(21), "bob smith", "<script>", "ünï"] {
            assert!(
                matches!(Username::parse(bad), Err(ServiceError::InvalidUsername(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn game_ids_that_cannot_be_keys_are_not_found() {
        assert!(GameId::parse(&GameId::random().to_string()).is_ok());
        for bad in ["", "a:b", "{g}", &"a".repeat(65), "a b"] {
            assert!(matches!(
                GameId::parse(bad),
                Err(ServiceError::GameNotFound)
            ));
        }
    }

    #[test]
    fn colours_have_stable_names_and_seat_the_creator() {
        for colour in [Colour::First, Colour::Second, Colour::Random] {
            assert_eq!(Colour::parse(colour.as_str()), Some(colour));
        }
        assert_eq!(Colour::parse("blue"), None);
        assert_eq!(Colour::First.creator_seat(), Seat::One);
        assert_eq!(Colour::Second.creator_seat(), Seat::Two);
        let drawn: std::collections::HashSet<_> =
            (0..200).map(|_| Colour::Random.creator_seat()).collect();
        assert_eq!(drawn.len(), 2, "random gives either seat");
    }

    #[test]
    fn passwords_have_a_length_and_never_print() {
        assert!(Password::parse("short").is_err());
        let password = Password::parse("correct horse").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}

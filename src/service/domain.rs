//! Values parsed once, at the edge (REST bodies and paths, WebSocket messages), so the
//! use-cases never see a malformed one: a [`GameId`] that can be part of a Redis key, a
//! [`Username`] that follows the rules, a [`Password`] of an acceptable length that
//! never prints. (A board column is [`crate::game::Column`], parsed by the rules.)

use std::fmt;

use super::ServiceError;

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
    fn passwords_have_a_length_and_never_print() {
        assert!(Password::parse("short").is_err());
        let password = Password::parse("correct horse").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}

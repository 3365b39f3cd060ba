//! The life of a game around the board: its status, why it ended, and its sequence
//! number. `seq` is a pure function of (status, move count, end reason), so a state
//! rebuilt from the stored moves gets back exactly the number clients last saw.
//!
//! Both enums are stored as their stable names (`DeriveValueType`): a row holding any
//! other text fails to load with a type error instead of becoming a default.

use serde::{Deserialize, Serialize};

/// Where a game is in its life.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    sea_orm::DeriveValueType,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum GameStatus {
    /// Created, waiting for a second player.
    Waiting,
    /// Both seats taken; moves are being played.
    Active,
    /// Ended with a result (win, draw, resignation, time, abandonment); rated.
    Finished,
    /// Ended without a result (nobody moved before the clock ran out, or a seat aborted
    /// it before the second move); not rated.
    Abandoned,
    /// Withdrawn by its creator, or expired, before anyone joined.
    Cancelled,
}

/// Why a game ended.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    sea_orm::DeriveValueType,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum EndReason {
    FourInARow,
    /// The board filled up.
    Draw,
    /// Both players agreed to a draw (an offer accepted).
    DrawAgreed,
    Resign,
    Timeout,
    Abandoned,
    /// A seat aborted the game before the second move.
    Aborted,
    Cancelled,
}

/// The stable lower-case name used in storage and on the wire, and its parser (only
/// the stable names parse: a corrupt stored value is an error, never a default). Both
/// come from the derives; these are the names the rest of the crate calls.
macro_rules! stable_names {
    ($ty:ident) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// `None` for anything but a stable name.
            pub fn parse(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
    };
}

stable_names!(GameStatus);
stable_names!(EndReason);

impl GameStatus {
    /// True once the game can no longer change.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Finished | Self::Abandoned | Self::Cancelled)
    }
}

impl EndReason {
    /// True when the game ended on the board (the last move decided it), so no
    /// separate state change follows the last move.
    pub fn decided_by_move(self) -> bool {
        matches!(self, Self::FourInARow | Self::Draw)
    }

    /// True for the endings that are a draw: a full board or an agreement.
    pub fn is_draw(self) -> bool {
        matches!(self, Self::Draw | Self::DrawAgreed)
    }
}

/// The sequence number of a game's state: 0 while waiting, 1 once joined, +1 per move,
/// +1 for an ending that is not a move (resignation, time, abandonment, cancellation).
pub fn sequence_number(status: GameStatus, move_count: usize, end: Option<EndReason>) -> u64 {
    let joined = u64::from(status != GameStatus::Waiting && end != Some(EndReason::Cancelled));
    let extra_end = u64::from(end.is_some_and(|reason| !reason.decided_by_move()));
    joined + move_count as u64 + extra_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in [
            GameStatus::Waiting,
            GameStatus::Active,
            GameStatus::Finished,
            GameStatus::Abandoned,
            GameStatus::Cancelled,
        ] {
            assert_eq!(GameStatus::parse(status.as_str()), Some(status));
        }
        for reason in [
            EndReason::FourInARow,
            EndReason::Draw,
            EndReason::DrawAgreed,
            EndReason::Resign,
            EndReason::Timeout,
            EndReason::Abandoned,
            EndReason::Aborted,
            EndReason::Cancelled,
        ] {
            assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(GameStatus::parse("bogus"), None);
        assert_eq!(GameStatus::parse("Active"), None);
        assert_eq!(EndReason::FourInARow.as_str(), "four_in_a_row");
        assert_eq!(EndReason::FourInARow.to_string(), "four_in_a_row");
    }

    #[test]
    fn serde_uses_the_stable_names_and_refuses_anything_else() {
        assert_eq!(
            serde_json::to_string(&EndReason::FourInARow).unwrap(),
            "\"four_in_a_row\""
        );
        let parsed: GameStatus = serde_json::from_str("\"active\"").unwrap();
        assert_eq!(parsed, GameStatus::Active);
        let corrupt = serde_json::from_str::<GameStatus>("\"Active \"");
        assert!(
            corrupt.is_err(),
            "a corrupt status is an error, not a default"
        );
    }

    #[test]
    fn sequence_grows_by_one_per_change() {
        assert_eq!(sequence_number(GameStatus::Waiting, 0, None), 0);
        assert_eq!(
            sequence_number(GameStatus::Cancelled, 0, Some(EndReason::Cancelled)),
            1
        );
        assert_eq!(sequence_number(GameStatus::Active, 0, None), 1);
        assert_eq!(sequence_number(GameStatus::Active, 5, None), 6);
        // The winning move itself carries the end.
        assert_eq!(
            sequence_number(GameStatus::Finished, 7, Some(EndReason::FourInARow)),
            8
        );
        // An agreed draw and an abort are changes of their own, like a resignation.
        assert_eq!(
            sequence_number(GameStatus::Finished, 6, Some(EndReason::DrawAgreed)),
            8
        );
        assert_eq!(
            sequence_number(GameStatus::Abandoned, 1, Some(EndReason::Aborted)),
            3
        );
        // A resignation after 5 moves is one more change.
        assert_eq!(
            sequence_number(GameStatus::Finished, 5, Some(EndReason::Resign)),
            7
        );
    }
}

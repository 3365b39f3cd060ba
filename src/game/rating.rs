//! Elo ratings for finished games. Every player starts at `INITIAL_RATING`; after a
//! rated game each seat's rating moves by `K_FACTOR * (score - expected)`, where the
//! expected score of a player rated `R_a` against one rated `R_b` is
//! `1 / (1 + 10^((R_b - R_a) / 400))` and the two expectations add up to 1. Invariants:
//! each seat's new rating is rounded to a whole number on its own, with ties going to
//! the even number (the rounding of Python's `round()`, which the ratings already on
//! record were computed with), and no rating is ever taken below 0. Apart from that
//! floor the two changes cancel out to within one point.

/// How much one game can move a rating: the most a player can gain or lose.
pub const K_FACTOR: f64 = 32.0;
/// The rating of a player who has not played a rated game yet.
pub const INITIAL_RATING: i32 = 1200;

use super::{EndReason, GameStatus, Seat};

/// The result of a rated game, from the seats' point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GameScore {
    SeatOneWins,
    SeatTwoWins,
    Draw,
}

/// How a game's end scores for the ratings: a win for a finished game with a winner, a
/// draw for a finished game drawn on the board or by agreement, and nothing (unrated)
/// for every other ending (an abandoned, aborted or cancelled game, or one without a
/// result). Whether the game counts at all (rated or casual) is the game's own option.
pub fn score_of(status: GameStatus, reason: EndReason, winner: Option<Seat>) -> Option<GameScore> {
    match (status, winner, reason) {
        (GameStatus::Finished, Some(Seat::One), _) => Some(GameScore::SeatOneWins),
        (GameStatus::Finished, Some(Seat::Two), _) => Some(GameScore::SeatTwoWins),
        (GameStatus::Finished, None, reason) if reason.is_draw() => Some(GameScore::Draw),
        _ => None,
    }
}

/// What a seat's record gains from a rated game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeatResult {
    Won,
    Lost,
    Drew,
}

/// Everything a rated result does to the two players: the ratings before and after,
/// the changes, and each seat's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub score: GameScore,
    /// Ratings (seat one, seat two) before the game.
    pub before: (i32, i32),
    pub changes: (i32, i32),
    pub after: (i32, i32),
}

impl Settlement {
    pub fn new(before: (i32, i32), score: GameScore) -> Settlement {
        let changes = rating_changes(before.0, before.1, score);
        Settlement {
            score,
            before,
            changes,
            after: (before.0 + changes.0, before.1 + changes.1),
        }
    }

    pub fn result_of(&self, seat: Seat) -> SeatResult {
        match (self.score, seat) {
            (GameScore::Draw, _) => SeatResult::Drew,
            (GameScore::SeatOneWins, Seat::One) | (GameScore::SeatTwoWins, Seat::Two) => {
                SeatResult::Won
            }
            _ => SeatResult::Lost,
        }
    }
}

/// The rating changes `(seat one, seat two)` after a game between players rated
/// `seat_one` and `seat_two`. Add each change to the rating it belongs to.
///
/// Rounding: each seat's new rating `rating + K * (score - expected)` is rounded to the
/// nearest whole number with ties to even, independently of the other seat, then
/// raised to 0 if it would be negative; the change is that new rating minus the old.
/// The expectation is computed once, from the winner's side (seat One's side for a
/// draw), and the other seat's expectation is 1 minus it.
pub fn rating_changes(seat_one: i32, seat_two: i32, score: GameScore) -> (i32, i32) {
    match score {
        GameScore::SeatOneWins => {
            let expected = expected_score(seat_one, seat_two);
            (
                change(seat_one, 1.0 - expected),
                change(seat_two, 0.0 - (1.0 - expected)),
            )
        }
        GameScore::SeatTwoWins => {
            let expected = expected_score(seat_two, seat_one);
            (
                change(seat_one, 0.0 - (1.0 - expected)),
                change(seat_two, 1.0 - expected),
            )
        }
        GameScore::Draw => {
            let expected = expected_score(seat_one, seat_two);
            (
                change(seat_one, 0.5 - expected),
                change(seat_two, 0.5 - (1.0 - expected)),
            )
        }
    }
}

/// The score a player rated `rating` is expected to make against one rated `opponent`
/// (1 for a sure win, 0 for a sure loss).
fn expected_score(rating: i32, opponent: i32) -> f64 {
    1.0 / (1.0 + 10f64.powf(f64::from(opponent - rating) / 400.0))
}

/// The change to `rating` for a result `surprise` (score minus expected score) away
/// from expectations: the new rating rounded half to even and floored at 0, minus the
/// old rating.
fn change(rating: i32, surprise: f64) -> i32 {
    let new_rating = (f64::from(rating) + K_FACTOR * surprise)
        .round_ties_even()
        .max(0.0);
    // `surprise` lies in [-1, 1], so `new_rating` is within `K_FACTOR` of an `i32`
    // rating (or 0) and converts back without saturating for any real rating.
    new_rating as i32 - rating
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_games_with_a_result_are_rated() {
        let won = score_of(GameStatus::Finished, EndReason::Resign, Some(Seat::Two));
        assert_eq!(won, Some(GameScore::SeatTwoWins));
        let drawn = score_of(GameStatus::Finished, EndReason::Draw, None);
        assert_eq!(drawn, Some(GameScore::Draw));
        let agreed = score_of(GameStatus::Finished, EndReason::DrawAgreed, None);
        assert_eq!(agreed, Some(GameScore::Draw));
        assert_eq!(
            score_of(GameStatus::Abandoned, EndReason::Aborted, None),
            None
        );
        assert_eq!(
            score_of(GameStatus::Abandoned, EndReason::Timeout, None),
            None
        );
        let settlement = Settlement::new((1200, 1200), GameScore::SeatOneWins);
        assert_eq!(settlement.after, (1216, 1184));
        assert_eq!(settlement.result_of(Seat::One), SeatResult::Won);
        assert_eq!(settlement.result_of(Seat::Two), SeatResult::Lost);
    }
    use proptest::prelude::*;

    #[test]
    fn equal_ratings_win_moves_sixteen_points() {
        assert_eq!(
            rating_changes(1200, 1200, GameScore::SeatOneWins),
            (16, -16)
        );
        assert_eq!(
            rating_changes(1200, 1200, GameScore::SeatTwoWins),
            (-16, 16)
        );
        assert_eq!(
            rating_changes(INITIAL_RATING, INITIAL_RATING, GameScore::SeatOneWins),
            (16, -16)
        );
    }

    #[test]
    fn equal_ratings_draw_changes_nothing() {
        assert_eq!(rating_changes(1200, 1200, GameScore::Draw), (0, 0));
        assert_eq!(rating_changes(1537, 1537, GameScore::Draw), (0, 0));
    }

    #[test]
    fn unequal_ratings() {
        // Seat One is 400 points stronger: expected score 10/11.
        // Favourite wins: 32 * (1/11) = 2.91 -> +3 / -3.
        assert_eq!(rating_changes(1400, 1000, GameScore::SeatOneWins), (3, -3));
        // Underdog wins: 32 * (10/11) = 29.09 -> -29 / +29.
        assert_eq!(
            rating_changes(1400, 1000, GameScore::SeatTwoWins),
            (-29, 29)
        );
        // Draw: 32 * (0.5 - 10/11) = -13.09 -> -13 / +13.
        assert_eq!(rating_changes(1400, 1000, GameScore::Draw), (-13, 13));
        // 100 points apart: expected 0.64; 32 * 0.36 = 11.52 -> +12 / -12.
        assert_eq!(
            rating_changes(1300, 1200, GameScore::SeatOneWins),
            (12, -12)
        );
        assert_eq!(
            rating_changes(1200, 1300, GameScore::SeatOneWins),
            (20, -20)
        );
    }

    #[test]
    fn new_rating_ties_round_to_even() {
        // A surprise of 1/64 moves a rating by exactly half a point. The new rating is
        // what gets rounded, so the change depends on whether the old one is even.
        assert_eq!(change(1200, 1.0 / 64.0), 0); // 1200.5 -> 1200
        assert_eq!(change(1201, 1.0 / 64.0), 1); // 1201.5 -> 1202
        assert_eq!(change(1200, -1.0 / 64.0), 0); // 1199.5 -> 1200
        assert_eq!(change(1201, -1.0 / 64.0), -1); // 1200.5 -> 1200
    }

    #[test]
    fn ratings_never_go_below_zero() {
        assert_eq!(rating_changes(10, 10, GameScore::SeatOneWins), (16, -10));
        assert_eq!(rating_changes(0, 0, GameScore::SeatTwoWins), (0, 16));
        assert_eq!(rating_changes(3, 3, GameScore::SeatTwoWins), (-3, 16));
    }

    fn any_score() -> impl Strategy<Value = GameScore> {
        prop_oneof![
            Just(GameScore::SeatOneWins),
            Just(GameScore::SeatTwoWins),
            Just(GameScore::Draw),
        ]
    }

    proptest! {
        #[test]
        fn prop_rating_changes_sum_to_about_zero(
            seat_one in 100i32..=3000,
            seat_two in 100i32..=3000,
            score in any_score(),
        ) {
            let (one, two) = rating_changes(seat_one, seat_two, score);
            prop_assert!((one + two).abs() <= 1, "{one} + {two}");
            prop_assert!(one.abs() <= K_FACTOR as i32 && two.abs() <= K_FACTOR as i32);
        }

        #[test]
        fn prop_winner_gains_and_loser_loses(
            seat_one in 100i32..=3000,
            seat_two in 100i32..=3000,
        ) {
            let (one, two) = rating_changes(seat_one, seat_two, GameScore::SeatOneWins);
            prop_assert!(one >= 0 && two <= 0);
            let (one, two) = rating_changes(seat_one, seat_two, GameScore::SeatTwoWins);
            prop_assert!(one <= 0 && two >= 0);
        }

        #[test]
        fn prop_seats_are_symmetric(
            seat_one in 100i32..=3000,
            seat_two in 100i32..=3000,
        ) {
            let (one, two) = rating_changes(seat_one, seat_two, GameScore::SeatOneWins);
            let (swapped_one, swapped_two) =
                rating_changes(seat_two, seat_one, GameScore::SeatTwoWins);
            prop_assert_eq!((one, two), (swapped_two, swapped_one));
        }
    }
}

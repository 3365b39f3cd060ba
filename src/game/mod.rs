//! The game's pure rules, free of I/O and of any clock: the board and its moves
//! (`board`), the life of a game around the board (`lifecycle`), Elo ratings
//! (`rating`), and a perfect solver with its opening book (`solver`). Everything here
//! is deterministic, so a game rebuilt from its stored moves is identical to the one
//! that was played.

pub mod board;
pub mod lifecycle;
pub mod rating;
pub mod solver;

pub use board::{Board, Cell, Column, MoveError, Outcome, Placement, Seat, COLUMNS, ROWS};
pub use lifecycle::{sequence_number, EndReason, GameStatus};
pub use rating::{
    rating_changes, score_of, GameScore, SeatResult, Settlement, INITIAL_RATING, K_FACTOR,
};

//! The game's pure rules, free of I/O and of any clock: the board and its moves
//! (`board`), the life of a game around the board (`lifecycle`), Elo ratings
//! (`rating`), a perfect solver with its opening book (`solver`), and the computer
//! opponents' choice of move (`bots`). Everything here
//! is deterministic, so a game rebuilt from its stored moves is identical to the one
//! that was played.

pub mod board;
pub mod bots;
pub mod lifecycle;
pub mod rating;
pub mod solver;

pub use board::{Board, Cell, Column, MoveError, Outcome, Placement, Seat, COLUMNS, ROWS};
pub use bots::BotLevel;
pub use lifecycle::{sequence_number, EndReason, GameStatus};
pub use rating::{
    rating_changes, score_of, GameScore, SeatResult, Settlement, INITIAL_RATING, K_FACTOR,
};

pub mod board;
pub mod lifecycle;
pub mod rating;
pub use board::{Board, Cell, MoveError, Outcome, Placement, Seat, COLUMNS, ROWS};
pub use lifecycle::{sequence_number, EndReason, GameStatus};
pub use rating::{rating_changes, GameScore, INITIAL_RATING, K_FACTOR};

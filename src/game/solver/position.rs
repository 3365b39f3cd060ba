//! A 7×6 position as the solver sees it: two bitboards, `current` (the stones of the
//! side to move) and `mask` (every stone), in the engine's layout — bit
//! `column * 7 + height`, with an always-empty guard bit on top of each column so that
//! line shifts never wrap from one column into the next. Invariants: `current` is a
//! subset of `mask`, every column of `mask` is filled from the bottom up, `plies` is the
//! number of stones on the board, and no stone of the side to move is ever part of a
//! four (the parser refuses moves after a win, so at most the side that just moved has
//! a four, and only with its last stone). `current + mask` is then a unique key of the
//! position: within one column it is the stones of the side to move plus a one-bit
//! marker just above the top stone, with no carry into the next column.

use std::fmt;

/// Columns of the board.
pub const WIDTH: usize = 7;
/// Rows of the board.
pub const HEIGHT: usize = 6;
/// Stones on a full board.
pub const CELLS: usize = WIDTH * HEIGHT;

/// Bits per column: the rows plus the guard bit.
const COLUMN_BITS: usize = HEIGHT + 1;

/// One bit at the bottom of each column.
const BOTTOM: u64 = {
    let mut bottom = 0;
    let mut column = 0;
    while column < WIDTH {
        bottom |= 1 << (column * COLUMN_BITS);
        column += 1;
    }
    bottom
};

/// Every playable cell of the board (guard bits excluded).
const BOARD: u64 = BOTTOM * ((1 << HEIGHT) - 1);

/// The cells of one column.
const fn column_mask(column: usize) -> u64 {
    ((1 << HEIGHT) - 1) << (column * COLUMN_BITS)
}

/// The bottom cell of one column.
const fn bottom_cell(column: usize) -> u64 {
    1 << (column * COLUMN_BITS)
}

/// The top cell of one column.
const fn top_cell(column: usize) -> u64 {
    1 << (HEIGHT - 1 + column * COLUMN_BITS)
}

/// Why a line of moves does not describe a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveListError {
    /// The character at this 1-based move number is not a column digit 1–7.
    NotAColumn { move_number: usize, found: char },
    /// The column is already full at this move.
    ColumnFull { move_number: usize, column: u8 },
    /// The game was already won before this move.
    AfterWin { move_number: usize },
}

impl fmt::Display for MoveListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoveListError::NotAColumn { move_number, found } => {
                write!(f, "move {move_number}: {found:?} is not a column (1 to 7)")
            }
            MoveListError::ColumnFull {
                move_number,
                column,
            } => write!(f, "move {move_number}: column {column} is full"),
            MoveListError::AfterWin { move_number } => {
                write!(f, "move {move_number}: the game was already won")
            }
        }
    }
}

impl std::error::Error for MoveListError {}

/// A position reachable in a legal game; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    current: u64,
    mask: u64,
    plies: u8,
}

impl Position {
    /// The empty board, first player to move.
    pub fn new() -> Position {
        Position::default()
    }

    /// The position after the moves of `line`, 1-based column digits (`"4453"`).
    /// The last move may win the game; a move after that is an error.
    pub fn from_moves(line: &str) -> Result<Position, MoveListError> {
        let mut position = Position::new();
        let mut won = false;
        for (index, found) in line.chars().enumerate() {
            let move_number = index + 1;
            let column = match found.to_digit(10) {
                Some(digit @ 1..=7) => digit as usize - 1,
                _ => return Err(MoveListError::NotAColumn { move_number, found }),
            };
            if won {
                return Err(MoveListError::AfterWin { move_number });
            }
            if !position.can_play(column) {
                return Err(MoveListError::ColumnFull {
                    move_number,
                    column: column as u8 + 1,
                });
            }
            won = position.is_winning_move(column);
            position.play_column(column);
        }
        Ok(position)
    }

    /// Stones on the board.
    pub fn plies(&self) -> usize {
        usize::from(self.plies)
    }

    /// True if `column` (0-based) exists and has a free cell.
    pub fn can_play(&self, column: usize) -> bool {
        column < WIDTH && self.mask & top_cell(column) == 0
    }

    /// Drops a stone of the side to move into `column` (0-based), which must be
    /// playable (see [`Position::can_play`]).
    pub fn play_column(&mut self, column: usize) {
        self.play((self.mask + bottom_cell(column)) & column_mask(column));
    }

    /// True if dropping a stone into the playable `column` makes four for the side to move.
    pub fn is_winning_move(&self, column: usize) -> bool {
        self.winning_cells() & self.possible() & column_mask(column) != 0
    }

    /// True if the side that just moved has four in a row (the game is over).
    pub fn last_mover_won(&self) -> bool {
        has_four(self.current ^ self.mask)
    }

    /// The unique key of the position (see the module documentation); below 2^49.
    pub fn key(&self) -> u64 {
        self.current + self.mask
    }

    /// The key of the position mirrored left to right.
    pub fn mirrored_key(&self) -> u64 {
        let key = self.key();
        let column_bits = (1 << COLUMN_BITS) - 1;
        (0..WIDTH).fold(0, |mirrored, column| {
            let bits = (key >> (column * COLUMN_BITS)) & column_bits;
            mirrored | bits << ((WIDTH - 1 - column) * COLUMN_BITS)
        })
    }

    /// The smaller of the key and the mirrored key: one key for a position and its mirror.
    pub fn canonical_key(&self) -> u64 {
        self.key().min(self.mirrored_key())
    }

    /// Drops a stone into the cell `cell`, a single bit of [`Position::possible`].
    pub(super) fn play(&mut self, cell: u64) {
        self.current ^= self.mask;
        self.mask |= cell;
        self.plies += 1;
    }

    /// The lowest free cell of every column that is not full.
    pub(super) fn possible(&self) -> u64 {
        (self.mask + BOTTOM) & BOARD
    }

    /// True if the side to move has a winning move.
    pub fn can_win_next(&self) -> bool {
        self.winning_cells() & self.possible() != 0
    }

    /// The playable cells that do not hand the opponent an immediate win: if the
    /// opponent threatens one playable cell it must be taken, if two, every move loses
    /// (empty result). Never includes a cell just below an opponent's threat. Assumes
    /// the side to move cannot win at once.
    pub(super) fn non_losing_moves(&self) -> u64 {
        let mut possible = self.possible();
        let threats = self.opponent_winning_cells();
        let forced = possible & threats;
        if forced != 0 {
            if forced & (forced - 1) != 0 {
                return 0;
            }
            possible = forced;
        }
        possible & !(threats >> 1)
    }

    /// How many empty cells would complete a four for the side to move after it plays
    /// `cell`: the cheap threat count used to order moves.
    pub(super) fn threats_after(&self, cell: u64) -> u32 {
        winning_cells(self.current | cell, self.mask | cell).count_ones()
    }

    /// Empty cells (playable now or not) that would complete a four for the side to move.
    pub(super) fn winning_cells(&self) -> u64 {
        winning_cells(self.current, self.mask)
    }

    /// Empty cells that would complete a four for the opponent.
    pub(super) fn opponent_winning_cells(&self) -> u64 {
        winning_cells(self.current ^ self.mask, self.mask)
    }
}

/// The mask of `column` (0-based): its six cells.
pub(super) fn column_cells(column: usize) -> u64 {
    column_mask(column)
}

/// Empty cells of the board that would give `stones` four in a row. For each direction
/// an empty cell counts when three stones line up with it: three on one side, or two
/// on one side and one on the other.
fn winning_cells(stones: u64, mask: u64) -> u64 {
    let s = stones;
    // Vertical: only three stones below can line up.
    let mut cells = (s << 1) & (s << 2) & (s << 3);
    for shift in [COLUMN_BITS, COLUMN_BITS - 1, COLUMN_BITS + 1] {
        let pair = (s << shift) & (s << (2 * shift));
        cells |= pair & (s << (3 * shift));
        cells |= pair & (s >> shift);
        let pair = (s >> shift) & (s >> (2 * shift));
        cells |= pair & (s << shift);
        cells |= pair & (s >> (3 * shift));
    }
    cells & (BOARD ^ mask)
}

/// True if `stones` hold four in a line in any direction.
fn has_four(stones: u64) -> bool {
    [1, COLUMN_BITS, COLUMN_BITS - 1, COLUMN_BITS + 1]
        .into_iter()
        .any(|shift| {
            let pairs = stones & (stones >> shift);
            pairs & (pairs >> (2 * shift)) != 0
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::{Board, Outcome};
    use proptest::prelude::*;

    fn position(line: &str) -> Position {
        Position::from_moves(line).expect("test line is legal")
    }

    #[test]
    fn moves_are_read_as_one_based_columns() {
        let p = position("4453");
        assert_eq!(p.plies(), 4);
        assert!(Position::from_moves("").is_ok_and(|p| p.plies() == 0));
    }

    #[test]
    fn bad_lines_name_the_move_and_the_reason() {
        assert_eq!(
            Position::from_moves("448"),
            Err(MoveListError::NotAColumn {
                move_number: 3,
                found: '8'
            })
        );
        assert_eq!(
            Position::from_moves("0"),
            Err(MoveListError::NotAColumn {
                move_number: 1,
                found: '0'
            })
        );
        assert_eq!(
            Position::from_moves("1111111"),
            Err(MoveListError::ColumnFull {
                move_number: 7,
                column: 1
            })
        );
        assert_eq!(
            Position::from_moves("12121215"),
            Err(MoveListError::AfterWin { move_number: 8 })
        );
        assert!(Position::from_moves("1212121").is_ok_and(|p| p.last_mover_won()));
    }

    #[test]
    fn a_win_is_seen_like_the_rules_engine_sees_it() {
        for line in ["1212121", "1122334"] {
            let before = position(&line[..line.len() - 1]);
            let last = line.as_bytes()[line.len() - 1] - b'1';
            assert!(before.is_winning_move(usize::from(last)), "{line}");
            assert!(before.can_win_next(), "{line}");
            assert!(position(line).last_mover_won(), "{line}");
        }
    }

    proptest! {
        /// Random games agree with the rules engine on every move: a move wins here
        /// exactly when the engine reports a win.
        #[test]
        fn prop_wins_match_the_rules_engine(columns in proptest::collection::vec(0usize..WIDTH, 0..60)) {
            let mut board = Board::new();
            let mut p = Position::new();
            for column in columns {
                if board.is_over() || !p.can_play(column) {
                    prop_assert_eq!(board.can_play(column as u8), p.can_play(column) && !board.is_over());
                    continue;
                }
                let wins = p.is_winning_move(column);
                p.play_column(column);
                let placement = board.play(column as u8).expect("legal for both");
                prop_assert_eq!(wins, matches!(placement.outcome, Outcome::Won { .. }));
                prop_assert_eq!(wins, p.last_mover_won());
            }
        }
    }

    #[test]
    fn mirrored_positions_share_the_canonical_key() {
        let p = position("1123");
        let m = position("7765");
        assert_eq!(p.mirrored_key(), m.key());
        assert_eq!(p.canonical_key(), m.canonical_key());
        assert_ne!(p.key(), m.key());
    }

    #[test]
    fn a_double_threat_leaves_no_safe_move() {
        // The first player threatens both ends of 3-4-5 on the bottom row.
        let p = position("41513");
        assert!(!p.can_win_next());
        // Second player to move: any reply leaves a winning end open.
        assert_eq!(p.non_losing_moves(), 0);
    }
}

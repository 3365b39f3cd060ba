//! The Connect 4 board and its rules: six rows by seven columns, pieces fall to the
//! lowest free cell of a column, seat One moves first and the seats alternate. The
//! position is held as one bitboard per seat plus a height per column, so a move and
//! the four-in-a-row check are a handful of bit operations. Invariants: the pieces of
//! the two seats never overlap, every piece rests on the floor or on another piece,
//! seat One has as many pieces as seat Two or one more, the recorded moves replay to
//! exactly this position, and the cached outcome is `InProgress` until the first four
//! in a row (which ends the game) or until the board is full (a draw). In every public
//! function row 0 is the top row and row 5 the bottom row.

use std::fmt;

/// Number of rows on the board; row 0 is the top, row `ROWS - 1` the bottom.
pub const ROWS: usize = 6;
/// Number of columns on the board, numbered from 0 (left) to `COLUMNS - 1`.
pub const COLUMNS: usize = 7;

/// Bits per column in a bitboard: one per row plus an always-empty guard bit on top,
/// so that shifting a line off the top of one column never reaches the next column.
const COLUMN_BITS: usize = ROWS + 1;
/// Pieces on a full board.
const CELLS: usize = ROWS * COLUMNS;

/// Bitboard shifts for the four line directions: up a column, along a row, and the
/// two diagonals (rising to the right, falling to the right).
const VERTICAL: usize = 1;
const HORIZONTAL: usize = COLUMN_BITS;
const RISING: usize = COLUMN_BITS + 1;
const FALLING: usize = COLUMN_BITS - 1;

/// The four line directions as (column step, height step), in board coordinates where
/// height 0 is the bottom row. Used only to list the cells of a winning line.
const DIRECTIONS: [(i8, i8); 4] = [(0, 1), (1, 0), (1, 1), (1, -1)];

/// One of the two seats at the table. Seat One always moves first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seat {
    One,
    Two,
}

impl Seat {
    /// The seat's number as shown to players and stored: 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Seat::One => 1,
            Seat::Two => 2,
        }
    }

    /// The seat with the given number, or `None` unless it is 1 or 2.
    pub fn from_number(n: u8) -> Option<Seat> {
        match n {
            1 => Some(Seat::One),
            2 => Some(Seat::Two),
            _ => None,
        }
    }

    /// The opponent's seat.
    pub fn other(self) -> Seat {
        match self {
            Seat::One => Seat::Two,
            Seat::Two => Seat::One,
        }
    }

    /// Index of the seat's bitboard.
    fn index(self) -> usize {
        match self {
            Seat::One => 0,
            Seat::Two => 1,
        }
    }
}

/// A cell of the board; row 0 is the top row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub row: u8,
    pub column: u8,
}

/// How the game stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Outcome {
    /// No four in a row yet and free cells remain.
    #[default]
    InProgress,
    /// `seat` made four (or more) in a row with its last move. `cells` lists every
    /// cell of every such line through that move, sorted by (row, column), without
    /// duplicates.
    Won { seat: Seat, cells: Vec<Cell> },
    /// The board is full and nobody made four in a row.
    Draw,
}

/// Why a move was refused. Checked in this order: column range (when the [`Column`] is
/// parsed), game over, turn, column full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveError {
    /// The column is not between 0 and 6.
    ColumnOutOfRange,
    /// The column has no free cell.
    ColumnFull,
    /// The game has already been won or drawn.
    GameOver,
    /// The seat that tried to move is not the one whose turn it is.
    WrongTurn,
}

impl fmt::Display for MoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            MoveError::ColumnOutOfRange => "column is out of range (columns are 0 to 6)",
            MoveError::ColumnFull => "column is full",
            MoveError::GameOver => "the game is already over",
            MoveError::WrongTurn => "it is not this seat's turn",
        };
        f.write_str(message)
    }
}

impl std::error::Error for MoveError {}

/// A column of the board, 0 (left) to 6 (right). The range is checked here, when a
/// column is parsed, and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Column(u8);

impl Column {
    /// Parses a column index (as a client sends it).
    pub fn new(index: i64) -> Result<Column, MoveError> {
        u8::try_from(index)
            .ok()
            .filter(|&column| usize::from(column) < COLUMNS)
            .map(Column)
            .ok_or(MoveError::ColumnOutOfRange)
    }

    /// 0 (left) to 6 (right).
    pub fn index(self) -> u8 {
        self.0
    }
}

/// What a successful move did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The seat that moved.
    pub seat: Seat,
    /// The column the piece was dropped into.
    pub column: u8,
    /// The row the piece came to rest in (row 0 is the top).
    pub row: u8,
    /// 1 for the first move of the game, 2 for the second, and so on.
    pub move_number: u32,
    /// How the game stands after the move.
    pub outcome: Outcome,
}

/// A Connect 4 position together with the moves that led to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    /// One bitboard per seat, indexed by `Seat::index`; bit `column * 7 + height` is set
    /// when that seat has a piece `height` cells above the floor in `column`.
    pieces: [u64; 2],
    /// Pieces in each column.
    heights: [u8; COLUMNS],
    /// Columns played, in order.
    moves: Vec<u8>,
    /// How the game stands after the last move.
    outcome: Outcome,
}

impl Board {
    /// An empty board with seat One to move.
    pub fn new() -> Board {
        Board::default()
    }

    /// Replays `columns` from an empty board. On an illegal move, returns its index in
    /// `columns` and the reason it was refused.
    pub fn from_moves(columns: &[u8]) -> Result<Board, (usize, MoveError)> {
        let mut board = Board::new();
        for (index, &column) in columns.iter().enumerate() {
            Column::new(i64::from(column))
                .and_then(|column| board.play_as(board.next_seat(), column))
                .map_err(|error| (index, error))?;
        }
        Ok(board)
    }

    /// Drops a piece for the seat whose turn it is.
    #[cfg(test)]
    pub fn play(&mut self, column: u8) -> Result<Placement, MoveError> {
        self.play_as(self.next_seat(), Column::new(i64::from(column))?)
    }

    /// Drops a piece for `seat`, which must be the seat whose turn it is.
    pub fn play_as(&mut self, seat: Seat, column: Column) -> Result<Placement, MoveError> {
        let column = column.index();
        let index = usize::from(column);
        if self.outcome != Outcome::InProgress {
            return Err(MoveError::GameOver);
        }
        if seat != self.next_seat() {
            return Err(MoveError::WrongTurn);
        }
        let height = self.heights[index];
        if usize::from(height) >= ROWS {
            return Err(MoveError::ColumnFull);
        }

        self.pieces[seat.index()] |= bit(column, height);
        self.heights[index] = height + 1;
        self.moves.push(column);

        // The game stops at the first four in a row, so any four on the board now
        // runs through the piece just placed.
        let mine = self.pieces[seat.index()];
        if has_four(mine) {
            self.outcome = Outcome::Won {
                seat,
                cells: winning_cells(mine, column, height),
            };
        } else if self.moves.len() == CELLS {
            self.outcome = Outcome::Draw;
        }

        Ok(Placement {
            seat,
            column,
            row: row_of(height),
            // At most 42 moves are ever recorded, so this cannot truncate.
            move_number: self.moves.len() as u32,
            outcome: self.outcome.clone(),
        })
    }

    /// The seat whose turn it is (after the game ends: the seat that would be next).
    pub fn next_seat(&self) -> Seat {
        if self.moves.len() % 2 == 0 {
            Seat::One
        } else {
            Seat::Two
        }
    }

    /// The seat whose piece is at (`row`, `column`), or `None` for an empty cell or a
    /// position off the board.
    pub fn cell(&self, row: u8, column: u8) -> Option<Seat> {
        if usize::from(row) >= ROWS || usize::from(column) >= COLUMNS {
            return None;
        }
        let mask = bit(column, height_of(row));
        [Seat::One, Seat::Two]
            .into_iter()
            .find(|seat| self.pieces[seat.index()] & mask != 0)
    }

    /// The whole board as seat numbers (0 empty, 1 or 2), row 0 first (the top).
    pub fn grid(&self) -> [[u8; COLUMNS]; ROWS] {
        let mut grid = [[0; COLUMNS]; ROWS];
        for (row, line) in (0u8..).zip(grid.iter_mut()) {
            for (column, slot) in (0u8..).zip(line.iter_mut()) {
                *slot = self.cell(row, column).map_or(0, Seat::number);
            }
        }
        grid
    }

    /// The columns played so far, in order.
    pub fn moves(&self) -> &[u8] {
        &self.moves
    }

    /// How many moves have been played.
    pub fn move_count(&self) -> usize {
        self.moves.len()
    }

    /// How the game stands after the last move.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// True once the game has been won or drawn.
    pub fn is_over(&self) -> bool {
        self.outcome != Outcome::InProgress
    }

    /// True if the next seat may drop a piece into `column` now.
    #[cfg(test)]
    pub fn can_play(&self, column: u8) -> bool {
        !self.is_over()
            && self
                .heights
                .get(usize::from(column))
                .is_some_and(|&height| usize::from(height) < ROWS)
    }

    /// The board after the first `step` moves of this game (all of them if `step` is
    /// larger than the number played).
    #[cfg(test)]
    pub fn replay_to(&self, step: usize) -> Board {
        let prefix = &self.moves[..step.min(self.moves.len())];
        // Every move in `self.moves` was accepted when played, and replaying the same
        // columns from an empty board reproduces the same positions, so no move of a
        // prefix can be refused.
        Board::from_moves(prefix).expect("a prefix of a legal game is legal")
    }
}

/// The bitboard bit for the cell `height` cells above the floor of `column`.
fn bit(column: u8, height: u8) -> u64 {
    1 << (usize::from(column) * COLUMN_BITS + usize::from(height))
}

/// Converts a height above the floor (0 = bottom) to a public row (0 = top).
fn row_of(height: u8) -> u8 {
    ROWS as u8 - 1 - height
}

/// Converts a public row (0 = top) to a height above the floor (0 = bottom).
fn height_of(row: u8) -> u8 {
    ROWS as u8 - 1 - row
}

/// True if the bitboard holds four pieces in a line in any direction. The guard bit
/// on top of each column keeps lines from wrapping from one column into the next.
fn has_four(pieces: u64) -> bool {
    [VERTICAL, HORIZONTAL, RISING, FALLING]
        .into_iter()
        .any(|shift| {
            let pairs = pieces & (pieces >> shift);
            pairs & (pairs >> (2 * shift)) != 0
        })
}

/// Every cell of every line of four or more in `pieces` that passes through the
/// piece at (`column`, `height`), sorted by (row, column) without duplicates.
fn winning_cells(pieces: u64, column: u8, height: u8) -> Vec<Cell> {
    let occupied = |c: i8, h: i8| {
        (0..COLUMNS as i8).contains(&c)
            && (0..ROWS as i8).contains(&h)
            && pieces & bit(c as u8, h as u8) != 0
    };
    let (column, height) = (column as i8, height as i8);
    let mut cells = Vec::new();
    for (dc, dh) in DIRECTIONS {
        let mut line = vec![(column, height)];
        for sign in [1, -1] {
            let (mut c, mut h) = (column + sign * dc, height + sign * dh);
            while occupied(c, h) {
                line.push((c, h));
                c += sign * dc;
                h += sign * dh;
            }
        }
        if line.len() >= 4 {
            cells.extend(line.into_iter().map(|(c, h)| Cell {
                row: row_of(h as u8),
                column: c as u8,
            }));
        }
    }
    cells.sort_by_key(|cell| (cell.row, cell.column));
    cells.dedup();
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(index: i64) -> Column {
        Column::new(index).unwrap()
    }
    use proptest::prelude::*;

    fn board(moves: &[u8]) -> Board {
        Board::from_moves(moves).expect("test moves are legal")
    }

    fn cells(list: &[(u8, u8)]) -> Vec<Cell> {
        list.iter()
            .map(|&(row, column)| Cell { row, column })
            .collect()
    }

    fn won(seat: Seat, list: &[(u8, u8)]) -> Outcome {
        Outcome::Won {
            seat,
            cells: cells(list),
        }
    }

    /// A full board with no four in a row: columns are filled in pairs (three of one
    /// seat under three of the other, mirrored in the neighbouring column) and the last
    /// column alternates.
    const DRAW: [u8; 42] = [
        0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, //
        2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2, //
        4, 5, 4, 5, 4, 5, 5, 4, 5, 4, 5, 4, //
        6, 6, 6, 6, 6, 6,
    ];

    #[test]
    fn seat_numbers_round_trip() {
        for seat in [Seat::One, Seat::Two] {
            assert_eq!(Seat::from_number(seat.number()), Some(seat));
            assert_eq!(seat.other().other(), seat);
            assert_ne!(seat.other(), seat);
        }
        assert_eq!(Seat::One.number(), 1);
        assert_eq!(Seat::Two.number(), 2);
        assert_eq!(Seat::from_number(0), None);
        assert_eq!(Seat::from_number(3), None);
    }

    #[test]
    fn new_board_is_empty() {
        let board = Board::new();
        assert_eq!(board.grid(), [[0; COLUMNS]; ROWS]);
        assert_eq!(board.move_count(), 0);
        assert!(board.moves().is_empty());
        assert_eq!(board.outcome(), &Outcome::InProgress);
        assert!(!board.is_over());
        assert_eq!(board.next_seat(), Seat::One);
        assert_eq!(board, Board::default());
    }

    #[test]
    fn pieces_fall_to_the_lowest_free_cell() {
        let mut board = Board::new();
        let first = board.play(3).unwrap();
        assert_eq!(
            first,
            Placement {
                seat: Seat::One,
                column: 3,
                row: 5,
                move_number: 1,
                outcome: Outcome::InProgress,
            }
        );
        let second = board.play(3).unwrap();
        assert_eq!(
            (second.seat, second.row, second.move_number),
            (Seat::Two, 4, 2)
        );
        let third = board.play(0).unwrap();
        assert_eq!((third.seat, third.row, third.column), (Seat::One, 5, 0));
        assert_eq!(board.cell(5, 3), Some(Seat::One));
        assert_eq!(board.cell(4, 3), Some(Seat::Two));
        assert_eq!(board.cell(3, 3), None);
        assert_eq!(board.cell(5, 0), Some(Seat::One));
        assert_eq!(board.cell(6, 0), None);
        assert_eq!(board.cell(0, 7), None);
        let mut expected = [[0; COLUMNS]; ROWS];
        expected[5][3] = 1;
        expected[4][3] = 2;
        expected[5][0] = 1;
        assert_eq!(board.grid(), expected);
        assert_eq!(board.moves(), &[3, 3, 0]);
        assert_eq!(board.move_count(), 3);
    }

    #[test]
    fn seats_alternate_starting_with_one() {
        let mut board = Board::new();
        for (turn, seat) in [Seat::One, Seat::Two, Seat::One, Seat::Two]
            .into_iter()
            .enumerate()
        {
            assert_eq!(board.next_seat(), seat);
            let placement = board.play(turn as u8).unwrap();
            assert_eq!(placement.seat, seat);
        }
        assert_eq!(board.next_seat(), Seat::One);
    }

    #[test]
    fn play_as_accepts_the_seat_on_turn() {
        let mut board = Board::new();
        assert_eq!(board.play_as(Seat::One, col(2)).unwrap().seat, Seat::One);
        assert_eq!(board.play_as(Seat::Two, col(2)).unwrap().seat, Seat::Two);
    }

    #[test]
    fn wrong_turn_is_refused_without_changing_the_board() {
        let mut board = Board::new();
        assert_eq!(board.play_as(Seat::Two, col(0)), Err(MoveError::WrongTurn));
        board.play(0).unwrap();
        let before = board.clone();
        assert_eq!(board.play_as(Seat::One, col(0)), Err(MoveError::WrongTurn));
        assert_eq!(board, before);
    }

    #[test]
    fn column_out_of_range_is_refused() {
        let mut board = Board::new();
        assert_eq!(board.play(7), Err(MoveError::ColumnOutOfRange));
        assert_eq!(board.play(u8::MAX), Err(MoveError::ColumnOutOfRange));
        assert!(!board.can_play(7));
        assert_eq!(board, Board::new());
    }

    #[test]
    fn full_column_is_refused() {
        let mut board = board(&[0, 0, 0, 0, 0, 0]);
        assert!(!board.can_play(0));
        assert!(board.can_play(1));
        let before = board.clone();
        assert_eq!(board.play(0), Err(MoveError::ColumnFull));
        assert_eq!(board, before);
        assert_eq!(board.grid()[0][0], 2);
        assert_eq!(board.grid()[5][0], 1);
    }

    #[test]
    fn errors_are_checked_in_order() {
        // Range before game over.
        let mut finished = board(&[0, 1, 0, 1, 0, 1, 0]);
        assert_eq!(finished.play(9), Err(MoveError::ColumnOutOfRange));
        // Game over before turn and before a full column.
        assert_eq!(
            finished.play_as(Seat::One, col(3)),
            Err(MoveError::GameOver)
        );
        // Turn before a full column.
        let mut full = board(&[0, 0, 0, 0, 0, 0]);
        assert_eq!(full.play_as(Seat::Two, col(0)), Err(MoveError::WrongTurn));
    }

    #[test]
    fn errors_read_as_english() {
        assert_eq!(
            MoveError::ColumnOutOfRange.to_string(),
            "column is out of range (columns are 0 to 6)"
        );
        assert_eq!(MoveError::ColumnFull.to_string(), "column is full");
        assert_eq!(MoveError::GameOver.to_string(), "the game is already over");
        assert_eq!(
            MoveError::WrongTurn.to_string(),
            "it is not this seat's turn"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(MoveError::ColumnFull);
        assert_eq!(boxed.to_string(), "column is full");
    }

    #[test]
    fn horizontal_win() {
        let mut board = board(&[0, 0, 1, 1, 2, 2]);
        let placement = board.play(3).unwrap();
        let expected = won(Seat::One, &[(5, 0), (5, 1), (5, 2), (5, 3)]);
        assert_eq!(placement.outcome, expected);
        assert_eq!((placement.row, placement.move_number), (5, 7));
        assert_eq!(board.outcome(), &expected);
        assert!(board.is_over());
    }

    #[test]
    fn vertical_win() {
        let board = board(&[0, 1, 0, 1, 0, 1, 0]);
        assert_eq!(
            board.outcome(),
            &won(Seat::One, &[(2, 0), (3, 0), (4, 0), (5, 0)])
        );
    }

    #[test]
    fn vertical_win_for_seat_two() {
        let board = board(&[0, 1, 0, 1, 0, 1, 2, 1]);
        assert_eq!(
            board.outcome(),
            &won(Seat::Two, &[(2, 1), (3, 1), (4, 1), (5, 1)])
        );
    }

    #[test]
    fn rising_diagonal_win() {
        let board = board(&[0, 1, 1, 2, 2, 3, 2, 3, 3, 5, 3]);
        assert_eq!(
            board.outcome(),
            &won(Seat::One, &[(2, 3), (3, 2), (4, 1), (5, 0)])
        );
    }

    #[test]
    fn falling_diagonal_win() {
        let board = board(&[6, 5, 5, 4, 4, 3, 4, 3, 3, 1, 3]);
        assert_eq!(
            board.outcome(),
            &won(Seat::One, &[(2, 3), (3, 4), (4, 5), (5, 6)])
        );
    }

    #[test]
    fn five_in_a_row_lists_all_five_cells() {
        // Seat One fills the gap in the middle of 0, 1, _, 3, 4.
        let board = board(&[0, 0, 1, 1, 3, 3, 4, 4, 2]);
        assert_eq!(
            board.outcome(),
            &won(Seat::One, &[(5, 0), (5, 1), (5, 2), (5, 3), (5, 4)])
        );
    }

    #[test]
    fn crossing_lines_list_every_cell_once() {
        // The last piece, at row 5 column 3, completes the bottom row 0..=3 and the
        // rising diagonal from it up to row 2 column 6.
        let board = board(&[0, 4, 1, 5, 2, 5, 4, 6, 5, 6, 6, 0, 6, 1, 3]);
        assert_eq!(
            board.outcome(),
            &won(
                Seat::One,
                &[(2, 6), (3, 5), (4, 4), (5, 0), (5, 1), (5, 2), (5, 3)]
            )
        );
    }

    #[test]
    fn nothing_is_played_after_a_win() {
        let mut board = board(&[0, 1, 0, 1, 0, 1, 0]);
        let before = board.clone();
        assert_eq!(board.play(2), Err(MoveError::GameOver));
        assert_eq!(board.play_as(Seat::Two, col(2)), Err(MoveError::GameOver));
        assert!(!board.can_play(2));
        assert_eq!(board, before);
    }

    #[test]
    fn full_board_without_four_is_a_draw() {
        let mut board = board(&DRAW[..41]);
        assert_eq!(board.outcome(), &Outcome::InProgress);
        let last = board.play(DRAW[41]).unwrap();
        assert_eq!(last.outcome, Outcome::Draw);
        assert_eq!((last.move_number, last.row, last.seat), (42, 0, Seat::Two));
        assert_eq!(board.outcome(), &Outcome::Draw);
        assert!(board.is_over());
        assert!((0..COLUMNS as u8).all(|column| !board.can_play(column)));
        assert!(board.grid().iter().flatten().all(|&seat| seat != 0));
        assert_eq!(board.play(0), Err(MoveError::GameOver));
    }

    #[test]
    fn replay_to_rewinds_the_game() {
        let board = board(&[3, 3, 4, 2, 5]);
        assert_eq!(board.replay_to(0), Board::new());
        let second = board.replay_to(2);
        assert_eq!(second.moves(), &[3, 3]);
        assert_eq!(second.cell(4, 3), Some(Seat::Two));
        assert_eq!(second.cell(5, 4), None);
        assert_eq!(second.next_seat(), Seat::One);
        assert_eq!(board.replay_to(5), board);
        assert_eq!(board.replay_to(100), board);
    }

    #[test]
    fn replay_to_before_a_win_reopens_the_game() {
        let board = board(&[0, 1, 0, 1, 0, 1, 0]);
        let before_win = board.replay_to(6);
        assert_eq!(before_win.outcome(), &Outcome::InProgress);
        assert!(before_win.can_play(0));
    }

    #[test]
    fn from_moves_reports_the_index_of_the_bad_move() {
        assert_eq!(
            Board::from_moves(&[0, 0, 0, 0, 0, 0, 0]),
            Err((6, MoveError::ColumnFull))
        );
        assert_eq!(
            Board::from_moves(&[0, 1, 9, 2]),
            Err((2, MoveError::ColumnOutOfRange))
        );
        assert_eq!(
            Board::from_moves(&[0, 1, 0, 1, 0, 1, 0, 1]),
            Err((7, MoveError::GameOver))
        );
        assert_eq!(Board::from_moves(&[]), Ok(Board::new()));
    }

    // ---- Property laws -------------------------------------------------------------

    /// Plays a random game: each choice picks one of the columns still open, until the
    /// choices run out or the game ends.
    fn play_choices(choices: &[usize]) -> Board {
        let mut board = Board::new();
        for &choice in choices {
            let open: Vec<u8> = (0..COLUMNS as u8).filter(|&c| board.can_play(c)).collect();
            if open.is_empty() {
                break;
            }
            board.play(open[choice % open.len()]).unwrap();
        }
        board
    }

    fn random_game() -> impl Strategy<Value = Board> {
        prop::collection::vec(0usize..COLUMNS, 0..=CELLS).prop_map(|c| play_choices(&c))
    }

    /// All cells (row, column) of every four-in-a-row of `seat` in the grid, found by
    /// scanning every window of four cells.
    fn naive_fours(grid: &[[u8; COLUMNS]; ROWS], seat: u8) -> Vec<Cell> {
        let mut found = Vec::new();
        for row in 0..ROWS as i32 {
            for column in 0..COLUMNS as i32 {
                for (dr, dc) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
                    let window: Vec<(i32, i32)> =
                        (0..4).map(|k| (row + k * dr, column + k * dc)).collect();
                    let inside = window.iter().all(|&(r, c)| {
                        (0..ROWS as i32).contains(&r) && (0..COLUMNS as i32).contains(&c)
                    });
                    if inside
                        && window
                            .iter()
                            .all(|&(r, c)| grid[r as usize][c as usize] == seat)
                    {
                        found.extend(window.iter().map(|&(r, c)| Cell {
                            row: r as u8,
                            column: c as u8,
                        }));
                    }
                }
            }
        }
        found.sort_by_key(|cell| (cell.row, cell.column));
        found.dedup();
        found
    }

    proptest! {
        #[test]
        fn prop_gravity_holds(board in random_game()) {
            let grid = board.grid();
            // Each row against the row below it: a piece needs a piece under it.
            for (above, below) in grid.iter().zip(grid.iter().skip(1)) {
                for (&upper, &lower) in above.iter().zip(below) {
                    prop_assert!(upper == 0 || lower != 0);
                }
            }
        }

        #[test]
        fn prop_pieces_alternate(board in random_game()) {
            let grid = board.grid();
            let count = |seat: u8| grid.iter().flatten().filter(|&&s| s == seat).count();
            let (one, two) = (count(1), count(2));
            prop_assert!(one == two || one == two + 1);
            prop_assert_eq!(one + two, board.move_count());
            let expected_next = if one == two { Seat::One } else { Seat::Two };
            prop_assert_eq!(board.next_seat(), expected_next);
        }

        #[test]
        fn prop_winner_iff_four_in_a_row(choices in prop::collection::vec(0usize..COLUMNS, 0..=CELLS)) {
            // Checked after every move of the game, not only at its end.
            let full = play_choices(&choices);
            for step in 0..=full.move_count() {
                let board = full.replay_to(step);
                let grid = board.grid();
                let (one, two) = (naive_fours(&grid, 1), naive_fours(&grid, 2));
                match board.outcome() {
                    Outcome::Won { seat, cells } => {
                        let (mine, theirs) = match seat {
                            Seat::One => (&one, &two),
                            Seat::Two => (&two, &one),
                        };
                        prop_assert_eq!(cells, mine);
                        prop_assert!(theirs.is_empty());
                        let last = board.moves().last().copied();
                        prop_assert!(cells.iter().any(|c| Some(c.column) == last));
                    }
                    _ => {
                        prop_assert!(one.is_empty());
                        prop_assert!(two.is_empty());
                    }
                }
            }
        }

        #[test]
        fn prop_game_stops_at_win(board in random_game(), column in 0u8..COLUMNS as u8) {
            if let Outcome::Won { .. } = board.outcome() {
                let mut after = board.clone();
                prop_assert_eq!(after.play(column), Err(MoveError::GameOver));
                prop_assert_eq!(
                    after.play_as(after.next_seat().other(), col(i64::from(column))),
                    Err(MoveError::GameOver)
                );
                prop_assert!(!after.can_play(column));
                prop_assert_eq!(&after, &board);
            }
        }

        #[test]
        fn prop_draw_only_on_full_board(board in random_game()) {
            let full = board.move_count() == CELLS;
            if board.outcome() == &Outcome::Draw {
                prop_assert!(full);
                prop_assert!(board.grid().iter().flatten().all(|&s| s != 0));
            }
            if full {
                prop_assert!(board.is_over());
            }
            if board.outcome() == &Outcome::InProgress {
                prop_assert!((0..COLUMNS as u8).any(|c| board.can_play(c)));
            }
        }

        #[test]
        fn prop_replay_reproduces_board(board in random_game(), step in 0usize..=CELLS + 2) {
            prop_assert_eq!(&Board::from_moves(board.moves()).unwrap(), &board);
            let mut by_hand = Board::new();
            for &column in board.moves().iter().take(step) {
                by_hand.play(column).unwrap();
            }
            prop_assert_eq!(board.replay_to(step), by_hand);
        }
    }
}

//! A perfect 7×6 Connect 4 solver. Scores follow the usual convention: 0 for a draw;
//! `22 − k` if the side to move can force a win with its k-th stone (counting all its
//! stones on the board at that moment, the winning one included); the negative of the
//! opponent's such number if the opponent can force a win. So a score is always within
//! the stones left: at most `(43 − plies) / 2`, at least `−(44 − plies) / 2` (a position
//! whose last move won scores that lower bound), and deeper wins score lower.
//!
//! The parts:
//! - [`position`]: the bitboard position (`current`, `mask`), the move-list parser and
//!   the cheap threat maps the search orders and prunes moves with.
//! - [`table`]: the fixed-size transposition table (key = the position's unique key).
//! - [`book`]: the opening book — every position up to a depth, up to mirror symmetry,
//!   with its score — its compact binary form, and its generation by solving.
//! - [`lines`]: the perfect bot's opening lines — a move that keeps the result for
//!   every position the bot can meet early — proved with null-window searches.
//! - this module: the search. Negamax with alpha-beta over non-losing moves only (a
//!   forced reply is the only move searched, a double threat is a loss without search),
//!   centre-first then most-threats-first move order, and bounds from the table; the
//!   root narrows the score window with null-window searches, probing near zero first.
//!
//! Invariant of the search: `negamax` is only called on positions where neither side
//! can win at once; the root checks the side to move and the non-losing move filter
//! guarantees it for every child.

pub mod book;
mod bounded;
pub mod heuristic;
pub mod lines;
pub mod position;
pub mod table;

pub use book::{Book, BookError};
pub use bounded::Budget;
pub use lines::{Lines, Outcome};
pub use position::{MoveListError, Position, CELLS, HEIGHT, WIDTH};
pub use table::{TranspositionTable, DEFAULT_SLOTS};

/// Lowest score a position can have (a loss to the opponent's 4th stone).
pub const MIN_SCORE: i32 = -(CELLS as i32) / 2 + 3;
/// Highest score a position can have (a win with one's 4th stone).
pub const MAX_SCORE: i32 = (CELLS as i32 + 1) / 2 - 3;

/// Columns in search order: centre first, then outwards.
const COLUMN_ORDER: [usize; WIDTH] = [3, 2, 4, 1, 5, 0, 6];

/// Table byte of an upper bound `score`: 1 ..= MAX_SCORE - MIN_SCORE + 1.
fn upper_bound_byte(score: i32) -> u8 {
    (score - MIN_SCORE + 1) as u8
}

/// Table byte of a lower bound `score`: above every upper bound byte.
fn lower_bound_byte(score: i32) -> u8 {
    (score - MIN_SCORE + MAX_SCORE - MIN_SCORE + 2) as u8
}

/// A bound read back from the table.
enum Bound {
    Upper(i32),
    Lower(i32),
}

fn decode_bound(byte: u8) -> Option<Bound> {
    let value = i32::from(byte);
    let last_upper = MAX_SCORE - MIN_SCORE + 1;
    match value {
        0 => None,
        v if v <= last_upper => Some(Bound::Upper(v + MIN_SCORE - 1)),
        v => Some(Bound::Lower(v + MIN_SCORE - last_upper - 1)),
    }
}

/// The score of a position whose side to move wins with its next stone.
fn immediate_win_score(plies: usize) -> i32 {
    (CELLS as i32 + 1 - plies as i32) / 2
}

/// The solver: a transposition table that persists across positions (entries stay
/// valid, they are exact facts about positions), an optional opening book, and a node
/// counter for benchmarks.
pub struct Solver {
    table: TranspositionTable,
    book: Option<Book>,
    lines: Option<Lines>,
    nodes: u64,
    /// The budget of a bounded search ([`Solver::solve_within`]); unlimited otherwise.
    budget: Budget,
    /// The budget ran out: the search in progress is abandoned, its results unused.
    aborted: bool,
}

impl Solver {
    /// A solver with a table of `slots` entries (8 bytes each) and no book.
    pub fn new(slots: usize) -> Solver {
        Solver {
            table: TranspositionTable::new(slots),
            book: None,
            lines: None,
            nodes: 0,
            budget: Budget::unlimited(),
            aborted: false,
        }
    }

    /// Answers positions the book holds from the book.
    pub fn with_book(mut self, book: Book) -> Solver {
        self.book = Some(book);
        self
    }

    /// Answers [`Solver::line_move`] from `lines`.
    pub fn with_lines(mut self, lines: Lines) -> Solver {
        self.lines = Some(lines);
        self
    }

    /// The opening lines' move in `position` (a column and the result it keeps).
    pub fn line_move(&self, position: &Position) -> Option<(usize, Outcome)> {
        self.lines.as_ref()?.move_for(position)
    }

    /// Positions searched since the solver was built or the counter was reset.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// Sets the node counter to zero.
    pub fn reset_nodes(&mut self) {
        self.nodes = 0;
    }

    /// Forgets the transposition table (for measurements from a cold start).
    pub fn clear_table(&mut self) {
        self.table.clear();
    }

    /// The exact score of `position` (see the module documentation).
    pub fn solve(&mut self, position: &Position) -> i32 {
        let plies = position.plies();
        if position.last_mover_won() {
            return -(CELLS as i32 + 2 - plies as i32) / 2;
        }
        if plies == CELLS {
            return 0;
        }
        if position.can_win_next() {
            return immediate_win_score(plies);
        }
        if let Some(score) = self.book.as_ref().and_then(|book| book.get(position)) {
            return score;
        }
        self.search(position)
    }

    /// True if the exact score of `position` is above `bound`: one null-window search,
    /// much cheaper than the exact score in the opening.
    pub fn score_above(&mut self, position: &Position, bound: i32) -> bool {
        let plies = position.plies();
        if position.last_mover_won() || plies == CELLS || position.can_win_next() {
            return self.solve(position) > bound;
        }
        if let Some(score) = self.book.as_ref().and_then(|book| book.get(position)) {
            return score > bound;
        }
        self.negamax(position, bound, bound + 1) > bound
    }

    /// The score of each of the seven moves for the side to move (the score of the
    /// position after it, from the mover's side), `None` for a full column or when the
    /// game is already over.
    pub fn analyze(&mut self, position: &Position) -> [Option<i32>; WIDTH] {
        let mut scores = [None; WIDTH];
        if position.last_mover_won() {
            return scores;
        }
        for (column, score) in scores.iter_mut().enumerate() {
            if !position.can_play(column) {
                continue;
            }
            *score = Some(if position.is_winning_move(column) {
                immediate_win_score(position.plies())
            } else {
                let mut child = *position;
                child.play_column(column);
                -self.solve(&child)
            });
        }
        scores
    }

    /// Null-window searches narrowing `[min, max]` to the exact score. Each probe
    /// answers "is the score above `mid`?"; probes lean towards zero first, where
    /// the answer is cheapest and most positions lie.
    fn search(&mut self, position: &Position) -> i32 {
        let plies = position.plies() as i32;
        let mut min = -(CELLS as i32 - plies) / 2;
        let mut max = (CELLS as i32 + 1 - plies) / 2;
        while min < max {
            let mut mid = min + (max - min) / 2;
            if mid <= 0 && min / 2 < mid {
                mid = min / 2;
            } else if mid >= 0 && max / 2 > mid {
                mid = max / 2;
            }
            let score = self.negamax(position, mid, mid + 1);
            if score <= mid {
                max = score;
            } else {
                min = score;
            }
        }
        min
    }

    /// Alpha-beta within `(alpha, beta)`: if the true score is at most `alpha`, the
    /// result lies between it and `alpha`; if at least `beta`, between `beta` and it;
    /// otherwise it is the true score. Precondition: nobody can win with the next stone.
    fn negamax(&mut self, position: &Position, mut alpha: i32, mut beta: i32) -> i32 {
        self.nodes += 1;
        if self.out_of_budget() {
            return alpha;
        }
        let plies = position.plies() as i32;
        let candidates = position.non_losing_moves();
        if candidates == 0 {
            // Every move lets the opponent win with its next stone.
            return -(CELLS as i32 - plies) / 2;
        }
        if plies >= CELLS as i32 - 2 {
            // Two cells left and neither side can win with them.
            return 0;
        }
        // The opponent cannot win with its next stone, so not before its one after.
        let floor = -(CELLS as i32 - 2 - plies) / 2;
        if alpha < floor {
            alpha = floor;
            if alpha >= beta {
                return alpha;
            }
        }
        // We cannot win with this stone, so not before the next one.
        let mut ceiling = (CELLS as i32 - 1 - plies) / 2;
        let key = position.key();
        match decode_bound(self.table.get(key)) {
            Some(Bound::Upper(bound)) => ceiling = ceiling.min(bound),
            Some(Bound::Lower(bound)) if alpha < bound => {
                alpha = bound;
                if alpha >= beta {
                    return alpha;
                }
            }
            Some(Bound::Lower(_)) | None => {}
        }
        if beta > ceiling {
            beta = ceiling;
            if alpha >= beta {
                return beta;
            }
        }

        for cell in ordered_moves(position, candidates).into_iter().flatten() {
            let mut child = *position;
            child.play(cell);
            let score = -self.negamax(&child, -beta, -alpha);
            if self.aborted {
                // Nothing learnt past this point is true: store nothing.
                return alpha;
            }
            if score >= beta {
                self.table.put(key, lower_bound_byte(score));
                return score;
            }
            alpha = alpha.max(score);
        }
        self.table.put(key, upper_bound_byte(alpha));
        alpha
    }
}

impl Default for Solver {
    /// A solver with the default table size and no book.
    fn default() -> Solver {
        Solver::new(DEFAULT_SLOTS)
    }
}

/// The cells of `candidates` (one per column at most), most threats first, ties in
/// centre-first column order.
fn ordered_moves(position: &Position, candidates: u64) -> [Option<u64>; WIDTH] {
    let mut scored = [(0u32, 0u64); WIDTH];
    let mut count = 0;
    for column in COLUMN_ORDER {
        let cell = candidates & position::column_cells(column);
        if cell == 0 {
            continue;
        }
        let threats = position.threats_after(cell);
        // Insertion sort, stable: a later column only passes strictly fewer threats.
        let mut at = count;
        while at > 0 && scored[at - 1].0 < threats {
            scored[at] = scored[at - 1];
            at -= 1;
        }
        scored[at] = (threats, cell);
        count += 1;
    }
    let mut moves = [None; WIDTH];
    for (slot, &(_, cell)) in moves.iter_mut().zip(&scored[..count]) {
        *slot = Some(cell);
    }
    moves
}

#[cfg(test)]
mod tests;

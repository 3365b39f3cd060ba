//! The perfect bot's opening lines: for every position the bot can meet in its first
//! moves while it holds a win or a draw, a column that keeps that result. The exact
//! book ([`super::Book`]) would need every position of a depth solved exactly, which
//! takes minutes each in the opening; the lines need only the bot's own positions,
//! one move each, proved with null-window searches ("does this move still win?").
//!
//! Walk: the bot is either side. From each bot position with a win or a draw, the kept
//! move is stored, then every reply of the opponent (except one that lets the bot win
//! at once, which the bot sees without a book) gives the next bot positions, up to
//! `depth` stones. A lost position is not stored and not followed: any move keeps a
//! loss, and the bot searches those itself.
//!
//! Binary form: as the book's (see [`super::book`]) with the magic `C4LINE`; the entry
//! byte holds the column in the canonical orientation (bits 0–2) and the result kept
//! (bits 3–4: 1 a draw, 2 a win). Invariants, checked when reading: keys strictly
//! increasing, columns 0–6, results draw or win.

use std::collections::BTreeMap;

use super::{
    book::{read_entries, write_entries, BookError},
    position::Position,
    Solver, WIDTH,
};

const MAGIC: &[u8; 6] = b"C4LINE";
const EMBEDDED: &[u8] = include_bytes!("lines.bin");
/// Columns in the order moves are tried: the first that keeps the result is kept.
const CENTRE_FIRST: [usize; WIDTH] = [3, 2, 4, 1, 5, 0, 6];

/// What a bot position is worth with best play, from the bot's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Loss = 0,
    Draw = 1,
    Win = 2,
}

/// A stored move: the column in the canonical orientation and the result it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    column: u8,
    outcome: Outcome,
}

impl Entry {
    fn to_byte(self) -> u8 {
        self.column | (self.outcome as u8) << 3
    }

    fn from_byte(byte: u8) -> Option<Entry> {
        let column = byte & 0b111;
        let outcome = match byte >> 3 {
            1 => Outcome::Draw,
            2 => Outcome::Win,
            _ => return None,
        };
        (usize::from(column) < WIDTH).then_some(Entry { column, outcome })
    }
}

/// The perfect bot's opening lines, by canonical key of the bot's position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lines {
    depth: usize,
    /// Sorted by key.
    entries: Vec<(u64, Entry)>,
}

impl Lines {
    /// The lines embedded in the program.
    pub fn embedded() -> Result<Lines, BookError> {
        Lines::from_bytes(EMBEDDED)
    }

    /// Reads the binary form (see the module documentation).
    pub fn from_bytes(bytes: &[u8]) -> Result<Lines, BookError> {
        let (depth, raw) = read_entries(MAGIC, bytes)?;
        let mut entries = Vec::with_capacity(raw.len());
        for (index, (key, byte)) in raw.into_iter().enumerate() {
            let entry = Entry::from_byte(byte).ok_or(BookError::BadValue { entry: index })?;
            entries.push((key, entry));
        }
        Ok(Lines { depth, entries })
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let raw: Vec<(u64, u8)> = self
            .entries
            .iter()
            .map(|&(k, e)| (k, e.to_byte()))
            .collect();
        write_entries(MAGIC, self.depth, &raw)
    }

    /// Bot positions of up to this many stones are covered.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of bot positions stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no position is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The column to play in `position` and the result it keeps, if the lines hold it.
    pub fn move_for(&self, position: &Position) -> Option<(usize, Outcome)> {
        let index = self
            .entries
            .binary_search_by_key(&position.canonical_key(), |&(stored, _)| stored)
            .ok()?;
        let entry = self.entries[index].1;
        Some((oriented(position, usize::from(entry.column)), entry.outcome))
    }

    /// Walks the lines of both sides up to `depth` stones, proving each kept move with
    /// `solver`. `progress(stones, done, total)` is called after each bot position;
    /// `level_done(&lines)` after each number of stones, with the lines so far (complete
    /// up to that many stones), so a long run can be stopped with a usable result.
    pub fn generate(
        depth: usize,
        solver: &mut Solver,
        mut progress: impl FnMut(usize, usize, usize),
        mut level_done: impl FnMut(&Lines),
    ) -> Lines {
        let mut found: BTreeMap<u64, Entry> = BTreeMap::new();
        let depth = depth.min(super::CELLS - 1);
        // Bot positions by stones: the empty board (the bot plays first) and each
        // first move (the bot plays second); replies fill the levels two stones on.
        let mut levels: Vec<BTreeMap<u64, Position>> = vec![BTreeMap::new(); depth + 3];
        levels[0].insert(0, Position::new());
        for column in 0..WIDTH {
            let mut position = Position::new();
            position.play_column(column);
            levels[1].insert(position.canonical_key(), position);
        }
        for stones in 0..=depth {
            let level: Vec<Position> = std::mem::take(&mut levels[stones]).into_values().collect();
            for (done, position) in level.iter().enumerate() {
                if let Some(entry) = kept_move(position, solver) {
                    found.insert(position.canonical_key(), entry);
                    add_replies(
                        position,
                        oriented(position, usize::from(entry.column)),
                        &mut levels[stones + 2],
                    );
                }
                progress(stones, done + 1, level.len());
            }
            level_done(&Lines {
                depth: stones,
                entries: found.iter().map(|(&key, &entry)| (key, entry)).collect(),
            });
        }
        Lines {
            depth,
            entries: found.into_iter().collect(),
        }
    }
}

/// The first column, centre first, keeping the best result `position` allows, or
/// `None` for a lost (or finished) position.
fn kept_move(position: &Position, solver: &mut Solver) -> Option<Entry> {
    if position.last_mover_won() || position.plies() == super::CELLS {
        return None;
    }
    if let Some(column) = (0..WIDTH).find(|&c| position.can_play(c) && position.is_winning_move(c))
    {
        return Some(Entry {
            column: oriented(position, column) as u8,
            outcome: Outcome::Win,
        });
    }
    let outcome = if solver.score_above(position, 0) {
        Outcome::Win
    } else if solver.score_above(position, -1) {
        Outcome::Draw
    } else {
        return None;
    };
    // A move keeps a win if the opponent's score after it is below 0; a draw if ≤ 0.
    let opponent_at_most = if outcome == Outcome::Win { -1 } else { 0 };
    let column = CENTRE_FIRST.into_iter().find(|&column| {
        if !position.can_play(column) {
            return false;
        }
        let mut child = *position;
        child.play_column(column);
        !solver.score_above(&child, opponent_at_most)
    })?;
    Some(Entry {
        column: oriented(position, column) as u8,
        outcome,
    })
}

/// `column` of `position` seen in the canonical orientation, or a canonical column seen
/// on `position`: the mirror when the canonical key is the mirrored one (its own inverse).
fn oriented(position: &Position, column: usize) -> usize {
    if position.mirrored_key() < position.key() {
        WIDTH - 1 - column
    } else {
        column
    }
}

/// Adds to `next` the bot positions after the bot plays `column` in `position` and the
/// opponent replies, skipping replies that lose at once or after which the bot wins at
/// once.
fn add_replies(position: &Position, column: usize, next: &mut BTreeMap<u64, Position>) {
    let mut after = *position;
    if after.is_winning_move(column) {
        return;
    }
    after.play_column(column);
    for reply in (0..WIDTH).filter(|&c| after.can_play(c)) {
        if after.is_winning_move(reply) {
            continue;
        }
        let mut bot = after;
        bot.play_column(reply);
        if bot.plies() < super::CELLS && !bot.can_win_next() {
            next.insert(bot.canonical_key(), bot);
        }
    }
}

#[cfg(test)]
mod tests;

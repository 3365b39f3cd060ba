//! How the computer opponents choose a move — pure: the caller gives the moves so far,
//! a random source and a search [`Budget`]; nothing here reads a clock.
//!
//! - `easy`: a random column, except that it takes an immediate win and never leaves
//!   the opponent an immediate one it could block (a two-ply look).
//! - `medium`: the shallow threat search ([`heuristic`]) six plies deep, but one
//!   move in four is a random column that does not lose at once: it makes mistakes.
//! - `perfect`: the opening lines ([`super::solver::Lines`]) while they cover the
//!   position, then the exact solver. Each column is solved within the budget, in growing
//!   rounds, centre first; a column solved as a win is never passed over for one that
//!   is not. Only when no column could be proved a win and some could not be solved at
//!   all (the opening, where one position takes minutes) does it fall back on the
//!   shallow search, eight plies deep, among the columns not proved to lose.

use rand::{seq::SliceRandom, Rng};

use super::solver::{heuristic, Budget, Position, Solver, CELLS, WIDTH};

/// The strength of a computer opponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BotLevel {
    Easy,
    Medium,
    Perfect,
}

impl BotLevel {
    pub const ALL: [BotLevel; 3] = [BotLevel::Easy, BotLevel::Medium, BotLevel::Perfect];

    pub fn as_str(self) -> &'static str {
        match self {
            BotLevel::Easy => "easy",
            BotLevel::Medium => "medium",
            BotLevel::Perfect => "perfect",
        }
    }

    pub fn parse(text: &str) -> Option<BotLevel> {
        BotLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == text)
    }
}

/// One move in this many is a mistake at `medium`.
const MEDIUM_MISTAKE_ONE_IN: u32 = 4;
const MEDIUM_DEPTH: u32 = 6;
const PERFECT_FALLBACK_DEPTH: u32 = 8;
/// Node budgets of the perfect bot's solving rounds before the last, which gets all
/// that is left; the table carries what each round learnt into the next.
const SOLVE_ROUNDS: [u64; 2] = [20_000, 400_000];
/// Columns centre first, the order ties are broken in.
const CENTRE_FIRST: [usize; WIDTH] = [3, 2, 4, 1, 5, 0, 6];

/// The column (0-based) `level` plays after `moves` (0-based columns, a legal game not
/// yet over); `None` if the game is over.
pub fn choose_move(
    level: BotLevel,
    moves: &[u8],
    rng: &mut impl Rng,
    solver: &mut Solver,
    budget: &Budget,
) -> Option<u8> {
    let position = position_after(moves)?;
    if position.last_mover_won() || position.plies() == CELLS {
        return None;
    }
    let column = match level {
        BotLevel::Easy => easy(&position, rng),
        BotLevel::Medium => medium(&position, rng),
        BotLevel::Perfect => perfect(&position, solver, budget),
    }?;
    Some(column as u8)
}

/// The position after 0-based `moves`, if they are a legal game.
pub fn position_after(moves: &[u8]) -> Option<Position> {
    let mut position = Position::new();
    for &column in moves {
        let column = usize::from(column);
        if position.last_mover_won() || !position.can_play(column) {
            return None;
        }
        position.play_column(column);
    }
    Some(position)
}

fn easy(position: &Position, rng: &mut impl Rng) -> Option<usize> {
    let values = heuristic::column_values(position, 2);
    if let Some(win) = (0..WIDTH).find(|&c| values[c].is_some_and(|v| v >= heuristic::WIN)) {
        return Some(win);
    }
    random_safe(&values, rng)
}

fn medium(position: &Position, rng: &mut impl Rng) -> Option<usize> {
    let values = heuristic::column_values(position, MEDIUM_DEPTH);
    let wins_now = values.iter().flatten().any(|&v| v >= heuristic::WIN);
    if !wins_now && rng.gen_ratio(1, MEDIUM_MISTAKE_ONE_IN) {
        return random_safe(&values, rng);
    }
    best(&values)
}

fn perfect(position: &Position, solver: &mut Solver, budget: &Budget) -> Option<usize> {
    if let Some((column, _)) = solver.line_move(position) {
        return Some(column);
    }
    let solved = solve_columns(position, solver, budget);
    let playable: Vec<usize> = (0..WIDTH).filter(|&c| position.can_play(c)).collect();
    if playable.iter().all(|&c| solved[c].is_some()) || solved.iter().flatten().any(|&s| s > 0) {
        return best(&solved);
    }
    let values = heuristic::column_values(position, PERFECT_FALLBACK_DEPTH);
    // Columns proved to lose are out, unless every column is.
    let mut candidates = values;
    for (candidate, score) in candidates.iter_mut().zip(solved) {
        if score.is_some_and(|score| score < 0) {
            *candidate = None;
        }
    }
    best(&candidates).or_else(|| best(&values))
}

/// The exact score of each playable column, or `None` where the budget did not reach.
fn solve_columns(
    position: &Position,
    solver: &mut Solver,
    budget: &Budget,
) -> [Option<i32>; WIDTH] {
    let mut scores = [None; WIDTH];
    let rounds = SOLVE_ROUNDS
        .iter()
        .map(|&nodes| Budget {
            max_nodes: nodes.min(budget.max_nodes),
            floor: nodes.min(budget.floor),
            stop: budget.stop.clone(),
        })
        .chain(std::iter::once(budget.clone()));
    for round in rounds {
        for column in CENTRE_FIRST {
            if scores[column].is_some() || !position.can_play(column) {
                continue;
            }
            if position.is_winning_move(column) {
                scores[column] = Some(heuristic::WIN);
                return scores;
            }
            let mut child = *position;
            child.play_column(column);
            scores[column] = solver.solve_within(&child, &round).map(|score| -score);
            if scores[column].is_some_and(|score| score > 0) {
                return scores;
            }
        }
        if budget.stopped() {
            break;
        }
    }
    scores
}

/// The highest-valued column, ties broken centre first.
fn best(values: &[Option<i32>; WIDTH]) -> Option<usize> {
    CENTRE_FIRST
        .into_iter()
        .filter(|&c| values[c].is_some())
        .max_by_key(|&c| (values[c], std::cmp::Reverse(centre_rank(c))))
}

fn centre_rank(column: usize) -> usize {
    CENTRE_FIRST
        .iter()
        .position(|&c| c == column)
        .unwrap_or(WIDTH)
}

/// A random column that does not lose at once by the look-ahead of `values`; any
/// playable one when all of them do.
fn random_safe(values: &[Option<i32>; WIDTH], rng: &mut impl Rng) -> Option<usize> {
    let playable: Vec<usize> = (0..WIDTH).filter(|&c| values[c].is_some()).collect();
    let safe: Vec<usize> = playable
        .iter()
        .copied()
        .filter(|&c| values[c].is_some_and(|v| v > -heuristic::WIN / 2))
        .collect();
    let pool = if safe.is_empty() { &playable } else { &safe };
    pool.choose(rng).copied()
}

#[cfg(test)]
mod tests;

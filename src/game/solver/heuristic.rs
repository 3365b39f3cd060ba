//! A shallow search for positions the exact solver cannot settle in time: negamax with
//! alpha-beta to a fixed depth over the solver's own machinery (non-losing moves,
//! threat-ordered moves), valuing the leaves by threats — empty cells that would
//! complete a four for the side to move, less those of the opponent. Wins and losses
//! it sees within its depth are exact (sooner is better); everything else is an
//! estimate, and the bots that use it say so.

use super::{ordered_moves, Position, CELLS, WIDTH};

/// The value of a win found by the search (plus the depth left, so sooner is better).
pub const WIN: i32 = 10_000;

/// The heuristic value of each column for the side to move after searching `depth`
/// plies (`None` for a full column, or for every column when the game is over).
/// Values above [`WIN`] − `depth` are forced wins, below −([`WIN`] − `depth`) forced losses.
pub fn column_values(position: &Position, depth: u32) -> [Option<i32>; WIDTH] {
    let mut values = [None; WIDTH];
    if position.last_mover_won() || position.plies() == CELLS {
        return values;
    }
    for (column, value) in values.iter_mut().enumerate() {
        if !position.can_play(column) {
            continue;
        }
        *value = Some(if position.is_winning_move(column) {
            WIN + depth as i32
        } else {
            let mut child = *position;
            child.play_column(column);
            -negamax(&child, depth.saturating_sub(1), -WIN * 2, WIN * 2)
        });
    }
    values
}

/// Alpha-beta to `depth` plies; the side to move may have won already on entry.
fn negamax(position: &Position, depth: u32, mut alpha: i32, beta: i32) -> i32 {
    if position.can_win_next() {
        return WIN + depth as i32;
    }
    if position.plies() >= CELLS - 1 {
        return 0;
    }
    let candidates = position.non_losing_moves();
    if candidates == 0 {
        // Whatever is played, the opponent wins with its next stone.
        return -(WIN + depth as i32 - 1);
    }
    if depth == 0 {
        return threat_balance(position);
    }
    for cell in ordered_moves(position, candidates).into_iter().flatten() {
        let mut child = *position;
        child.play(cell);
        let value = -negamax(&child, depth - 1, -beta, -alpha);
        if value >= beta {
            return value;
        }
        alpha = alpha.max(value);
    }
    alpha
}

/// Threats of the side to move less the opponent's.
fn threat_balance(position: &Position) -> i32 {
    position.winning_cells().count_ones() as i32
        - position.opponent_winning_cells().count_ones() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(values: [Option<i32>; WIDTH]) -> usize {
        (0..WIDTH).max_by_key(|&c| values[c]).unwrap()
    }

    #[test]
    fn an_immediate_win_is_worth_most() {
        let position = Position::from_moves("112233").unwrap();
        assert_eq!(best(column_values(&position, 4)), 3);
    }

    #[test]
    fn a_threat_the_opponent_would_complete_is_blocked() {
        // The second player must take column 4 (index 3) or lose.
        let position = Position::from_moves("11223").unwrap();
        let values = column_values(&position, 4);
        assert_eq!(best(values), 3);
        assert!(values[0].unwrap() < -WIN / 2);
    }

    #[test]
    fn a_finished_game_has_no_moves() {
        let position = Position::from_moves("1122334").unwrap();
        assert_eq!(column_values(&position, 4), [None; WIDTH]);
    }
}

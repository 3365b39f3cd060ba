//! The solver's laws and known scores, checked against a plain minimax where a brute
//! force is affordable and against the embedded book where it is not.

use std::collections::HashMap;

use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::*;

/// A small table keeps each test case cheap to set up.
const TEST_SLOTS: usize = (1 << 20) + 7;

fn solver() -> Solver {
    Solver::new(TEST_SLOTS)
}

fn position(line: &str) -> Position {
    Position::from_moves(line).expect("test line is legal")
}

/// Plays `choices` as a game from the empty board until `plies` stones are down,
/// turning each choice into the first column from it (cyclically) that is free and
/// does not win at once, so the result is a position nobody has won yet. Returns
/// the moves as a line of digits; shorter when no such column is left.
fn random_line(choices: &[usize], plies: usize) -> String {
    let mut p = Position::new();
    let mut line = String::new();
    for &choice in choices.iter().take(plies) {
        let Some(column) = (0..WIDTH)
            .map(|offset| (choice + offset) % WIDTH)
            .find(|&column| p.can_play(column) && !p.is_winning_move(column))
        else {
            break;
        };
        p.play_column(column);
        line.push(char::from(b'1' + column as u8));
    }
    line
}

/// The exact score by plain minimax over every move, no pruning, no move ordering;
/// the memo only avoids re-visiting transpositions, it never cuts a branch.
fn minimax(p: &Position, memo: &mut HashMap<u64, i32>) -> i32 {
    if p.last_mover_won() {
        return -(CELLS as i32 + 2 - p.plies() as i32) / 2;
    }
    if p.plies() == CELLS {
        return 0;
    }
    if let Some(&score) = memo.get(&p.key()) {
        return score;
    }
    let score = (0..WIDTH)
        .filter(|&column| p.can_play(column))
        .map(|column| {
            let mut child = *p;
            child.play_column(column);
            -minimax(&child, memo)
        })
        .max()
        .expect("a board that is not full has a free column");
    memo.insert(p.key(), score);
    score
}

fn mirrored(line: &str) -> String {
    line.chars()
        .map(|c| char::from(b'8' - (c as u8 - b'0')))
        .collect()
}

#[test]
fn an_immediate_win_scores_by_the_stone_that_wins() {
    // First player to move with three in a row on the bottom: wins with its 4th stone.
    assert_eq!(solver().solve(&position("112233")), 22 - 4);
    // The same win, seen by the side that lost it.
    assert_eq!(solver().solve(&position("1122334")), -(22 - 4));
    // Both ends of 3-4-5 open: the second player cannot stop the 4th stone.
    assert_eq!(solver().solve(&position("41513")), -(22 - 4));
}

#[test]
fn a_full_board_without_four_is_a_draw() {
    // A full board with no four in a row, filled column pair by column pair.
    let line = "121212212121343434434343565656656565777777";
    assert_eq!(solver().solve(&position(line)), 0);
    assert_eq!(solver().solve(&position(&line[..41])), 0);
}

#[test]
fn known_endgames_match_plain_minimax() {
    // Fixed seeds: positions of 30 to 36 stones from random games.
    let mut rng = StdRng::seed_from_u64(15);
    let mut solver = solver();
    for _ in 0..40 {
        let choices: Vec<usize> = (0..CELLS).map(|_| rng.gen_range(0..WIDTH)).collect();
        let line = random_line(&choices, rng.gen_range(30..=36));
        let p = position(&line);
        assert_eq!(solver.solve(&p), minimax(&p, &mut HashMap::new()), "{line}");
    }
}

#[test]
fn the_empty_board_is_a_first_player_win_only_in_the_centre() {
    let book = Book::embedded().expect("the embedded book is valid");
    if book.depth() < 1 {
        return;
    }
    let mut solver = solver().with_book(book);
    let empty = Position::new();
    // The first player wins with its last stone (the 21st) by playing the centre.
    assert_eq!(solver.solve(&empty), 1);
    let expected = [-2, -1, 0, 1, 0, -1, -2].map(Some);
    assert_eq!(solver.analyze(&empty), expected);
}

#[test]
fn analysis_marks_full_columns_and_finished_games() {
    let mut solver = solver();
    // Columns 1 to 6 full, two stones in column 7.
    let p = position("12121221212134343443434356565665656577");
    let scores = solver.analyze(&p);
    assert_eq!(scores, [None, None, None, None, None, None, Some(0)]);
    assert_eq!(solver.analyze(&position("1122334")), [None; WIDTH]);
}

/// Every position of the deepest level of the book is re-solved from scratch here,
/// and at shallow depths that is minutes of search per position: run it in release
/// (`cargo test --release --lib solver -- --ignored`).
#[test]
#[ignore = "solves opening positions by search: minutes each, release only"]
fn the_book_agrees_with_the_search_on_a_sample() {
    let book = Book::embedded().expect("the embedded book is valid");
    let mut searcher = Solver::default();
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..3 {
        let choices: Vec<usize> = (0..CELLS).map(|_| rng.gen_range(0..WIDTH)).collect();
        let line = random_line(&choices, book.depth());
        let p = position(&line);
        assert_eq!(book.get(&p), Some(searcher.solve(&p)), "{line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random endgames (at most 12 empty cells) score what a plain minimax says.
    #[test]
    fn prop_endgames_match_plain_minimax(
        choices in proptest::collection::vec(0usize..WIDTH, CELLS),
        plies in 30usize..=CELLS,
    ) {
        let p = position(&random_line(&choices, plies));
        prop_assert_eq!(solver().solve(&p), minimax(&p, &mut HashMap::new()));
    }

    /// A position's score is the best of its moves' scores (the negamax law), and
    /// never more than the stones left allow.
    #[test]
    fn prop_score_is_the_negamax_of_the_children(
        choices in proptest::collection::vec(0usize..WIDTH, CELLS),
        plies in 24usize..=CELLS,
    ) {
        let mut solver = solver();
        let p = position(&random_line(&choices, plies));
        let score = solver.solve(&p);
        let best = solver.analyze(&p).into_iter().flatten().max();
        match best {
            Some(best) => prop_assert_eq!(score, best),
            None => prop_assert_eq!(score, 0, "only a full board has no move"),
        }
        let left = CELLS as i32 - p.plies() as i32;
        prop_assert!(score <= (left + 1) / 2, "win needs a stone of the mover");
        prop_assert!(score >= -left / 2, "loss needs a stone of the opponent");
        prop_assert!((MIN_SCORE..=MAX_SCORE).contains(&score) || score == 0);
    }

    /// A position and its mirror image score the same.
    #[test]
    fn prop_mirror_images_score_the_same(
        choices in proptest::collection::vec(0usize..WIDTH, CELLS),
        plies in 20usize..=CELLS,
    ) {
        let line = random_line(&choices, plies);
        let mut solver = solver();
        let score = solver.solve(&position(&line));
        solver.clear_table();
        prop_assert_eq!(score, solver.solve(&position(&mirrored(&line))));
    }
}

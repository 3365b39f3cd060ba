//! The levels' promises: every level takes an immediate win and blocks an immediate
//! loss; `perfect` plays a winning move whenever the position is won; a perfect first
//! player beats the weaker levels.

use rand::{rngs::StdRng, Rng, SeedableRng};

use super::*;

fn solver() -> Solver {
    Solver::new(1 << 20)
}

/// Enough for any position of 20 stones or more in a debug build.
fn endgame_budget() -> Budget {
    Budget::nodes(5_000_000)
}

fn play(level: BotLevel, moves: &[u8], seed: u64) -> u8 {
    play_within(level, moves, seed, &endgame_budget())
}

fn play_within(level: BotLevel, moves: &[u8], seed: u64, budget: &Budget) -> u8 {
    let mut rng = StdRng::seed_from_u64(seed);
    choose_move(level, moves, &mut rng, &mut solver(), budget).unwrap()
}

/// The seeds a level is tried with: the random levels many, `perfect` (which uses no
/// randomness) one.
fn seeds(level: BotLevel) -> std::ops::Range<u64> {
    match level {
        BotLevel::Perfect => 0..1,
        _ => 0..20,
    }
}

/// A random game of `plies` moves (0-based columns) in which nobody has won yet.
fn random_game(rng: &mut StdRng, plies: usize) -> Vec<u8> {
    let mut moves = Vec::new();
    let mut position = Position::new();
    while moves.len() < plies {
        let safe: Vec<usize> = (0..WIDTH)
            .filter(|&c| position.can_play(c) && !position.is_winning_move(c))
            .collect();
        let Some(&column) = safe.get(rng.gen_range(0..safe.len().max(1))) else {
            break;
        };
        position.play_column(column);
        moves.push(column as u8);
    }
    moves
}

#[test]
fn every_level_takes_an_immediate_win() {
    // First player: three on the bottom row, the fourth cell (column index 3) free.
    // An opening position: the search cannot settle it, the answer must not need to.
    let budget = Budget::nodes(100_000);
    for level in BotLevel::ALL {
        for seed in seeds(level) {
            let column = play_within(level, &[0, 0, 1, 1, 2, 2], seed, &budget);
            assert_eq!(column, 3, "{level:?}");
        }
    }
}

#[test]
fn every_level_blocks_an_immediate_loss() {
    let budget = Budget::nodes(100_000);
    for level in BotLevel::ALL {
        for seed in seeds(level) {
            let column = play_within(level, &[0, 0, 1, 1, 2], seed, &budget);
            assert_eq!(column, 3, "{level:?}");
        }
    }
}

#[test]
fn perfect_plays_a_winning_move_in_won_positions() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut checked = 0;
    while checked < 12 {
        let moves = random_game(&mut rng, 22);
        let position = position_after(&moves).unwrap();
        if moves.len() < 22 || position.can_win_next() {
            continue;
        }
        let scores = solver().analyze(&position);
        let best = scores.iter().flatten().max().copied().unwrap();
        if best <= 0 {
            continue;
        }
        let column = play(BotLevel::Perfect, &moves, 0);
        let score = scores[usize::from(column)];
        assert!(score.is_some_and(|s| s > 0), "after {moves:?}: {scores:?}");
        checked += 1;
    }
}

#[test]
fn perfect_plays_the_opening_lines_move_without_searching() {
    // Lines that say: on the empty board, play column 0 (bits 3–4: a win).
    let mut bytes = b"C4LINE".to_vec();
    bytes.extend_from_slice(&[1, 0, 1, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 7]);
    bytes.push(2 << 3);
    let lines = crate::game::solver::Lines::from_bytes(&bytes).unwrap();
    let mut solver = Solver::new(1 << 16).with_lines(lines);
    let mut rng = StdRng::seed_from_u64(1);
    let column = choose_move(
        BotLevel::Perfect,
        &[],
        &mut rng,
        &mut solver,
        &Budget::nodes(0),
    );
    assert_eq!(column, Some(0));
    assert_eq!(solver.nodes(), 0);
}

#[test]
fn a_game_that_is_over_has_no_move() {
    assert_eq!(position_after(&[0, 0, 1, 1, 2, 2, 3]).map(|_| ()), Some(()));
    let mut rng = StdRng::seed_from_u64(0);
    let over = [0, 0, 1, 1, 2, 2, 3];
    assert_eq!(
        choose_move(
            BotLevel::Easy,
            &over,
            &mut rng,
            &mut solver(),
            &endgame_budget()
        ),
        None
    );
    assert!(position_after(&[0, 0, 1, 1, 2, 2, 3, 4]).is_none());
    assert!(position_after(&[7]).is_none());
}

#[test]
fn levels_have_stable_names() {
    for level in BotLevel::ALL {
        assert_eq!(BotLevel::parse(level.as_str()), Some(level));
    }
    assert_eq!(BotLevel::parse("hard"), None);
}

/// Plays `first` against `second` from the empty board; returns the winner's seat
/// (1 or 2), or 0 for a draw.
fn bot_game(first: BotLevel, second: BotLevel, seed: u64, budget: &Budget) -> u8 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut moves = Vec::new();
    let book = crate::game::solver::Book::embedded().unwrap();
    let mut solver = Solver::new(1 << 21).with_book(book);
    loop {
        let level = if moves.len() % 2 == 0 { first } else { second };
        let column = choose_move(level, &moves, &mut rng, &mut solver, budget).unwrap();
        let mut position = position_after(&moves).unwrap();
        let won = position.is_winning_move(usize::from(column));
        position.play_column(usize::from(column));
        moves.push(column);
        if won {
            return if moves.len() % 2 == 1 { 1 } else { 2 };
        }
        if moves.len() == 42 {
            return 0;
        }
    }
}

/// Twenty games against each weaker level, with the node budget a move gets in about
/// a second of a release build (`cargo test --release --lib bots -- --ignored`).
#[test]
#[ignore = "searches for up to a second per move: release only"]
fn a_perfect_first_player_beats_easy_and_medium() {
    let budget = Budget::nodes(3_000_000);
    for opponent in [BotLevel::Easy, BotLevel::Medium] {
        for seed in 0..20 {
            assert_eq!(
                bot_game(BotLevel::Perfect, opponent, seed, &budget),
                1,
                "perfect against {opponent:?}, seed {seed}"
            );
        }
    }
}

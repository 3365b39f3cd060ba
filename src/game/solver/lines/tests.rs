use rand::{rngs::StdRng, Rng, SeedableRng};

use super::*;

/// A random game of `plies` stones nobody has won yet, or `None` if one was won.
fn random_position(rng: &mut StdRng, plies: usize) -> Option<Position> {
    let mut position = Position::new();
    while position.plies() < plies {
        let column = rng.gen_range(0..WIDTH);
        if !position.can_play(column) {
            continue;
        }
        if position.is_winning_move(column) {
            return None;
        }
        position.play_column(column);
    }
    Some(position)
}

/// The best result the side to move can force, from the exact scores of its moves.
fn exact_outcome(position: &Position, solver: &mut Solver) -> Outcome {
    match solver.solve(position) {
        s if s > 0 => Outcome::Win,
        0 => Outcome::Draw,
        _ => Outcome::Loss,
    }
}

#[test]
fn the_kept_move_keeps_the_exact_result_of_middle_and_end_games() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut solver = Solver::new(1 << 20);
    let mut checked = [0; 3];
    while checked.iter().sum::<usize>() < 60 {
        let plies = rng.gen_range(16..36);
        let Some(position) = random_position(&mut rng, plies) else {
            continue;
        };
        let outcome = exact_outcome(&position, &mut solver);
        let kept = kept_move(&position, &mut solver);
        checked[outcome as usize] += 1;
        let Some(entry) = kept else {
            assert_eq!(outcome, Outcome::Loss, "a {outcome:?} got no move");
            continue;
        };
        assert_eq!(entry.outcome, outcome);
        let column = oriented(&position, usize::from(entry.column));
        let scores = solver.analyze(&position);
        let best = scores.iter().flatten().max().copied();
        assert_eq!(
            scores[column].map(i32::signum),
            best.map(i32::signum),
            "column {column} does not keep the result"
        );
    }
    assert!(
        checked.iter().all(|&n| n > 0),
        "every outcome met: {checked:?}"
    );
}

#[test]
fn a_mirrored_position_gets_the_mirrored_column() {
    let position = Position::from_moves("1123").unwrap();
    let mirror = Position::from_moves("7765").unwrap();
    let canonical = position.canonical_key();
    let lines = Lines {
        depth: 4,
        entries: vec![(
            canonical,
            Entry {
                column: 1,
                outcome: Outcome::Win,
            },
        )],
    };
    let (a, _) = lines.move_for(&position).unwrap();
    let (b, _) = lines.move_for(&mirror).unwrap();
    assert_eq!(a + b, WIDTH - 1);
    assert!(lines
        .move_for(&Position::from_moves("44").unwrap())
        .is_none());
}

#[test]
fn the_binary_form_round_trips_and_corruption_is_refused() {
    let lines = Lines {
        depth: 2,
        entries: vec![
            (
                3,
                Entry {
                    column: 6,
                    outcome: Outcome::Draw,
                },
            ),
            (
                9,
                Entry {
                    column: 0,
                    outcome: Outcome::Win,
                },
            ),
        ],
    };
    let bytes = lines.to_bytes();
    assert_eq!(Lines::from_bytes(&bytes), Ok(lines));
    let book = super::super::Book::embedded().unwrap().to_bytes();
    assert_eq!(Lines::from_bytes(&book), Err(BookError::NotABook));
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] = 7 | 3 << 3;
    assert_eq!(
        Lines::from_bytes(&bad),
        Err(BookError::BadValue { entry: 1 })
    );
    bad[last] = 0;
    assert_eq!(
        Lines::from_bytes(&bad),
        Err(BookError::BadValue { entry: 1 })
    );
}

#[test]
fn the_empty_board_is_a_win_in_the_centre() {
    let book = super::super::Book::embedded().unwrap();
    let mut solver = Solver::new(1 << 16).with_book(book);
    let lines = Lines::generate(0, &mut solver, |_, _, _| {}, |_| {});
    assert_eq!(lines.move_for(&Position::new()), Some((3, Outcome::Win)));
}

/// Without a solver: every bot position the embedded lines lead to, up to their depth,
/// is covered, and a reply never improves the opponent's result.
#[test]
fn the_embedded_lines_cover_every_reply() {
    let lines = Lines::embedded().expect("the embedded lines are valid");
    let mut level: Vec<Position> = vec![Position::new()];
    let mut later: Vec<Position> = (0..WIDTH)
        .map(|column| {
            let mut position = Position::new();
            position.play_column(column);
            position
        })
        .collect();
    for stones in 0..=lines.depth() {
        let mut next = Vec::new();
        for position in &level {
            let Some((column, outcome)) = lines.move_for(position) else {
                // Only the openings the bot loses are left out: the centre, when the
                // bot plays second.
                assert!(stones <= 1, "no move at {stones} stones");
                continue;
            };
            let mut replies = BTreeMap::new();
            add_replies(position, column, &mut replies);
            for reply in replies.values() {
                if reply.plies() <= lines.depth() {
                    let (_, after) = lines.move_for(reply).unwrap_or_else(|| {
                        panic!("a reply at {} stones is not covered", reply.plies())
                    });
                    assert!(after >= outcome);
                }
                next.push(*reply);
            }
        }
        level = std::mem::replace(&mut later, next);
    }
    assert!(lines.depth() == 0 || !lines.is_empty());
}

/// A sample of the embedded lines' deepest moves re-proved from scratch
/// (`cargo test --release --lib lines -- --ignored`).
#[test]
#[ignore = "seconds of search per position: release only"]
fn the_embedded_lines_agree_with_the_search_on_a_sample() {
    let lines = Lines::embedded().expect("the embedded lines are valid");
    let mut rng = StdRng::seed_from_u64(11);
    let mut checked = 0;
    while checked < 12 && !lines.is_empty() {
        let (key, entry) = lines.entries[rng.gen_range(0..lines.entries.len())];
        let Some(position) = position_with_key(key, lines.depth()) else {
            continue;
        };
        let mut solver = Solver::new(1 << 22);
        let column = usize::from(entry.column);
        let mut child = position;
        let wins_now = position.is_winning_move(column);
        child.play_column(column);
        if !wins_now {
            let opponent_at_most = if entry.outcome == Outcome::Win { -1 } else { 0 };
            assert!(
                !solver.score_above(&child, opponent_at_most),
                "{key}: the move does not keep it"
            );
            if entry.outcome == Outcome::Draw {
                assert!(!solver.score_above(&position, 0), "{key}: a win was let go");
            }
        }
        checked += 1;
    }
}

/// The position (in the canonical orientation) whose key is `key`, found by walking
/// every game of up to `depth` stones.
fn position_with_key(key: u64, depth: usize) -> Option<Position> {
    let mut level = vec![Position::new()];
    for _ in 0..=depth {
        if let Some(found) = level.iter().find(|p| p.key() == key) {
            return Some(*found);
        }
        let mut next = BTreeMap::new();
        for position in &level {
            for column in
                (0..WIDTH).filter(|&c| position.can_play(c) && !position.is_winning_move(c))
            {
                let mut child = *position;
                child.play_column(column);
                next.insert(child.key(), child);
            }
        }
        level = next.into_values().collect();
    }
    None
}

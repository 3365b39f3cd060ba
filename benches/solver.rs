//! Solver benchmark: `cargo bench --bench solver`. Three sets of positions from seeded
//! random games (so every run sees the same positions): endgames, middle games and
//! openings, solved by search alone (no book). Reports the mean, median and slowest
//! time per position and the nodes searched per second. One solver (64 MiB table)
//! serves a whole set without clearing, as it would serve a stream of `solve` lines.

use std::{hint::black_box, time::Instant};

use connect4_arena::game::solver::{Position, Solver, DEFAULT_SLOTS, WIDTH};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A named set: how many positions, and the range of stones on the board.
struct Set {
    name: &'static str,
    count: usize,
    plies: std::ops::RangeInclusive<usize>,
}

const SETS: [Set; 3] = [
    Set {
        name: "endgame",
        count: 1000,
        plies: 28..=34,
    },
    Set {
        name: "middle game",
        count: 200,
        plies: 14..=27,
    },
    Set {
        name: "opening",
        count: 20,
        plies: 8..=13,
    },
];

/// A random game of `plies` stones in which no move wins (every choice falls through
/// to the next free, non-winning column), or `None` if the game runs out of such moves.
fn random_position(rng: &mut StdRng, plies: usize) -> Option<Position> {
    let mut position = Position::new();
    for _ in 0..plies {
        let choice = rng.gen_range(0..WIDTH);
        let column = (0..WIDTH)
            .map(|offset| (choice + offset) % WIDTH)
            .find(|&column| position.can_play(column) && !position.is_winning_move(column))?;
        position.play_column(column);
    }
    Some(position)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2026);
    println!("set          positions  stones   mean µs  median µs     max µs  nodes/position     Mnodes/s");
    for set in SETS {
        let mut positions = Vec::with_capacity(set.count);
        while positions.len() < set.count {
            let plies = rng.gen_range(set.plies.clone());
            positions.extend(random_position(&mut rng, plies));
        }
        let mut solver = Solver::new(DEFAULT_SLOTS);
        let mut times = Vec::with_capacity(positions.len());
        let started = Instant::now();
        for position in &positions {
            let start = Instant::now();
            black_box(solver.solve(black_box(position)));
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        let total = started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let nodes = solver.nodes();
        println!(
            "{:<12} {:>9}  {:>2}–{:<2} {:>9.1} {:>10.1} {:>10.0} {:>15.0} {:>12.2}",
            set.name,
            positions.len(),
            set.plies.start(),
            set.plies.end(),
            mean,
            times[times.len() / 2],
            times[times.len() - 1],
            nodes as f64 / positions.len() as f64,
            nodes as f64 / total / 1e6,
        );
    }
}

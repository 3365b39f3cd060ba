//! Solver benchmark: `cargo bench --bench solver`. Three sets of positions from seeded
//! random games (so every run sees the same positions): endgames, middle games and
//! openings, solved by search alone (no book). Reports the mean, median and slowest
//! wall time per position, the mean CPU time of this thread per position, and the
//! nodes searched per CPU second; on a shared machine the CPU figures are the
//! comparable ones, wall times include waiting for a core. One solver (64 MiB table)
//! serves a whole set without clearing, as it would serve a stream of `solve` lines;
//! positions where the side to move wins at once are left out (they need no search).

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
        count: 10,
        plies: 10..=13,
    },
];

/// A random game of `plies` stones in which no move wins (every choice falls through
/// to the next free, non-winning column), or `None` if the game runs out of such moves
/// or ends where the side to move wins at once (a position that needs no search).
fn random_position(rng: &mut StdRng, plies: usize) -> Option<Position> {
    let mut position = Position::new();
    for _ in 0..plies {
        let choice = rng.gen_range(0..WIDTH);
        let column = (0..WIDTH)
            .map(|offset| (choice + offset) % WIDTH)
            .find(|&column| position.can_play(column) && !position.is_winning_move(column))?;
        position.play_column(column);
    }
    let wins_at_once =
        (0..WIDTH).any(|column| position.can_play(column) && position.is_winning_move(column));
    (!wins_at_once).then_some(position)
}

/// CPU time consumed by this thread, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is available");
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2026);
    println!(
        "set          positions  stones   mean µs  median µs     max µs  CPU µs  nodes/position  Mnodes/CPU s"
    );
    for set in SETS {
        let mut positions = Vec::with_capacity(set.count);
        while positions.len() < set.count {
            let plies = rng.gen_range(set.plies.clone());
            positions.extend(random_position(&mut rng, plies));
        }
        let mut solver = Solver::new(DEFAULT_SLOTS);
        // Touch the whole table once so page faults are not timed.
        solver.clear_table();
        let mut times = Vec::with_capacity(positions.len());
        let cpu_started = thread_cpu_seconds();
        for position in &positions {
            let start = Instant::now();
            black_box(solver.solve(black_box(position)));
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        let cpu = thread_cpu_seconds() - cpu_started;
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let nodes = solver.nodes();
        println!(
            "{:<12} {:>9}  {:>2}–{:<2} {:>9.1} {:>10.1} {:>10.0} {:>7.1} {:>15.0} {:>13.2}",
            set.name,
            positions.len(),
            set.plies.start(),
            set.plies.end(),
            mean,
            times[times.len() / 2],
            times[times.len() - 1],
            cpu / positions.len() as f64 * 1e6,
            nodes as f64 / positions.len() as f64,
            nodes as f64 / cpu / 1e6,
        );
    }
}

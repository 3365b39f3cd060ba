//! Solver searches under a wall-clock budget, shared by the bots and the analysis.
//!
//! A search runs on the blocking pool so it never holds up the async workers. Its clock
//! starts when the search itself starts — after the blocking pool picked it up and its
//! transposition table exists — not when it was queued: on a busy machine an answer
//! comes later, but the search still gets its whole time. When the time is up the
//! search's stop flag is raised and the search answers with what it has (see
//! [`Budget`]); a search may ask for a floor of nodes always searched, so that a
//! position that needs only a few (an endgame, an immediate win) is solved however
//! loaded the machine is.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::{ServiceError, ServiceResult};
use crate::game::solver::{Book, BookError, Budget, Lines, Solver};

/// Transposition table of one search: 2^21 slots, 16 MiB.
const TABLE_SLOTS: usize = 1 << 21;

/// A solver with its own table, reading the opening book and lines when there are.
pub fn new_solver(openings: Openings) -> Solver {
    let mut solver = Solver::new(TABLE_SLOTS);
    if let Some(book) = openings.book {
        solver = solver.with_book(book);
    }
    if let Some(lines) = openings.lines {
        solver = solver.with_lines(lines);
    }
    solver
}

/// The embedded opening book and lines, read once at start-up and shared by the bots
/// and the analysis; each `None` if unreadable (logged then; the solver then searches
/// the opening).
#[derive(Clone, Default)]
pub struct Openings {
    book: Option<Book>,
    lines: Option<Lines>,
}

impl Openings {
    pub fn embedded() -> Openings {
        let log = |err: &BookError| tracing::error!(error = %err, "opening book unreadable");
        Openings {
            book: Book::embedded().inspect_err(log).ok(),
            lines: Lines::embedded().inspect_err(log).ok(),
        }
    }
}

/// How much one search may spend: wall-clock time from its start, and a node cap;
/// the clock is not read before `floor` nodes (of each bounded solve).
#[derive(Clone, Copy, Debug)]
pub struct SearchLimits {
    pub time: Duration,
    pub floor: u64,
    pub max_nodes: u64,
}

/// Runs `prepare` and then `search` on the blocking pool, holding `slot` until the
/// search is done; `search` gets a budget whose stop flag rises `limits.time` after
/// `prepare` returned.
pub async fn timed_search<S, T>(
    slot: OwnedSemaphorePermit,
    limits: SearchLimits,
    prepare: impl FnOnce() -> S + Send + 'static,
    search: impl FnOnce(S, &Budget) -> T + Send + 'static,
) -> ServiceResult<T>
where
    T: Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let budget = Budget::until(Arc::clone(&stop), limits.floor, limits.max_nodes);
    let (started, start) = oneshot::channel::<()>();
    let timer = tokio::spawn(async move {
        if start.await.is_ok() {
            tokio::time::sleep(limits.time).await;
            stop.store(true, Ordering::Relaxed);
        }
    });
    let running = tokio::task::spawn_blocking(move || {
        let prepared = prepare();
        let _ = started.send(());
        let found = search(prepared, &budget);
        drop(slot);
        found
    });
    let found = running.await.map_err(|_| ServiceError::Unavailable);
    timer.abort();
    found
}

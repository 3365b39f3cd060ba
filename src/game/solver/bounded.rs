//! Searches that may give up: the exact solver under a [`Budget`] of nodes and a stop
//! flag the caller raises (the server raises it when its time budget for a move or an
//! analysis is spent; this module reads no clock). A search that runs out answers
//! `None` — an unsolved position is reported as such, never guessed — and leaves the
//! transposition table holding only facts: nothing is stored once the budget is gone.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use super::{Position, Solver, WIDTH};

/// How often (in nodes) a bounded search looks at its stop flag.
const STOP_CHECK_EVERY: u64 = 1 << 12;

/// How much a bounded search may spend: at most `max_nodes` nodes, and no more once
/// `stop` is raised — though the flag is only read after the first `floor` nodes, so a
/// position that needs fewer is always solved.
#[derive(Clone, Debug)]
pub struct Budget {
    pub max_nodes: u64,
    pub floor: u64,
    pub stop: Option<Arc<AtomicBool>>,
}

impl Budget {
    /// No limit (the plain solver).
    pub fn unlimited() -> Budget {
        Budget::nodes(u64::MAX)
    }

    /// At most `max_nodes` nodes.
    pub fn nodes(max_nodes: u64) -> Budget {
        Budget {
            max_nodes,
            floor: 0,
            stop: None,
        }
    }

    /// Until `stop` is raised, read after the first `floor` nodes (and at most
    /// `max_nodes` nodes).
    pub fn until(stop: Arc<AtomicBool>, floor: u64, max_nodes: u64) -> Budget {
        Budget {
            max_nodes,
            floor,
            stop: Some(stop),
        }
    }

    /// True once the flag is raised.
    pub fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

impl Solver {
    /// The exact score of `position`, or `None` if the budget ran out first. The budget
    /// counts from this call's first node.
    pub fn solve_within(&mut self, position: &Position, budget: &Budget) -> Option<i32> {
        self.begin_budget(budget);
        let score = self.solve(position);
        self.end_budget().then_some(score)
    }

    /// [`Solver::analyze`] under one budget shared by the seven moves: `None` if any
    /// move could not be solved in it.
    pub fn analyze_within(
        &mut self,
        position: &Position,
        budget: &Budget,
    ) -> Option<[Option<i32>; WIDTH]> {
        self.begin_budget(budget);
        let scores = self.analyze(position);
        self.end_budget().then_some(scores)
    }

    fn begin_budget(&mut self, budget: &Budget) {
        self.budget = Budget {
            max_nodes: self.nodes.saturating_add(budget.max_nodes),
            floor: self.nodes.saturating_add(budget.floor),
            stop: budget.stop.clone(),
        };
        self.aborted = false;
    }

    /// True if the search finished within its budget; lifts the budget.
    fn end_budget(&mut self) -> bool {
        self.budget = Budget::unlimited();
        !std::mem::take(&mut self.aborted)
    }

    /// Called on every node: true (and the search aborted) once the budget is spent.
    pub(super) fn out_of_budget(&mut self) -> bool {
        if !self.aborted
            && (self.nodes >= self.budget.max_nodes
                || (self.nodes % STOP_CHECK_EVERY == 0
                    && self.nodes >= self.budget.floor
                    && self.budget.stopped()))
        {
            self.aborted = true;
        }
        self.aborted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endgame_is_solved_within_a_small_budget() {
        let position = Position::from_moves("44444475555567").unwrap();
        let exact = Solver::new(1 << 16).solve(&position);
        let bounded = Solver::new(1 << 16).solve_within(&position, &Budget::nodes(1_000_000));
        assert_eq!(bounded, Some(exact));
    }

    #[test]
    fn an_opening_is_not_guessed_when_the_budget_runs_out() {
        let position = Position::from_moves("44").unwrap();
        let mut solver = Solver::new(1 << 16);
        assert_eq!(solver.solve_within(&position, &Budget::nodes(1_000)), None);
        assert!(solver
            .analyze_within(&position, &Budget::nodes(1_000))
            .is_none());
    }

    #[test]
    fn a_raised_stop_flag_ends_the_search() {
        let stop = Arc::new(AtomicBool::new(true));
        let position = Position::from_moves("4").unwrap();
        let mut solver = Solver::new(1 << 16);
        assert_eq!(
            solver.solve_within(&position, &Budget::until(Arc::clone(&stop), 0, u64::MAX)),
            None
        );
    }

    #[test]
    fn the_stop_flag_is_not_read_before_the_floor() {
        let stop = Arc::new(AtomicBool::new(true));
        let position = Position::from_moves("44444475555567").unwrap();
        let exact = Solver::new(1 << 16).solve(&position);
        let no_floor = Budget::until(Arc::clone(&stop), 0, u64::MAX);
        assert_eq!(
            Solver::new(1 << 16).solve_within(&position, &no_floor),
            None
        );
        let floor = Budget::until(stop, 5_000_000, u64::MAX);
        assert_eq!(
            Solver::new(1 << 16).solve_within(&position, &floor),
            Some(exact)
        );
    }

    #[test]
    fn an_aborted_search_leaves_only_facts_behind() {
        let position = Position::from_moves("444444755555").unwrap();
        let mut solver = Solver::new(1 << 20);
        assert_eq!(solver.solve_within(&position, &Budget::nodes(2_000)), None);
        let fresh = Solver::new(1 << 20).solve(&position);
        assert_eq!(solver.solve(&position), fresh);
    }
}

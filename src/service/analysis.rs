//! Analysis of a game by the solver: for each ply, the score of the position before
//! the move, the best columns, the score of the column played and a verdict.
//!
//! Scores follow the solver's convention, from the side of the player to move (0 a
//! draw, positive a win, sooner is higher). Each position gets a budget
//! ([`POSITION_BUDGET`]); a position not solved within it is reported as unsolved,
//! never guessed — in practice the first few plies, where one position takes minutes.
//! Results are cached per position (bounded), unsolved ones too, so a game is analysed
//! once however often its replay is opened. The search runs on the blocking pool, one
//! position at a time on the whole instance ([`ANALYSIS_SLOTS`]), so analyses cannot
//! starve the bots or the rest of the server of cores; a request that cannot get its
//! turn within [`SLOT_WAIT`] is answered `server_busy`.
//!
//! Positions are analysed from the last to the first: late positions are cheap, and
//! what the transposition table learns from them speeds up the earlier ones.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use poem_openapi::Object;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::{
    domain::GameId,
    search::{new_solver, timed_search, Openings, SearchLimits},
    transaction::GameStore,
    ServiceError, ServiceResult,
};
use crate::game::{
    bots::position_after,
    solver::{Position, Solver, WIDTH},
};

/// How long the solver may spend on one position.
pub const POSITION_BUDGET: Duration = Duration::from_millis(250);
/// Analyses searching at once on an instance.
const ANALYSIS_SLOTS: usize = 1;
/// How long a request waits for its turn before `server_busy`.
const SLOT_WAIT: Duration = Duration::from_secs(10);
/// Positions remembered.
const CACHE_POSITIONS: u64 = 200_000;
/// Nodes searched on every position whatever the clock says: late positions, which
/// need fewer, are solved however busy the machine is.
const FLOOR_NODES: u64 = 200_000;
/// A node cap per position on top of the time budget.
const MAX_NODES: u64 = 20_000_000;

/// The scores of a position's seven columns (`None`: full), or `None` if the position
/// could not be solved within its budget.
type ColumnScores = Option<[Option<i32>; WIDTH]>;

/// One ply of an analysed game.
#[derive(Clone, Debug, PartialEq, Eq, Object, Serialize)]
pub struct PlyAnalysis {
    /// 1-based number of the move.
    pub ply: u32,
    /// The seat that played it (1 or 2).
    pub player: u8,
    /// The column played, 0 (left) to 6.
    pub column: u8,
    /// False when the position before the move could not be solved within the budget:
    /// the scores and best columns are then absent and the verdict is `unsolved`.
    pub solved: bool,
    /// The score of the position before the move, for the player who moved.
    pub score_before: Option<i32>,
    /// The columns that keep that score.
    pub best_columns: Vec<u8>,
    /// The score after the move played, for the player who moved.
    pub move_score: Option<i32>,
    /// The score of each column (`null`: full), for the player who moved.
    pub column_scores: Vec<Option<i32>>,
    /// `best` | `inaccuracy` (same result, a little slower to win or quicker to lose)
    /// | `mistake` (same result, much slower or quicker) | `blunder` (the theoretical
    /// result changed: a win let go or a draw lost) | `unsolved`.
    pub verdict: String,
}

/// A game's analysis, ply by ply.
#[derive(Clone, Debug, PartialEq, Eq, Object, Serialize)]
pub struct GameAnalysis {
    /// The game, when a stored game was analysed.
    pub game_id: Option<String>,
    /// The columns analysed (0-based), in order.
    pub moves: Vec<u8>,
    pub plies: Vec<PlyAnalysis>,
    /// Plies whose position was solved.
    pub solved_plies: u32,
}

/// Score difference up to which a move that keeps the result is an inaccuracy.
const INACCURACY_MAX: i32 = 2;

/// The verdict on a move scoring `played` where `best` was possible.
pub fn verdict(best: i32, played: i32) -> &'static str {
    if played >= best {
        "best"
    } else if best.signum() != played.signum() {
        "blunder"
    } else if best - played <= INACCURACY_MAX {
        "inaccuracy"
    } else {
        "mistake"
    }
}

/// The analysis service: the cache, the slot, the opening book.
pub struct Analysis {
    store: Arc<GameStore>,
    cache: Cache<u64, ColumnScores>,
    slots: Arc<Semaphore>,
    openings: Openings,
}

impl Analysis {
    pub fn new(store: Arc<GameStore>, openings: Openings) -> Analysis {
        Analysis {
            store,
            cache: Cache::new(CACHE_POSITIONS),
            slots: Arc::new(Semaphore::new(ANALYSIS_SLOTS)),
            openings,
        }
    }

    /// The analysis of a stored game (finished or in progress).
    pub async fn game(&self, game_id: &GameId) -> ServiceResult<GameAnalysis> {
        let state = self.store.load(game_id).await?;
        let mut analysis = self.moves(state.moves).await?;
        analysis.game_id = Some(game_id.to_string());
        Ok(analysis)
    }

    /// The analysis of a move list (0-based columns, a legal game).
    pub async fn moves(&self, moves: Vec<u8>) -> ServiceResult<GameAnalysis> {
        check_move_list(&moves)?;
        let mut scores = vec![None; moves.len()];
        let mut solver = None;
        for ply in (0..moves.len()).rev() {
            let position = position_after(&moves[..ply]).ok_or(ServiceError::Unavailable)?;
            scores[ply] = match self.cache.get(&position.key()).await {
                Some(cached) => cached,
                None => {
                    let (back, found) = self.solve(solver.take(), position).await?;
                    solver = Some(back);
                    self.cache.insert(position.key(), found).await;
                    found
                }
            };
        }
        let plies: Vec<PlyAnalysis> = moves
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(index, (&column, found))| ply_analysis(index, column, found))
            .collect();
        Ok(GameAnalysis {
            game_id: None,
            solved_plies: plies.iter().filter(|p| p.solved).count() as u32,
            moves,
            plies,
        })
    }

    /// Solves one position on the blocking pool within [`POSITION_BUDGET`] of its own search
    /// time (queueing for the pool does not count), reusing
    /// `solver` (its table) when given; hands the solver back.
    async fn solve(
        &self,
        solver: Option<Solver>,
        position: Position,
    ) -> ServiceResult<(Solver, ColumnScores)> {
        let slot = tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| ServiceError::ServerBusy {
                retry_after: Duration::from_secs(5),
            })?
            .map_err(|_| ServiceError::Unavailable)?;
        let openings = self.openings.clone();
        let limits = SearchLimits {
            time: POSITION_BUDGET,
            floor: FLOOR_NODES,
            max_nodes: MAX_NODES,
        };
        let prepare = move || solver.unwrap_or_else(|| new_solver(openings));
        timed_search(slot, limits, prepare, move |mut solver, budget| {
            let found = solver.analyze_within(&position, budget);
            (solver, found)
        })
        .await
    }
}

/// Refuses a move list that is not a legal game: a column out of 0–6, a move into a
/// full column or after the game was won.
fn check_move_list(moves: &[u8]) -> ServiceResult<()> {
    let mut position = Position::new();
    for (index, &column) in moves.iter().enumerate() {
        let column = usize::from(column);
        let problem = if column >= WIDTH {
            Some("is not a column (0 to 6)")
        } else if position.last_mover_won() {
            Some("comes after the game was won")
        } else if !position.can_play(column) {
            Some("is played into a full column")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ServiceError::InvalidMoveList(format!(
                "move {} (column {column}) {problem}",
                index + 1
            )));
        }
        position.play_column(column);
    }
    Ok(())
}

fn ply_analysis(index: usize, column: u8, found: ColumnScores) -> PlyAnalysis {
    let player = if index % 2 == 0 { 1 } else { 2 };
    let mut ply = PlyAnalysis {
        ply: index as u32 + 1,
        player,
        column,
        solved: false,
        score_before: None,
        best_columns: Vec::new(),
        move_score: None,
        column_scores: Vec::new(),
        verdict: "unsolved".into(),
    };
    let Some(scores) = found else {
        return ply;
    };
    let best = scores.iter().flatten().max().copied();
    let played = scores.get(usize::from(column)).copied().flatten();
    if let (Some(best), Some(played)) = (best, played) {
        ply.solved = true;
        ply.score_before = Some(best);
        ply.best_columns = (0..WIDTH as u8)
            .filter(|&c| scores[usize::from(c)] == Some(best))
            .collect();
        ply.move_score = Some(played);
        ply.verdict = verdict(best, played).into();
        ply.column_scores = scores.to_vec();
    }
    ply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_grade_by_how_much_is_lost() {
        assert_eq!(verdict(5, 5), "best");
        assert_eq!(verdict(5, 4), "inaccuracy");
        assert_eq!(verdict(5, 1), "mistake");
        assert_eq!(verdict(5, 0), "blunder");
        assert_eq!(verdict(0, -3), "blunder");
        assert_eq!(verdict(-2, -3), "inaccuracy");
        assert_eq!(verdict(-2, -9), "mistake");
    }

    #[test]
    fn illegal_move_lists_say_which_move_is_wrong() {
        assert!(check_move_list(&[3, 3, 2]).is_ok());
        let err = |moves: &[u8]| check_move_list(moves).unwrap_err().to_string();
        assert!(err(&[3, 7]).contains("move 2"));
        assert!(err(&[0, 0, 0, 0, 0, 0, 0]).contains("full column"));
        assert!(err(&[0, 1, 0, 1, 0, 1, 0, 2]).contains("after the game was won"));
    }

    #[test]
    fn an_unsolved_ply_is_marked_not_guessed() {
        let ply = ply_analysis(0, 3, None);
        assert!(!ply.solved);
        assert_eq!(ply.verdict, "unsolved");
        assert_eq!(ply.score_before, None);
    }
}

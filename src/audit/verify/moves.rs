//! The audited moves against the `moves` table. Each `(game_id, move_number)` has one
//! `move` line and at most one `move_recovered` line, or only one `move_recovered` line:
//! a move stored by an instance that crashed before auditing it is audited by the
//! instance that reconciles it, and if the crashed instance's own line reached its file
//! too, both exist (counted, not flagged). A second line of the same kind is a
//! duplicate; every audited move must be stored with the same column, and every stored
//! move audited.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use super::{scan::AuditedMove, Finding, Place, Report};
use crate::cold::StoredMoveKey;

type MoveKey = (String, i64);

/// Where a move is audited: file, line, column.
struct Audit<'a> {
    path: &'a Path,
    line: usize,
    column: i64,
}

/// The audit lines of one move.
#[derive(Default)]
struct Audits<'a> {
    moves: Vec<Audit<'a>>,
    recovered: Vec<Audit<'a>>,
}

/// Checks the moves audited in `files` against `stored`, the rows of the `moves` table.
pub(super) fn check_moves(
    files: &[(PathBuf, Vec<AuditedMove>)],
    stored: &[StoredMoveKey],
    report: &mut Report,
) {
    let audits = audits_by_move(files, report);
    let table: HashMap<MoveKey, i64> = stored
        .iter()
        .map(|row| ((row.game_id.clone(), row.move_number), row.column))
        .collect();
    for ((game_id, number), entry) in &audits {
        report.problems.extend(entry.duplicates(game_id, *number));
        if !entry.moves.is_empty() && !entry.recovered.is_empty() {
            report.recovered_and_audited += 1;
        }
        let column = table.get(&(game_id.clone(), *number)).copied();
        report
            .problems
            .extend(entry.unlike_table(game_id, *number, column));
    }
    for row in stored {
        if !audits.contains_key(&(row.game_id.clone(), row.move_number)) {
            report.problems.push(Finding {
                place: Place::StoredMove {
                    game_id: row.game_id.clone(),
                    move_number: row.move_number,
                },
                reason: "stored, but audited in none of the files given".into(),
            });
        }
    }
}

/// The audit lines of each move; a move line without its key is a problem.
fn audits_by_move<'a>(
    files: &'a [(PathBuf, Vec<AuditedMove>)],
    report: &mut Report,
) -> BTreeMap<MoveKey, Audits<'a>> {
    let mut audits: BTreeMap<MoveKey, Audits> = BTreeMap::new();
    for (path, moves) in files {
        for audited in moves {
            let Some((game_id, number, column)) = &audited.key else {
                report.problems.push(Finding::at_line(
                    path,
                    audited.line,
                    "a move event without game_id, data.move_number or data.column".into(),
                ));
                continue;
            };
            let entry = audits.entry((game_id.clone(), *number)).or_default();
            let list = if audited.recovered {
                &mut entry.recovered
            } else {
                &mut entry.moves
            };
            list.push(Audit {
                path,
                line: audited.line,
                column: *column,
            });
        }
    }
    audits
}

impl Audits<'_> {
    /// Every line after the first of its kind.
    fn duplicates(&self, game_id: &str, number: i64) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (kind, list) in [("move", &self.moves), ("move_recovered", &self.recovered)] {
            if let Some((first, again)) = list.split_first() {
                for duplicate in again {
                    findings.push(Finding::at_line(
                        duplicate.path,
                        duplicate.line,
                        format!(
                            "duplicate: move {number} of game {game_id} is already audited as \
                             {kind} at {}:{}",
                            first.path.display(),
                            first.line
                        ),
                    ));
                }
            }
        }
        findings
    }

    /// Every line the `moves` table contradicts: the move is not stored (`column` is
    /// `None`), or stored in another column.
    fn unlike_table(&self, game_id: &str, number: i64, column: Option<i64>) -> Vec<Finding> {
        let all = self.moves.iter().chain(&self.recovered);
        match column {
            None => all
                .map(|audit| {
                    Finding::at_line(
                        audit.path,
                        audit.line,
                        format!(
                            "move {number} of game {game_id} is audited but not in the moves table"
                        ),
                    )
                })
                .collect(),
            Some(column) => all
                .filter(|audit| audit.column != column)
                .map(|audit| {
                    Finding::at_line(
                        audit.path,
                        audit.line,
                        format!(
                            "move {number} of game {game_id} is audited in column {}, the moves \
                             table has column {column}",
                            audit.column
                        ),
                    )
                })
                .collect(),
        }
    }
}

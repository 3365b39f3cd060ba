//! `connect4-arena verify`: checks audit files.
//!
//! Alone ([`verify_files`], [`verify_chains`]) it re-checks each file's hash chain and
//! names every line that was altered (its hash no longer matches), or whose predecessor
//! was removed or moved (its `prev` no longer matches the line before it). A chain that
//! is intact on its own can still have lost its tail, been rewritten whole, or have had
//! a correctly chained line appended; [`verify_against`] catches those with the anchors
//! the instances recorded in the database (chains are named by the hash of their first
//! line), and cross-checks the audited moves against the `moves` table: for each
//! `(game_id, move_number)` exactly one `move` line and at most one `move_recovered`
//! line, or no `move` line and exactly one `move_recovered` line (the instance that
//! reconciles a move stored by a crashed instance audits it; if the crashed instance's
//! own line had reached its file too, both exist). The files given are taken to be the
//! whole audit log: every stored move and every anchored chain must be in them.
//!
//! Each file is read once (`scan`); its chain is then checked against the anchors of
//! that chain (`anchors`), and once every file is read, the audited moves against the
//! table (`moves`).

mod anchors;
mod moves;
mod scan;

use std::{
    collections::{HashMap, HashSet},
    fmt, io,
    path::{Path, PathBuf},
};

use self::{
    anchors::ChainAnchors,
    moves::check_moves,
    scan::{scan_file, AuditedMove},
};
use super::sha256_hex;
use crate::cold::{entities::audit_anchor, Cold, ColdError, StoredMoveKey};

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// The hash-chain result for one file.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub lines: usize,
    pub problems: Vec<Problem>,
}

/// Where a finding of [`Report`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A line of an audit file (1-based).
    Line { path: PathBuf, line: usize },
    /// A row of the `moves` table.
    StoredMove { game_id: String, move_number: i64 },
    /// A chain the database has anchors for, found in none of the files given.
    Chain { instance: String, file: String },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line { path, line } => write!(f, "{}:{line}", path.display()),
            Place::StoredMove {
                game_id,
                move_number,
            } => write!(f, "moves table: game {game_id} move {move_number}"),
            Place::Chain { instance, file } => {
                write!(f, "anchors: instance {instance}, file {file}")
            }
        }
    }
}

/// One problem, where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub place: Place,
    pub reason: String,
}

impl Finding {
    fn at_line(path: &Path, line: usize, reason: String) -> Finding {
        Finding {
            place: Place::Line {
                path: path.to_path_buf(),
                line,
            },
            reason,
        }
    }
}

/// One file as verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    pub path: PathBuf,
    pub lines: usize,
    /// The most lines an anchor of this file's chain covers (`None`: no anchor, or no database).
    pub anchored: Option<usize>,
}

/// The result of a verification.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub files: Vec<FileSummary>,
    /// Everything wrong, each with its file and line, moves-table row or chain.
    pub problems: Vec<Finding>,
    /// Facts worth knowing that are not problems.
    pub notes: Vec<String>,
    /// True when anchors and the moves table were checked too (a database was given).
    pub cross_checked: bool,
    /// Rows of the `moves` table.
    pub stored_moves: usize,
    /// `move` and `move_recovered` lines in the files.
    pub audited_moves: usize,
    /// Moves audited twice, by design: by the instance that stored them and crashed
    /// (`move`) and by the one that reconciled them (`move_recovered`).
    pub recovered_and_audited: usize,
}

impl Report {
    /// No problem found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems at one file's lines, as `(line, reason)`.
    pub fn problems_in(&self, path: &Path) -> Vec<(usize, &str)> {
        self.problems
            .iter()
            .filter_map(|finding| match &finding.place {
                Place::Line { path: at, line } if at == path => {
                    Some((*line, finding.reason.as_str()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Why a verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("database: {0}")]
    Database(#[from] ColdError),
}

fn read_error(path: &Path, source: io::Error) -> VerifyError {
    VerifyError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// Splits a line into its body (as hashed) and its recorded hash.
pub(super) fn split_hash(line: &str) -> Option<(String, &str)> {
    let start = line.rfind(",\"hash\":\"")?;
    let hash = line[start + 9..].strip_suffix("\"}")?;
    (hash.len() == 64).then(|| (format!("{}}}", &line[..start]), hash))
}

/// A line's hash as the next line's `prev` refers to it: the recorded one, or (for a line
/// without one) the hash of its text.
pub(super) fn line_hash(line: &str) -> String {
    split_hash(line)
        .map(|(_, hash)| hash.to_string())
        .unwrap_or_else(|| sha256_hex(line.as_bytes()))
}

/// The text of one line read with its end-of-line, as `str::lines` would give it.
pub(super) fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Verifies each file's hash chain independently.
pub fn verify_files(paths: &[PathBuf]) -> io::Result<Vec<FileReport>> {
    let none = HashSet::new();
    paths
        .iter()
        .map(|path| scan_file(path, &none).map(|scanned| scanned.report))
        .collect()
}

/// Checks the hash chains only (no database): the plain file mode.
pub fn verify_chains(paths: &[PathBuf]) -> Result<Report, VerifyError> {
    let none = HashSet::new();
    let mut report = Report::default();
    for path in paths {
        let scanned = scan_file(path, &none).map_err(|source| read_error(path, source))?;
        add_chain_problems(&mut report, scanned.report, None);
    }
    Ok(report)
}

/// Checks the hash chains, the anchors recorded in `cold` and the `moves` table against
/// `paths`, which must be the whole audit log (every instance's files).
pub async fn verify_against(cold: &Cold, paths: &[PathBuf]) -> Result<Report, VerifyError> {
    let anchors = cold.audit_anchors().await?;
    let stored = cold.stored_move_keys().await?;
    cross_check(paths, &anchors, &stored)
}

fn add_chain_problems(report: &mut Report, file: FileReport, anchored: Option<usize>) {
    report.files.push(FileSummary {
        path: file.path.clone(),
        lines: file.lines,
        anchored,
    });
    for problem in file.problems {
        report
            .problems
            .push(Finding::at_line(&file.path, problem.line, problem.reason));
    }
}

fn cross_check(
    paths: &[PathBuf],
    anchors: &[audit_anchor::Model],
    stored: &[StoredMoveKey],
) -> Result<Report, VerifyError> {
    let mut check = CrossCheck::new(anchors, stored.len());
    for path in paths {
        check.add_file(path)?;
    }
    Ok(check.finish(paths, stored))
}

/// A verification against the database, one file at a time.
struct CrossCheck<'a> {
    anchors: ChainAnchors<'a>,
    /// The `move` and `move_recovered` lines of each file, checked once all are read.
    audited: Vec<(PathBuf, Vec<AuditedMove>)>,
    report: Report,
}

impl<'a> CrossCheck<'a> {
    fn new(anchors: &'a [audit_anchor::Model], stored_moves: usize) -> CrossCheck<'a> {
        CrossCheck {
            anchors: ChainAnchors::new(anchors),
            audited: Vec::new(),
            report: Report {
                cross_checked: true,
                stored_moves,
                ..Report::default()
            },
        }
    }

    /// Checks one file's chain and its anchors, and keeps its moves.
    fn add_file(&mut self, path: &Path) -> Result<(), VerifyError> {
        let scanned =
            scan_file(path, &self.anchors.wanted).map_err(|source| read_error(path, source))?;
        let (anchored, findings) = self
            .anchors
            .check_file(path, &scanned, &mut self.report.notes);
        self.report.audited_moves += scanned.moves.len();
        self.audited.push((path.to_path_buf(), scanned.moves));
        add_chain_problems(&mut self.report, scanned.report, anchored);
        self.report.problems.extend(findings);
        Ok(())
    }

    /// Adds the anchored chains no file held and the moves' problems, and orders the
    /// problems as they are read: in file order, line by line; then the table's rows,
    /// then missing chains.
    fn finish(mut self, paths: &[PathBuf], stored: &[StoredMoveKey]) -> Report {
        self.report.problems.extend(self.anchors.missing_chains());
        check_moves(&self.audited, stored, &mut self.report);
        let order: HashMap<&Path, usize> = paths
            .iter()
            .enumerate()
            .map(|(index, path)| (path.as_path(), index))
            .collect();
        self.report
            .problems
            .sort_by_key(|finding| match &finding.place {
                Place::Line { path, line } => (0, order.get(path.as_path()).copied(), *line),
                Place::StoredMove { .. } => (1, None, 0),
                Place::Chain { .. } => (2, None, 0),
            });
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{chain_line, AuditEvent, GENESIS};
    use crate::cold::StoredMoveKey;

    fn write_chain(n: usize) -> (PathBuf, Vec<String>) {
        let mut prev = GENESIS.to_string();
        let mut lines = Vec::new();
        for seq in 0..n {
            let line = chain_line(
                "i",
                &AuditEvent::new("move").game("g").seq(seq as u64),
                &prev,
            );
            prev = line.hash;
            lines.push(line.text.trim_end().to_string());
        }
        let path = std::env::temp_dir().join(format!("c4-verify-{}.jsonl", uuid::Uuid::new_v4()));
        (path, lines)
    }

    fn problems_of(path: &PathBuf, lines: &[String]) -> Vec<usize> {
        std::fs::write(path, lines.join("\n") + "\n").expect("write");
        let report = verify_files(std::slice::from_ref(path)).expect("verify");
        let _ = std::fs::remove_file(path);
        report[0].problems.iter().map(|p| p.line).collect()
    }

    #[test]
    fn an_intact_chain_has_no_problems() {
        let (path, lines) = write_chain(5);
        assert!(problems_of(&path, &lines).is_empty());
    }

    #[test]
    fn an_edited_line_is_named() {
        let (path, mut lines) = write_chain(5);
        lines[2] = lines[2].replace("\"seq\":2", "\"seq\":9");
        assert_eq!(problems_of(&path, &lines), vec![3]);
    }

    #[test]
    fn an_edited_last_line_is_named() {
        let (path, mut lines) = write_chain(3);
        lines[2] = lines[2].replace("\"event\":\"move\"", "\"event\":\"resign\"");
        assert_eq!(problems_of(&path, &lines), vec![3]);
    }

    #[test]
    fn a_removed_line_is_noticed_where_it_was() {
        let (path, mut lines) = write_chain(5);
        lines.remove(1);
        assert_eq!(problems_of(&path, &lines), vec![2]);
    }

    #[test]
    fn reordered_lines_are_noticed() {
        let (path, mut lines) = write_chain(5);
        lines.swap(1, 3);
        assert_eq!(problems_of(&path, &lines), vec![2, 3, 4, 5]);
    }

    fn chained(events: &[AuditEvent]) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        events
            .iter()
            .map(|event| {
                let line = chain_line("i", event, &prev);
                prev = line.hash;
                line.text.trim_end().to_string()
            })
            .collect()
    }

    fn saved(lines: &[String]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("c4-verify-{}.jsonl", uuid::Uuid::new_v4()));
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        path
    }

    fn anchor(id: i64, lines: &[String], count: usize, reason: &str) -> audit_anchor::Model {
        audit_anchor::Model {
            id,
            instance: "i".into(),
            file: "events-i.jsonl".into(),
            chain: line_hash(&lines[0]),
            lines: count as i64,
            hash: line_hash(&lines[count - 1]),
            reason: reason.into(),
            recorded_at: chrono::Utc::now(),
        }
    }

    fn played(kind: &'static str, game: &str, number: i64, column: i64) -> AuditEvent {
        AuditEvent::new(kind).game(game).data(
            serde_json::json!({"move_number": number, "column": column, "row": 0, "player": 1}),
        )
    }

    fn stored(game: &str, number: i64, column: i64) -> StoredMoveKey {
        StoredMoveKey {
            game_id: game.into(),
            move_number: number,
            column,
        }
    }

    fn lines_flagged(report: &Report, path: &Path) -> Vec<usize> {
        report
            .problems_in(path)
            .iter()
            .map(|(line, _)| *line)
            .collect()
    }

    #[test]
    fn every_stored_move_is_audited_once_and_every_audited_move_is_stored() {
        let lines = chained(&[
            played("move", "g", 1, 3),
            played("move", "g", 2, 3),
            played("move_recovered", "g", 2, 3),
            played("move_recovered", "g", 3, 4),
            played("move", "g", 4, 0),
            played("move", "g", 4, 0),
            played("move_recovered", "g", 5, 1),
            played("move_recovered", "g", 5, 1),
            played("move", "g", 7, 2),
            played("move", "g", 8, 2),
            AuditEvent::new("move").game("g"),
        ]);
        let path = saved(&lines);
        let table: Vec<StoredMoveKey> = [(1, 3), (2, 3), (3, 4), (4, 0), (5, 1), (6, 6), (8, 5)]
            .iter()
            .map(|(number, column)| stored("g", *number, *column))
            .collect();
        let anchors = [anchor(1, &lines, lines.len(), "periodic")];
        let report = cross_check(std::slice::from_ref(&path), &anchors, &table).expect("verify");
        let _ = std::fs::remove_file(&path);
        // Duplicates (6, 8), not stored (9), column differs (10), fields missing (11).
        assert_eq!(lines_flagged(&report, &path), vec![6, 8, 9, 10, 11]);
        let unaudited: Vec<&Place> = report
            .problems
            .iter()
            .map(|f| &f.place)
            .filter(|p| matches!(p, Place::StoredMove { .. }))
            .collect();
        assert_eq!(
            unaudited,
            vec![&Place::StoredMove {
                game_id: "g".into(),
                move_number: 6
            }]
        );
        assert_eq!(report.recovered_and_audited, 1);
        assert_eq!((report.stored_moves, report.audited_moves), (7, 11));
    }

    #[test]
    fn anchors_name_a_cut_tail_a_rewritten_chain_and_lines_after_shutdown() {
        let events: Vec<AuditEvent> = (0..6).map(|n| AuditEvent::new("tick").seq(n)).collect();
        let lines = chained(&events);
        let clean = [
            anchor(1, &lines, 3, "start"),
            anchor(2, &lines, 6, "shutdown"),
        ];
        let check = |file: &[String], anchors: &[audit_anchor::Model]| {
            let path = saved(file);
            let report = cross_check(std::slice::from_ref(&path), anchors, &[]).expect("verify");
            let _ = std::fs::remove_file(&path);
            (lines_flagged(&report, &path), report)
        };
        let (flagged, report) = check(&lines, &clean);
        assert!(
            flagged.is_empty() && report.is_clean(),
            "{:?}",
            report.problems
        );
        assert_eq!(report.files[0].anchored, Some(6));

        let (flagged, _) = check(&lines[..4], &clean);
        assert_eq!(flagged, vec![5], "the first line cut off");

        let mut rewritten = lines[..2].to_vec();
        let mut prev = line_hash(&rewritten[1]);
        for n in 2..6 {
            let line = chain_line("i", &AuditEvent::new("forged").seq(n), &prev);
            prev = line.hash;
            rewritten.push(line.text.trim_end().to_string());
        }
        let (flagged, _) = check(&rewritten, &clean);
        assert_eq!(flagged, vec![3], "the first anchored line that differs");

        let mut appended = lines.clone();
        let forged = chain_line("i", &AuditEvent::new("forged"), &line_hash(&lines[5]));
        appended.push(forged.text.trim_end().to_string());
        let (flagged, _) = check(&appended, &clean);
        assert_eq!(flagged, vec![7], "written after the clean shutdown");
        let restarted = [
            anchor(1, &lines, 3, "start"),
            anchor(2, &lines, 6, "shutdown"),
            anchor(3, &lines, 6, "start"),
        ];
        let (flagged, _) = check(&appended, &restarted);
        assert!(
            flagged.is_empty(),
            "a restarted instance continues its chain"
        );
    }

    #[test]
    fn a_chain_without_its_file_and_a_file_without_its_chain_are_named() {
        let original = chained(&[AuditEvent::new("a"), AuditEvent::new("b")]);
        let other = chained(&[AuditEvent::new("c").seq(1)]);
        let path = saved(&other);
        let anchors = [anchor(1, &original, 2, "periodic")];
        let report = cross_check(std::slice::from_ref(&path), &anchors, &[]).expect("verify");
        let _ = std::fs::remove_file(&path);
        assert_eq!(lines_flagged(&report, &path), vec![1]);
        assert!(report.problems.iter().any(|f| f.place
            == Place::Chain {
                instance: "i".into(),
                file: "events-i.jsonl".into()
            }));
        // The same file given twice.
        let path = saved(&original);
        let report = cross_check(&[path.clone(), path.clone()], &anchors, &[]).expect("verify");
        let _ = std::fs::remove_file(&path);
        assert_eq!(lines_flagged(&report, &path), vec![1]);
    }
}

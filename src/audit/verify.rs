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

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt, io,
    path::{Path, PathBuf},
};

use super::{sha256_hex, GENESIS};
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

/// A `move` or `move_recovered` line.
struct AuditedMove {
    line: usize,
    recovered: bool,
    /// `(game_id, move_number, column)`; `None` when a field is missing.
    key: Option<(String, i64, i64)>,
}

/// What one pass over a file found.
struct ScannedFile {
    report: FileReport,
    /// Hash of line 1 (names the chain).
    chain: Option<String>,
    /// `instance` of line 1.
    instance: Option<String>,
    /// Hash of each line an anchor refers to.
    anchored_hashes: HashMap<usize, String>,
    moves: Vec<AuditedMove>,
}

fn scan_file(path: &Path, wanted: &HashSet<usize>) -> io::Result<ScannedFile> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut scanned = ScannedFile {
        report: FileReport {
            path: path.to_path_buf(),
            lines: 0,
            problems: Vec::new(),
        },
        chain: None,
        instance: None,
        anchored_hashes: HashMap::new(),
        moves: Vec::new(),
    };
    let problems = &mut scanned.report.problems;
    let mut expected_prev = GENESIS.to_string();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        scanned.report.lines = number;
        let hash = line_hash(line);
        if number == 1 {
            scanned.chain = Some(hash.clone());
        }
        if wanted.contains(&number) {
            scanned.anchored_hashes.insert(number, hash.clone());
        }
        let Some((body, recorded)) = split_hash(line) else {
            problems.push(Problem {
                line: number,
                reason: "no hash: the line was altered or is not an audit line".into(),
            });
            expected_prev = hash;
            continue;
        };
        if sha256_hex(body.as_bytes()) != recorded {
            problems.push(Problem {
                line: number,
                reason: "content does not match its hash: the line was altered".into(),
            });
        }
        let value: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        match value.as_ref().and_then(|v| v.get("prev")?.as_str()) {
            Some(prev) if prev == expected_prev => {}
            Some(_) => problems.push(Problem {
                line: number,
                reason: "does not follow the line before it: a line was removed, inserted or reordered here".into(),
            }),
            None => problems.push(Problem {
                line: number,
                reason: "not valid JSON with a prev field".into(),
            }),
        }
        expected_prev = hash;
        let Some(value) = value else { continue };
        if number == 1 {
            scanned.instance = value["instance"].as_str().map(str::to_string);
        }
        let recovered = match value["event"].as_str() {
            Some("move") => false,
            Some("move_recovered") => true,
            _ => continue,
        };
        let key = match (
            value["game_id"].as_str(),
            value["data"]["move_number"].as_i64(),
            value["data"]["column"].as_i64(),
        ) {
            (Some(game_id), Some(number), Some(column)) => {
                Some((game_id.to_string(), number, column))
            }
            _ => None,
        };
        scanned.moves.push(AuditedMove {
            line: number,
            recovered,
            key,
        });
    }
    Ok(scanned)
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

/// When an anchor was recorded, for messages.
fn recorded(anchor: &audit_anchor::Model) -> String {
    anchor
        .recorded_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn anchored_lines(anchor: &audit_anchor::Model) -> usize {
    usize::try_from(anchor.lines).unwrap_or(usize::MAX)
}

fn cross_check(
    paths: &[PathBuf],
    anchors: &[audit_anchor::Model],
    stored: &[StoredMoveKey],
) -> Result<Report, VerifyError> {
    let mut report = Report {
        cross_checked: true,
        stored_moves: stored.len(),
        ..Report::default()
    };
    let mut by_chain: BTreeMap<&str, Vec<&audit_anchor::Model>> = BTreeMap::new();
    for anchor in anchors {
        by_chain.entry(&anchor.chain).or_default().push(anchor);
    }
    let anchoring_instances: HashSet<&str> = anchors.iter().map(|a| a.instance.as_str()).collect();
    let wanted: HashSet<usize> = anchors.iter().map(anchored_lines).collect();
    let mut seen_chains: HashMap<String, PathBuf> = HashMap::new();
    let mut audited: Vec<(PathBuf, Vec<AuditedMove>)> = Vec::new();
    for path in paths {
        let scanned = scan_file(path, &wanted).map_err(|source| read_error(path, source))?;
        let mut findings = Vec::new();
        let mut anchored = None;
        if let Some(chain) = &scanned.chain {
            if let Some(first) = seen_chains.get(chain) {
                findings.push(Finding::at_line(
                    path,
                    1,
                    format!(
                        "the same chain as {}: a file was given twice or copied",
                        first.display()
                    ),
                ));
            } else {
                seen_chains.insert(chain.clone(), path.clone());
            }
            match by_chain.get(chain.as_str()) {
                Some(chain_anchors) => {
                    anchored = check_anchors(path, &scanned, chain_anchors, &mut findings);
                }
                None => {
                    let instance = scanned.instance.as_deref().unwrap_or("?");
                    if anchoring_instances.contains(instance) {
                        findings.push(Finding::at_line(
                            path,
                            1,
                            format!(
                                "no anchor names this chain, although instance {instance} recorded \
                                 anchors for another: the file was rewritten or replaced (or its \
                                 instance died before its first anchor)"
                            ),
                        ));
                    } else {
                        report.notes.push(format!(
                            "{}: no anchor recorded for instance {instance} (it never reached \
                             its first anchor): its hash chain was checked, not its length",
                            path.display()
                        ));
                    }
                }
            }
        }
        report.audited_moves += scanned.moves.len();
        audited.push((path.clone(), scanned.moves));
        add_chain_problems(&mut report, scanned.report, anchored);
        report.problems.extend(findings);
    }
    for (chain, chain_anchors) in &by_chain {
        if seen_chains.contains_key(*chain) {
            continue;
        }
        if let Some(last) = chain_anchors.iter().max_by_key(|a| a.lines) {
            report.problems.push(Finding {
                place: Place::Chain {
                    instance: last.instance.clone(),
                    file: last.file.clone(),
                },
                reason: format!(
                    "{} lines were anchored at {} ({}), but no file given holds this chain: \
                     the file is missing, or it was replaced by a rewritten one",
                    last.lines,
                    recorded(last),
                    last.reason
                ),
            });
        }
    }
    check_moves(&audited, stored, &mut report);
    // Read in file order, line by line; then the table's rows, then missing chains.
    let order: HashMap<&Path, usize> = paths
        .iter()
        .enumerate()
        .map(|(index, path)| (path.as_path(), index))
        .collect();
    report.problems.sort_by_key(|finding| match &finding.place {
        Place::Line { path, line } => (0, order.get(path.as_path()).copied(), *line),
        Place::StoredMove { .. } => (1, None, 0),
        Place::Chain { .. } => (2, None, 0),
    });
    Ok(report)
}

/// Checks one file against the anchors of its chain (oldest first); returns the most
/// lines an anchor covers.
fn check_anchors(
    path: &Path,
    scanned: &ScannedFile,
    anchors: &[&audit_anchor::Model],
    findings: &mut Vec<Finding>,
) -> Option<usize> {
    let lines = scanned.report.lines;
    let longest = anchors.iter().max_by_key(|a| a.lines)?;
    let anchored = anchored_lines(longest);
    if anchored > lines {
        findings.push(Finding::at_line(
            path,
            lines + 1,
            format!(
                "missing: {anchored} lines were anchored at {} ({}), the file ends at line \
                 {lines}: lines {}–{anchored} were cut off",
                recorded(longest),
                longest.reason,
                lines + 1
            ),
        ));
    }
    let mut by_length = anchors.to_vec();
    by_length.sort_by_key(|a| a.lines);
    let mut intact_through = 0;
    for anchor in by_length {
        let at = anchored_lines(anchor);
        match scanned.anchored_hashes.get(&at) {
            Some(hash) if *hash == anchor.hash => intact_through = at,
            Some(_) => {
                findings.push(Finding::at_line(
                    path,
                    at,
                    format!(
                        "not the line anchored here at {} ({}): the chain was rewritten at or \
                         before this line{}",
                        recorded(anchor),
                        anchor.reason,
                        match intact_through {
                            0 => String::new(),
                            line => format!(", after line {line} (which matches its anchor)"),
                        }
                    ),
                ));
                break;
            }
            None => break,
        }
    }
    if let Some(last) = anchors.last() {
        let closed_at = anchored_lines(last);
        if last.reason == crate::cold::AnchorReason::Shutdown.as_str() && lines > closed_at {
            for line in closed_at + 1..=lines {
                findings.push(Finding::at_line(
                    path,
                    line,
                    format!(
                        "written after instance {} shut down cleanly at {} with {closed_at} \
                         lines: not written by the instance",
                        last.instance,
                        recorded(last)
                    ),
                ));
            }
        }
    }
    Some(anchored)
}

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

fn check_moves(
    files: &[(PathBuf, Vec<AuditedMove>)],
    stored: &[StoredMoveKey],
    report: &mut Report,
) {
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
    let table: HashMap<MoveKey, i64> = stored
        .iter()
        .map(|row| ((row.game_id.clone(), row.move_number), row.column))
        .collect();
    for ((game_id, number), entry) in &audits {
        for (kind, list) in [("move", &entry.moves), ("move_recovered", &entry.recovered)] {
            if let Some((first, again)) = list.split_first() {
                for duplicate in again {
                    report.problems.push(Finding::at_line(
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
        if !entry.moves.is_empty() && !entry.recovered.is_empty() {
            report.recovered_and_audited += 1;
        }
        let all = entry.moves.iter().chain(&entry.recovered);
        match table.get(&(game_id.clone(), *number)) {
            None => {
                for audit in all {
                    report.problems.push(Finding::at_line(
                        audit.path,
                        audit.line,
                        format!(
                            "move {number} of game {game_id} is audited but not in the moves table"
                        ),
                    ));
                }
            }
            Some(column) => {
                for audit in all.filter(|audit| audit.column != *column) {
                    report.problems.push(Finding::at_line(
                        audit.path,
                        audit.line,
                        format!(
                            "move {number} of game {game_id} is audited in column {}, the moves \
                             table has column {column}",
                            audit.column
                        ),
                    ));
                }
            }
        }
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{chain_line, AuditEvent};
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

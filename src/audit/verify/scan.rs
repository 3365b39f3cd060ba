//! One pass over one audit file. Each line's recorded hash is checked against its
//! content and its `prev` against the line before it; on the way the pass keeps what
//! the cross-checks need later, so a file is read once: the chain's name (the hash of
//! line 1) and instance, the hash of each line an anchor refers to, and every `move` and
//! `move_recovered` line. A line without a hash still links the chain through the hash
//! of its text, so only the line itself is flagged, not the one after it.

use std::{
    collections::{HashMap, HashSet},
    io,
    path::Path,
};

use super::{line_hash, split_hash, FileReport, Problem};
use crate::audit::{sha256_hex, GENESIS};

/// A `move` or `move_recovered` line.
pub(super) struct AuditedMove {
    pub(super) line: usize,
    pub(super) recovered: bool,
    /// `(game_id, move_number, column)`; `None` when a field is missing.
    pub(super) key: Option<(String, i64, i64)>,
}

/// What one pass over a file found.
pub(super) struct ScannedFile {
    pub(super) report: FileReport,
    /// Hash of line 1 (names the chain).
    pub(super) chain: Option<String>,
    /// `instance` of line 1.
    pub(super) instance: Option<String>,
    /// Hash of each line an anchor refers to.
    pub(super) anchored_hashes: HashMap<usize, String>,
    pub(super) moves: Vec<AuditedMove>,
}

/// Reads the file at `path`, keeping the hashes of the line numbers in `wanted`.
pub(super) fn scan_file(path: &Path, wanted: &HashSet<usize>) -> io::Result<ScannedFile> {
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
        let value = check_line(line, number, &expected_prev, &mut scanned.report.problems);
        expected_prev = hash;
        let Some(value) = value else { continue };
        if number == 1 {
            scanned.instance = value["instance"].as_str().map(str::to_string);
        }
        scanned.moves.extend(audited_move(&value, number));
    }
    Ok(scanned)
}

/// Checks line `number` against its recorded hash and against `expected_prev`, the hash
/// of the line before it; returns its JSON if it has a hash and parses.
fn check_line(
    line: &str,
    number: usize,
    expected_prev: &str,
    problems: &mut Vec<Problem>,
) -> Option<serde_json::Value> {
    let Some((body, recorded)) = split_hash(line) else {
        problems.push(Problem {
            line: number,
            reason: "no hash: the line was altered or is not an audit line".into(),
        });
        return None;
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
            reason:
                "does not follow the line before it: a line was removed, inserted or reordered here"
                    .into(),
        }),
        None => problems.push(Problem {
            line: number,
            reason: "not valid JSON with a prev field".into(),
        }),
    }
    value
}

/// The move a line audits, if it is a `move` or `move_recovered` line.
fn audited_move(value: &serde_json::Value, line: usize) -> Option<AuditedMove> {
    let recovered = match value["event"].as_str() {
        Some("move") => false,
        Some("move_recovered") => true,
        _ => return None,
    };
    let key = match (
        value["game_id"].as_str(),
        value["data"]["move_number"].as_i64(),
        value["data"]["column"].as_i64(),
    ) {
        (Some(game_id), Some(number), Some(column)) => Some((game_id.to_string(), number, column)),
        _ => None,
    };
    Some(AuditedMove {
        line,
        recovered,
        key,
    })
}

//! `connect4-arena verify <files…>`: re-checks the hash chain of audit files and names
//! every line that was altered (its hash no longer matches), or whose predecessor was
//! removed or moved (its `prev` no longer matches the line before it).

use std::{io, path::PathBuf};

use super::{sha256_hex, GENESIS};

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// The result for one file.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub lines: usize,
    pub problems: Vec<Problem>,
}

/// Splits a line into its body (as hashed) and its recorded hash.
pub(super) fn split_hash(line: &str) -> Option<(String, &str)> {
    let start = line.rfind(",\"hash\":\"")?;
    let hash = line[start + 9..].strip_suffix("\"}")?;
    (hash.len() == 64).then(|| (format!("{}}}", &line[..start]), hash))
}

fn recorded_prev(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("prev")?.as_str().map(str::to_string)
}

/// Verifies each file independently.
pub fn verify_files(paths: &[PathBuf]) -> io::Result<Vec<FileReport>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)?;
            let mut problems = Vec::new();
            let mut expected_prev = GENESIS.to_string();
            let mut lines = 0;
            for (index, line) in text.lines().enumerate() {
                lines += 1;
                let number = index + 1;
                let Some((body, hash)) = split_hash(line) else {
                    problems.push(Problem { line: number, reason: "no hash: the line was altered or is not an audit line".into() });
                    expected_prev = sha256_hex(line.as_bytes());
                    continue;
                };
                if sha256_hex(body.as_bytes()) != hash {
                    problems.push(Problem { line: number, reason: "content does not match its hash: the line was altered".into() });
                }
                match recorded_prev(&body) {
                    Some(prev) if prev == expected_prev => {}
                    Some(_) => problems.push(Problem {
                        line: number,
                        reason: "does not follow the line before it: a line was removed, inserted or reordered here".into(),
                    }),
                    None => problems.push(Problem { line: number, reason: "not valid JSON with a prev field".into() }),
                }
                expected_prev = hash.to_string();
            }
            Ok(FileReport { path: path.clone(), lines, problems })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{chain_line, AuditEvent};

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
}

//! The audit log against the database: `verify` with anchors and the moves table. A real
//! cluster plays a real game (so the table, the files and the anchors are real), then
//! copies of the files are tampered with, and each tampering is named by file and line.

use std::path::{Path, PathBuf};

use connect4_arena::{
    audit::{verify_against, Place, Report, GENESIS},
    cold::Cold,
};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// A finished game played over two instances, both stopped cleanly (shutdown anchors).
struct Played {
    spec: ClusterSpec,
    game_id: String,
    /// The audit files of node0 and node1.
    files: Vec<PathBuf>,
}

async fn play_a_game_on_two_instances() -> Played {
    let (spec, mut nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    play_moves([(&nodes[0], &p1), (&nodes[1], &p2)], &game_id, &QUICK_WIN).await;
    for node in &mut nodes {
        node.stop().await;
    }
    let files = vec![spec.audit_file("node0"), spec.audit_file("node1")];
    Played {
        spec,
        game_id,
        files,
    }
}

impl Played {
    async fn verify(&self, files: &[PathBuf]) -> Report {
        let cold = Cold::connect_with_pool(&self.spec.database_url, 2)
            .await
            .expect("database");
        let report = verify_against(&cold, files).await.expect("verify runs");
        cold.close().await;
        report
    }

    /// Copies of the audit files, to tamper with.
    fn copies(&self) -> Vec<PathBuf> {
        let dir = temp_dir("tampered");
        self.files
            .iter()
            .map(|file| {
                let copy = dir.join(file.file_name().expect("file name"));
                std::fs::copy(file, &copy).expect("copy");
                copy
            })
            .collect()
    }

    /// Line numbers (1-based) of the `move` lines of a file, with their move numbers.
    fn move_lines(path: &Path) -> Vec<(usize, i64)> {
        read_lines(path)
            .iter()
            .enumerate()
            .filter_map(|(index, line)| {
                let value: serde_json::Value = serde_json::from_str(line).ok()?;
                (value["event"] == "move")
                    .then(|| (index + 1, value["data"]["move_number"].as_i64().unwrap()))
            })
            .collect()
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write");
}

/// Re-computes every `prev` and `hash` from the first line on, as a forger who knows
/// the format would: the chain verifies on its own again.
fn rechain(lines: &[String]) -> Vec<String> {
    let mut prev = GENESIS.to_string();
    lines
        .iter()
        .map(|line| {
            let body = &line[..line.rfind(",\"hash\":\"").expect("hash field")];
            let at = body.rfind("\"prev\":\"").expect("prev field") + 8;
            let body = format!("{}{prev}{}}}", &body[..at], &body[at + 64..]);
            let hash = hex::encode(Sha256::digest(body.as_bytes()));
            let chained = format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]);
            prev = hash;
            chained
        })
        .collect()
}

fn flagged(report: &Report, path: &Path) -> Vec<usize> {
    report
        .problems_in(path)
        .iter()
        .map(|(line, _)| *line)
        .collect()
}

fn verify_command(args: &[&str], files: &[PathBuf]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect4-arena"))
        .arg("verify")
        .args(args)
        .args(files)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run verify");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verify_finds_nothing_wrong_with_an_untouched_audit_log() {
    let played = play_a_game_on_two_instances().await;
    let report = played.verify(&played.files).await;
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(report.cross_checked);
    assert_eq!((report.stored_moves, report.audited_moves), (7, 7));
    for file in &report.files {
        assert_eq!(
            file.anchored,
            Some(file.lines),
            "{} is anchored through its last line at shutdown",
            file.path.display()
        );
    }
    let (code, out) = verify_command(&["--database", &played.spec.database_url], &played.files);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("7 stored, 7 audit lines"), "{out}");
    let (code, out) = verify_command(&[], &played.files);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not checked: no database given"), "{out}");
}

#[tokio::test]
async fn verify_names_where_the_tail_of_a_file_was_cut_off() {
    let played = play_a_game_on_two_instances().await;
    let copies = played.copies();
    let lines = read_lines(&copies[0]);
    write_lines(&copies[0], &lines[..lines.len() - 2]);
    // The shortened chain is intact on its own; only the anchor shows the loss.
    let report = played.verify(&copies).await;
    assert_eq!(flagged(&report, &copies[0]), vec![lines.len() - 1]);
    assert!(report.problems_in(&copies[0])[0].1.contains("cut off"));
    let (code, out) = verify_command(&["--database", &played.spec.database_url], &copies);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("{}:{}:", copies[0].display(), lines.len() - 1)),
        "{out}"
    );
}

#[tokio::test]
async fn verify_names_a_rewritten_chain() {
    let played = play_a_game_on_two_instances().await;
    // node1's whole file rewritten (first move moved to another column), re-chained.
    let copies = played.copies();
    let (line, number) = Played::move_lines(&copies[1])[0];
    let mut lines = read_lines(&copies[1]);
    lines[line - 1] = lines[line - 1].replace("\"column\":1", "\"column\":5");
    lines[0] = lines[0].replace("\"ts\":\"", "\"ts\":\"1");
    write_lines(&copies[1], &rechain(&lines));
    let report = played.verify(&copies).await;
    let problems = report.problems_in(&copies[1]);
    assert_eq!(flagged(&report, &copies[1]), vec![1, line], "{problems:?}");
    assert!(problems[0].1.contains("no anchor names this chain"));
    assert!(problems[1]
        .1
        .contains(&format!("move {number} of game {}", played.game_id)));
    assert!(report
        .problems
        .iter()
        .any(|f| matches!(&f.place, Place::Chain { instance, .. } if instance == "node1")));

    // node0's file rewritten after its first line: the first line keeps the chain's
    // name, and the shutdown anchor names the line that is no longer what was written.
    let copies = played.copies();
    let mut lines = read_lines(&copies[0]);
    let last = lines.len();
    lines[1] = lines[1].replace("\"ts\":\"", "\"ts\":\"1");
    write_lines(&copies[0], &rechain(&lines));
    let report = played.verify(&copies).await;
    assert_eq!(flagged(&report, &copies[0]), vec![last]);
    assert!(report.problems_in(&copies[0])[0].1.contains("rewritten"));
}

#[tokio::test]
async fn verify_names_a_line_appended_after_a_clean_shutdown() {
    let played = play_a_game_on_two_instances().await;
    let copies = played.copies();
    let mut lines = read_lines(&copies[0]);
    let mut forged = lines[lines.len() - 1].clone();
    forged = forged.replace("\"event\":\"", "\"event\":\"forged_");
    lines.push(forged);
    write_lines(&copies[0], &rechain(&lines));
    let report = played.verify(&copies).await;
    assert_eq!(flagged(&report, &copies[0]), vec![lines.len()]);
    assert!(report.problems_in(&copies[0])[0]
        .1
        .contains("shut down cleanly"));
}

#[tokio::test]
async fn verify_names_each_mismatch_between_the_audit_files_and_the_moves_table() {
    let played = play_a_game_on_two_instances().await;
    let copies = played.copies();
    // A stored move whose audit line is gone (the file re-chained to hide it).
    let (removed_line, removed_move) = Played::move_lines(&copies[0])[1];
    let mut lines = read_lines(&copies[0]);
    lines.remove(removed_line - 1);
    write_lines(&copies[0], &rechain(&lines));
    // A move audited twice.
    let (copied_line, copied_move) = Played::move_lines(&copies[1])[0];
    let mut lines = read_lines(&copies[1]);
    lines.insert(copied_line, lines[copied_line - 1].clone());
    write_lines(&copies[1], &rechain(&lines));
    // An audited move the table no longer holds.
    let (_, last_move) = *Played::move_lines(&copies[0]).last().unwrap();
    let database = sea_orm::Database::connect(&played.spec.database_url)
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &database,
        &format!(
            "DELETE FROM moves WHERE game_id = '{}' AND move_number = {last_move}",
            played.game_id
        ),
    )
    .await
    .unwrap();
    database.close().await.unwrap();

    let report = played.verify(&copies).await;
    let game = &played.game_id;
    assert!(
        report.problems.iter().any(|f| f.place
            == Place::StoredMove {
                game_id: game.clone(),
                move_number: removed_move
            }
            && f.reason.contains("audited in none")),
        "{:#?}",
        report.problems
    );
    let duplicate = report.problems_in(&copies[1]);
    assert!(
        duplicate
            .iter()
            .any(|(line, reason)| *line == copied_line + 1
                && reason.contains(&format!("duplicate: move {copied_move} of game {game}"))),
        "{duplicate:?}"
    );
    let last_line = Played::move_lines(&copies[0]).last().unwrap().0;
    let unstored = report.problems_in(&copies[0]);
    assert!(
        unstored.iter().any(|(line, reason)| *line == last_line
            && reason.contains(&format!(
                "move {last_move} of game {game} is audited but not in the moves table"
            ))),
        "{unstored:?}"
    );
}

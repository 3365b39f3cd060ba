//! The `solve` and `book` subcommands as a user runs them: the real binary, positions
//! on stdin, scores on stdout, bad lines reported on stderr without stopping.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use connect4_arena::game::solver::Book;

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connect4-arena"))
        .args(args)
        // A small table: these positions need little, and tests run side by side.
        .args(if args.first() == Some(&"solve") {
            &["--table-mb", "8"][..]
        } else {
            &[]
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("stdin accepts the input");
    child.wait_with_output().expect("the binary finishes")
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn solve_prints_each_position_with_its_score() {
    let output = run(
        &["solve"],
        b"112233\n1122334 anything after a space\r\n41513\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        lines(&output.stdout),
        ["112233 18", "1122334 -18", "41513 -18"]
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn opening_positions_come_from_the_book() {
    let book = Book::embedded().expect("the embedded book is valid");
    if book.depth() < 1 {
        // Without the book the empty board is minutes of search: nothing to check.
        return;
    }
    // The empty line is the empty board: the centre wins for the first player with
    // its last stone (score 1), the columns beside it draw, the others lose.
    let output = run(&["solve", "--all"], b"\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lines(&output.stdout), [" 1 -2 -1 0 1 0 -1 -2"]);
}

#[test]
fn all_lists_every_move_and_marks_full_columns() {
    let output = run(
        &["solve", "--all"],
        b"12121221212134343443434356565665656577\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        lines(&output.stdout),
        ["12121221212134343443434356565665656577 0 - - - - - - 0"]
    );
}

#[test]
fn time_adds_the_microseconds_spent() {
    let output = run(&["solve", "--time"], b"112233\n");
    let line = &lines(&output.stdout)[0];
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields[..2], ["112233", "18"]);
    assert!(fields[2].parse::<u64>().is_ok(), "{line}");
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_is_solved() {
    let input = b"448\n1111111\n12121215\n\xff\xfe\n112233\n";
    let output = run(&["solve"], input);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a bad line makes the exit status 1"
    );
    assert_eq!(lines(&output.stdout), ["112233 18"]);
    let errors = lines(&output.stderr);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("line 1: move 3:") && errors[0].contains("not a column"));
    assert!(errors[1].starts_with("line 2: move 7: column 1 is full"));
    assert!(errors[2].starts_with("line 3: move 8: the game was already won"));
    assert!(errors[3].starts_with("line 4: move 1:"));
}

#[test]
fn bad_options_are_refused_with_the_usage() {
    assert_eq!(run(&["solve", "--frobnicate"], b"").status.code(), Some(2));
    assert_eq!(run(&["book"], b"").status.code(), Some(2));
    assert_eq!(run(&["book", "--depth", "x"], b"").status.code(), Some(2));
}

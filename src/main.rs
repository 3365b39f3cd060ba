//! The `connect4-arena` binary: `serve` (default), `migrate`,
//! `verify [--database URL | --no-database] <audit files…>`, and the solver's tools,
//! `solve` and `book`.

use std::{
    io::{self, BufRead, Write},
    path::PathBuf,
    process::ExitCode,
    time::Instant,
};

use connect4_arena::{
    audit,
    cold::Cold,
    game::solver::{Book, Position, Solver, DEFAULT_SLOTS},
    telemetry, Application, Config,
};

/// mimalloc returns freed memory to the system; glibc's malloc kept the 19 MiB blocks
/// of argon2 in per-thread arenas after a log-in flood (docs/DECISIONS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: connect4-arena [serve | migrate | verify [--database URL | --no-database] <events-*.jsonl>...
                      | solve [--all] [--time] [--no-book] [--table-mb N]
                      | book --depth N [--out PATH] [--table-mb N]]

  serve     run the server (default); configuration from the environment (see README)
  migrate   apply database migrations and exit
  verify    check audit log files: each file's hash chain and, with a database
            (--database URL, else DATABASE_URL), the anchors the instances recorded
            and the moves table (give every instance's files); --no-database checks
            the chains only. Exit 1 if anything is wrong, 2 if a file or the database
            cannot be read
  solve     read positions from stdin, one per line as the 1-based columns played
            (`4453`; anything after a space is ignored), print `<position> <score>`;
            --all adds the score of each of the 7 moves (`-` for a full column),
            --time the microseconds spent on the line, --no-book searches even the
            opening, --table-mb sets the transposition table size (default 64).
            A bad line is reported on stderr with its number and skipped; exit 1
            if there was any
  book      generate the opening book: every position of up to N stones with its
            score, solved (default output src/game/solver/book.bin, embedded at the
            next build)";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("verify") => verify(&args[1..]).await,
        Some("solve") => solve(&args[1..]),
        Some("book") => book(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn config() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|err| {
        eprintln!("{err}");
        ExitCode::from(2)
    })
}

async fn serve() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    tracing::info!(?config, "starting");
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "start-up failed");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    match Cold::connect(&config.database_url).await {
        Ok(_) => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("migration failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Where `verify` finds its database.
#[derive(Debug, PartialEq, Eq)]
enum VerifyDatabase {
    Url(String),
    None,
}

/// Parses `verify`'s arguments: the database (flag, else `env_database`, the value of
/// `DATABASE_URL`) and the files.
fn verify_args(
    args: &[String],
    env_database: Option<String>,
) -> Result<(VerifyDatabase, Vec<PathBuf>), String> {
    let mut database = None;
    let mut files = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database" => match args.next() {
                Some(url) => database = Some(VerifyDatabase::Url(url.clone())),
                None => return Err("--database needs a URL".into()),
            },
            "--no-database" => database = Some(VerifyDatabase::None),
            other => match other.strip_prefix("--database=") {
                Some(url) => database = Some(VerifyDatabase::Url(url.to_string())),
                None if other.starts_with("--") => return Err(format!("unknown option {other}")),
                None => files.push(PathBuf::from(other)),
            },
        }
    }
    if files.is_empty() {
        return Err("no audit files given".into());
    }
    let database = database.unwrap_or_else(|| match env_database {
        Some(url) if !url.trim().is_empty() => VerifyDatabase::Url(url),
        _ => VerifyDatabase::None,
    });
    Ok((database, files))
}

async fn verify(args: &[String]) -> ExitCode {
    let (database, paths) = match verify_args(args, std::env::var("DATABASE_URL").ok()) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("{err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let verified = match database {
        VerifyDatabase::None => audit::verify_chains(&paths),
        VerifyDatabase::Url(url) => {
            let cold = match Cold::connect_with_pool(&url, 2).await {
                Ok(cold) => cold,
                Err(err) => {
                    eprintln!(
                        "cannot use the database ({err}); --no-database checks the chains only"
                    );
                    return ExitCode::from(2);
                }
            };
            let verified = audit::verify_against(&cold, &paths).await;
            cold.close().await;
            verified
        }
    };
    let report = match verified {
        Ok(report) => report,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    for file in &report.files {
        if report.problems_in(&file.path).is_empty() {
            let anchored = file
                .anchored
                .map(|lines| format!(", anchored through line {lines}"))
                .unwrap_or_default();
            println!(
                "{}: {} lines, intact{anchored}",
                file.path.display(),
                file.lines
            );
        }
    }
    for finding in &report.problems {
        println!("{}: {}", finding.place, finding.reason);
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if report.cross_checked {
        println!(
            "moves: {} stored, {} audit lines; {} recovered by another instance after being audited by the one that crashed",
            report.stored_moves, report.audited_moves, report.recovered_and_audited
        );
    } else {
        println!("anchors and moves table not checked: no database given (--database URL or DATABASE_URL)");
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s)", report.problems.len());
        ExitCode::FAILURE
    }
}

/// Options of `solve` and `book`.
struct SolverOptions {
    all: bool,
    time: bool,
    no_book: bool,
    table_slots: usize,
    depth: Option<usize>,
    out: PathBuf,
}

/// Reads the options of `solve` and `book`; `None` (after a message) on a bad one.
fn solver_options(args: &[String]) -> Option<SolverOptions> {
    let mut options = SolverOptions {
        all: false,
        time: false,
        no_book: false,
        table_slots: DEFAULT_SLOTS,
        depth: None,
        out: PathBuf::from("src/game/solver/book.bin"),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--all" => options.all = true,
            "--time" => options.time = true,
            "--no-book" => options.no_book = true,
            "--table-mb" => match args.next().and_then(|mb| mb.parse::<usize>().ok()) {
                Some(mb @ 1..=4096) => options.table_slots = mb * (1 << 20) / 8,
                _ => {
                    eprintln!("--table-mb needs a size in MiB between 1 and 4096");
                    return None;
                }
            },
            "--depth" => match args.next().and_then(|depth| depth.parse::<usize>().ok()) {
                Some(depth @ 0..=42) => options.depth = Some(depth),
                _ => {
                    eprintln!("--depth needs a number of stones between 0 and 42");
                    return None;
                }
            },
            "--out" => match args.next() {
                Some(path) => options.out = PathBuf::from(path),
                None => {
                    eprintln!("--out needs a path");
                    return None;
                }
            },
            other => {
                eprintln!("unknown option {other:?}\n{USAGE}");
                return None;
            }
        }
    }
    Some(options)
}

/// `solve`: one position per line of stdin, its score (and more) per line of stdout.
fn solve(args: &[String]) -> ExitCode {
    let Some(options) = solver_options(args) else {
        return ExitCode::from(2);
    };
    let mut solver = Solver::new(options.table_slots);
    if !options.no_book {
        match Book::embedded() {
            Ok(book) => solver = solver.with_book(book),
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    let mut bytes = Vec::new();
    let mut number = 0;
    let mut all_good = true;
    loop {
        bytes.clear();
        match input.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) => {
                eprintln!("cannot read stdin: {err}");
                return ExitCode::FAILURE;
            }
        }
        number += 1;
        // Invalid UTF-8 becomes U+FFFD, which the parser reports as a bad column.
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches(['\n', '\r']);
        let moves = text.split_once(' ').map_or(text, |(moves, _)| moves);
        let started = Instant::now();
        let position = match Position::from_moves(moves) {
            Ok(position) => position,
            Err(err) => {
                eprintln!("line {number}: {err}");
                all_good = false;
                continue;
            }
        };
        let mut line = format!("{moves} {}", solver.solve(&position));
        if options.all {
            for score in solver.analyze(&position) {
                match score {
                    Some(score) => line.push_str(&format!(" {score}")),
                    None => line.push_str(" -"),
                }
            }
        }
        if options.time {
            line.push_str(&format!(" {}", started.elapsed().as_micros()));
        }
        if writeln!(output, "{line}").is_err() {
            // stdout closed (e.g. piped into `head`): nothing left to do.
            return ExitCode::FAILURE;
        }
    }
    if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `book`: solves every position of up to `--depth` stones and writes the book.
fn book(args: &[String]) -> ExitCode {
    let Some(options) = solver_options(args) else {
        return ExitCode::from(2);
    };
    let Some(depth) = options.depth else {
        eprintln!("book needs --depth N\n{USAGE}");
        return ExitCode::from(2);
    };
    let mut solver = Solver::new(options.table_slots);
    let started = Instant::now();
    let mut reported = 0;
    let book = Book::generate(depth, &mut solver, |done, total| {
        let percent = done * 100 / total;
        if percent > reported || done == total {
            reported = percent;
            let elapsed = started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (total - done) as f64;
            eprintln!("{done}/{total} positions of {depth} stones solved, {elapsed:.0} s, ~{left:.0} s left");
        }
    });
    let bytes = book.to_bytes();
    let partial = options.out.with_extension("partial");
    let written =
        std::fs::write(&partial, &bytes).and_then(|()| std::fs::rename(&partial, &options.out));
    match written {
        Ok(()) => {
            println!(
                "{}: depth {depth}, {} positions, {} bytes, {:.0} s",
                options.out.display(),
                book.len(),
                bytes.len(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cannot write {}: {err}", options.out.display());
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn verify_takes_its_database_from_the_flag_else_from_database_url() {
        let env = || Some("postgres://env/db".to_string());
        let parsed = verify_args(
            &args(&["--database", "postgres://flag/db", "a.jsonl"]),
            env(),
        );
        assert_eq!(
            parsed,
            Ok((
                VerifyDatabase::Url("postgres://flag/db".into()),
                vec![PathBuf::from("a.jsonl")]
            ))
        );
        let parsed = verify_args(&args(&["a.jsonl", "b.jsonl"]), env()).expect("valid");
        assert_eq!(parsed.0, VerifyDatabase::Url("postgres://env/db".into()));
        assert_eq!(parsed.1.len(), 2);
        let parsed = verify_args(&args(&["--no-database", "a.jsonl"]), env()).expect("valid");
        assert_eq!(parsed.0, VerifyDatabase::None);
        let parsed = verify_args(&args(&["a.jsonl"]), None).expect("valid");
        assert_eq!(parsed.0, VerifyDatabase::None);
    }

    #[test]
    fn verify_refuses_unknown_options_and_no_files() {
        assert!(verify_args(&args(&["--databse", "x", "a.jsonl"]), None).is_err());
        assert!(verify_args(&args(&["--database"]), None).is_err());
        assert!(verify_args(&args(&["--no-database"]), None).is_err());
    }
}

//! The `connect4-arena` binary: `serve` (default), `migrate`, `verify <audit files…>`,
//! and the solver's tools, `solve` and `book`.

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

const USAGE: &str = "usage: connect4-arena [serve | migrate | verify <events-*.jsonl>...
                      | solve [--all] [--time] [--no-book] [--table-mb N]
                      | book --depth N [--out PATH] [--table-mb N]]

  serve     run the server (default); configuration from the environment (see README)
  migrate   apply database migrations and exit
  verify    check the hash chain of audit log files; exit 1 if any line was altered,
            removed or reordered
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
        Some("verify") => verify(&args[1..]),
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

fn verify(files: &[String]) -> ExitCode {
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let reports = match audit::verify_files(&paths) {
        Ok(reports) => reports,
        Err(err) => {
            eprintln!("cannot read: {err}");
            return ExitCode::from(2);
        }
    };
    let mut intact = true;
    for report in reports {
        if report.problems.is_empty() {
            println!("{}: {} lines, intact", report.path.display(), report.lines);
        } else {
            intact = false;
            for problem in report.problems {
                println!(
                    "{}:{}: {}",
                    report.path.display(),
                    problem.line,
                    problem.reason
                );
            }
        }
    }
    if intact {
        ExitCode::SUCCESS
    } else {
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
                Some(mb @ 1..=65536) => options.table_slots = mb * (1 << 20) / 8,
                _ => {
                    eprintln!("--table-mb needs a size in MiB between 1 and 65536");
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

//! The `connect4-arena` binary: `serve` (default), `migrate`,
//! `verify [--database URL | --no-database] <audit files…>`, and the solver's tools,
//! `solve` and `book`. `--help` on the binary or a command explains them.

use std::{
    io::{self, BufRead, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use clap::{Args, Parser, Subcommand};
use connect4_arena::{
    audit,
    cold::Cold,
    game::solver::{Book, BookError, Lines, MoveListError, Position, Solver, DEFAULT_SLOTS},
    telemetry, Application, Config,
};

/// mimalloc returns freed memory to the system; glibc's malloc kept the 19 MiB blocks
/// of argon2 in per-thread arenas after a log-in flood (docs/DECISIONS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Real-time Connect 4 server: Redis hot state, PostgreSQL cold layer, JSONL audit log.
#[derive(Debug, Parser)]
#[command(name = "connect4-arena", version)]
struct Cli {
    /// What to do; `serve` when none is given.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default); configuration from the environment (see README)
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Check audit log files
    ///
    /// Each file's hash chain and, with a database (--database URL, else DATABASE_URL),
    /// the anchors the instances recorded and the moves table (give every instance's
    /// files). Exit 1 if anything is wrong, 2 if a file or the database cannot be read.
    Verify(VerifyArgs),
    /// Solve positions read from stdin
    ///
    /// One position per line as the 1-based columns played (`4453`; anything after a
    /// space is ignored); prints `<position> <score>`. A bad line is reported on stderr
    /// with its number and skipped; exit 1 if there was any.
    Solve(SolveArgs),
    /// Generate the solver's opening book
    ///
    /// Every position of up to N stones with its score, solved; embedded at the next build.
    Book(BookArgs),
    /// Generate the perfect bot's opening lines
    ///
    /// For every position the bot can meet with up to N stones while it holds a win or
    /// a draw, a move that keeps it, proved by search; written after each number of
    /// stones, so a long run can be stopped with what it has. Embedded at the next build.
    Lines(LinesArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Database with the anchors and the moves table (default: DATABASE_URL)
    #[arg(long, value_name = "URL", overrides_with = "no_database")]
    database: Option<String>,
    /// Check the chains only, even if DATABASE_URL is set
    #[arg(long, overrides_with = "database")]
    no_database: bool,
    /// The audit files (events-*.jsonl), every instance's
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

impl VerifyArgs {
    /// The database to check against: the flag, else `env_database` (the value of
    /// `DATABASE_URL`), none with `--no-database`.
    fn database(&self, env_database: Option<String>) -> Option<String> {
        if self.no_database {
            return None;
        }
        self.database
            .clone()
            .or(env_database.filter(|url| !url.trim().is_empty()))
    }
}

/// Size of the solver's transposition table.
#[derive(Debug, Args)]
struct TableArgs {
    /// Transposition table size in MiB
    #[arg(long = "table-mb", value_name = "N", default_value_t = (DEFAULT_SLOTS * 8 >> 20) as u16,
          value_parser = clap::value_parser!(u16).range(1..=4096))]
    table_mb: u16,
}

impl TableArgs {
    fn slots(&self) -> usize {
        usize::from(self.table_mb) * (1 << 20) / 8
    }
}

#[derive(Debug, Args)]
struct SolveArgs {
    /// Add the score of each of the 7 moves (`-` for a full column)
    #[arg(long)]
    all: bool,
    /// Add the microseconds spent on the line
    #[arg(long)]
    time: bool,
    /// Search even the opening instead of reading the book
    #[arg(long)]
    no_book: bool,
    #[command(flatten)]
    table: TableArgs,
}

#[derive(Debug, Args)]
struct LinesArgs {
    /// Most stones of a bot position covered
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=41))]
    depth: u8,
    /// Where to write the lines
    #[arg(long, value_name = "PATH", default_value = "src/game/solver/lines.bin")]
    out: PathBuf,
    #[command(flatten)]
    table: TableArgs,
}

#[derive(Debug, Args)]
struct BookArgs {
    /// Most stones of a position in the book
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=42))]
    depth: u8,
    /// Where to write the book
    #[arg(long, value_name = "PATH", default_value = "src/game/solver/book.bin")]
    out: PathBuf,
    #[command(flatten)]
    table: TableArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_tracing();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Verify(args) => verify(args).await,
        Command::Solve(args) => solve(&args),
        Command::Book(args) => book(&args),
        Command::Lines(args) => lines(&args),
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

async fn verify(args: VerifyArgs) -> ExitCode {
    let database = args.database(std::env::var("DATABASE_URL").ok());
    let paths = args.files;
    let verified = match database {
        None => audit::verify_chains(&paths),
        Some(url) => {
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
    match verified {
        Ok(report) => print_report(&report),
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}

/// Prints what `verify` found; the exit code says whether anything is wrong.
fn print_report(report: &audit::Report) -> ExitCode {
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

/// `solve`: one position per line of stdin, its score (and more) per line of stdout.
fn solve(options: &SolveArgs) -> ExitCode {
    let mut solver = match solver_for(options) {
        Ok(solver) => solver,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
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
        match solved_line(&mut solver, options, moves) {
            Ok(line) => {
                if writeln!(output, "{line}").is_err() {
                    // stdout closed (e.g. piped into `head`): nothing left to do.
                    return ExitCode::FAILURE;
                }
            }
            Err(err) => {
                eprintln!("line {number}: {err}");
                all_good = false;
            }
        }
    }
    if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The solver `solve` uses: with the embedded opening book unless `--no-book`.
fn solver_for(options: &SolveArgs) -> Result<Solver, BookError> {
    let solver = Solver::new(options.table.slots());
    if options.no_book {
        return Ok(solver);
    }
    Ok(solver.with_book(Book::embedded()?))
}

/// The output line of the position `moves`: the moves, the score and what `options` add.
fn solved_line(
    solver: &mut Solver,
    options: &SolveArgs,
    moves: &str,
) -> Result<String, MoveListError> {
    let started = Instant::now();
    let position = Position::from_moves(moves)?;
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
    Ok(line)
}

/// `book`: solves every position of up to `--depth` stones and writes the book.
fn book(options: &BookArgs) -> ExitCode {
    let depth = usize::from(options.depth);
    let mut solver = Solver::new(options.table.slots());
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
    write_atomically(
        &options.out,
        &book.to_bytes(),
        book.depth(),
        book.len(),
        started,
    )
}

fn lines(options: &LinesArgs) -> ExitCode {
    let depth = usize::from(options.depth);
    let mut solver = match Book::embedded() {
        Ok(book) => Solver::new(options.table.slots()).with_book(book),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut written = ExitCode::SUCCESS;
    let lines = Lines::generate(
        depth,
        &mut solver,
        |stones, done, total| {
            let elapsed = started.elapsed().as_secs_f64();
            eprintln!("{stones} stones: {done}/{total} bot positions, {elapsed:.0} s");
        },
        |lines| {
            written = write_atomically(
                &options.out,
                &lines.to_bytes(),
                lines.depth(),
                lines.len(),
                started,
            );
        },
    );
    if lines.depth() < depth {
        eprintln!("stopped at {} stones", lines.depth());
    }
    written
}

/// Writes `bytes` to `out` through a temporary file, so a stopped run never leaves a
/// half-written file; reports the depth, entries and time on stdout.
fn write_atomically(
    out: &Path,
    bytes: &[u8],
    depth: usize,
    entries: usize,
    started: Instant,
) -> ExitCode {
    let partial = out.with_extension("partial");
    match std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, out)) {
        Ok(()) => {
            println!(
                "{}: depth {depth}, {entries} entries, {} bytes, {:.0} s",
                out.display(),
                bytes.len(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cannot write {}: {err}", out.display());
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
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("connect4-arena").chain(args.iter().copied()))
    }

    fn verify_args(args: &[&str]) -> VerifyArgs {
        match parse(args).expect("valid").command {
            Some(Command::Verify(args)) => args,
            other => panic!("not verify: {other:?}"),
        }
    }

    #[test]
    fn serve_is_the_default() {
        assert!(parse(&[]).expect("valid").command.is_none());
        assert!(matches!(
            parse(&["serve"]).unwrap().command,
            Some(Command::Serve)
        ));
        assert!(parse(&["frobnicate"]).is_err());
    }

    #[test]
    fn verify_takes_its_database_from_the_flag_else_from_database_url() {
        let env = || Some("postgres://env/db".to_string());
        let args = verify_args(&["verify", "--database", "postgres://flag/db", "a.jsonl"]);
        assert_eq!(args.database(env()).as_deref(), Some("postgres://flag/db"));
        assert_eq!(args.files, [PathBuf::from("a.jsonl")]);
        let args = verify_args(&["verify", "--database=postgres://flag/db", "a.jsonl"]);
        assert_eq!(args.database(env()).as_deref(), Some("postgres://flag/db"));
        let args = verify_args(&["verify", "a.jsonl", "b.jsonl"]);
        assert_eq!(args.database(env()).as_deref(), Some("postgres://env/db"));
        assert_eq!(args.files.len(), 2);
        let args = verify_args(&["verify", "--no-database", "a.jsonl"]);
        assert_eq!(args.database(env()), None);
        let args = verify_args(&["verify", "a.jsonl"]);
        assert_eq!(args.database(None), None);
        assert_eq!(args.database(Some(" ".into())), None);
    }

    #[test]
    fn verify_refuses_unknown_options_and_no_files() {
        assert!(parse(&["verify", "--databse", "x", "a.jsonl"]).is_err());
        assert!(parse(&["verify", "--database"]).is_err());
        assert!(parse(&["verify", "--no-database"]).is_err());
    }

    #[test]
    fn solver_options_are_bounded() {
        assert!(parse(&["solve", "--table-mb", "0"]).is_err());
        assert!(parse(&["solve", "--table-mb", "4097"]).is_err());
        assert!(parse(&["book"]).is_err());
        assert!(parse(&["book", "--depth", "43"]).is_err());
        match parse(&["book", "--depth", "2", "--table-mb", "8"])
            .unwrap()
            .command
        {
            Some(Command::Book(book)) => {
                assert_eq!(book.depth, 2);
                assert_eq!(book.table.slots(), 8 << 17);
                assert_eq!(book.out, PathBuf::from("src/game/solver/book.bin"));
            }
            other => panic!("not book: {other:?}"),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}

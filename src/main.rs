//! The `connect4-arena` binary: `serve` (default), `migrate`, `verify <audit files…>`.

use std::{path::PathBuf, process::ExitCode};

use connect4_arena::{audit, cold::Cold, telemetry, Application, Config};

/// mimalloc returns freed memory to the system; glibc's malloc kept the 19 MiB blocks
/// of argon2 in per-thread arenas after a log-in flood (docs/DECISIONS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: connect4-arena [serve | migrate | verify <events-*.jsonl>...]

  serve     run the server (default); configuration from the environment (see README)
  migrate   apply database migrations and exit
  verify    check the hash chain of audit log files; exit 1 if any line was altered,
            removed or reordered";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("verify") => verify(&args[1..]),
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

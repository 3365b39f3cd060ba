//! The `connect4-arena` binary: `serve` (default), `migrate`,
//! `verify [--database URL | --no-database] <audit files…>`.

use std::{path::PathBuf, process::ExitCode};

use connect4_arena::{audit, cold::Cold, telemetry, Application, Config};

const USAGE: &str = "usage: connect4-arena [serve | migrate | verify [--database URL | --no-database] <events-*.jsonl>...]

  serve     run the server (default); configuration from the environment (see README)
  migrate   apply database migrations and exit
  verify    check audit log files: each file's hash chain and, with a database
            (--database URL, else DATABASE_URL), the anchors the instances recorded
            and the moves table (give every instance's files); --no-database checks
            the chains only. Exit 1 if anything is wrong, 2 if a file or the database
            cannot be read";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("verify") => verify(&args[1..]).await,
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

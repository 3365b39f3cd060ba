//! Named fault points for fault-injection tests. Built only with the `failpoints`
//! feature (the integration tests turn it on; release builds never have it). A process
//! started with `C4_FAILPOINTS=<point>[,<point>…]` aborts — like `kill -9`: nothing
//! flushed, no lock released — the first time it reaches one of those points;
//! `<point>=stall:<ms>` pauses there instead (a holder stalled past its lock's TTL).
//! Without the feature, [`hit`] is an empty function.

/// Aborts or stalls here if the `failpoints` feature is on and `name` is armed.
#[cfg(feature = "failpoints")]
pub async fn hit(name: &str) {
    use std::{sync::OnceLock, time::Duration};

    /// What an armed point does.
    enum Action {
        Abort,
        Stall(Duration),
    }

    static ARMED: OnceLock<Vec<(String, Action)>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        std::env::var("C4_FAILPOINTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|point| !point.is_empty())
            .map(|point| match point.split_once("=stall:") {
                Some((name, ms)) => (
                    name.to_string(),
                    Action::Stall(Duration::from_millis(ms.parse().unwrap_or(0))),
                ),
                None => (point.to_string(), Action::Abort),
            })
            .collect()
    });
    match armed.iter().find(|(point, _)| point == name) {
        Some((_, Action::Abort)) => {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
        Some((_, Action::Stall(pause))) => tokio::time::sleep(*pause).await,
        None => {}
    }
}

/// Aborts or stalls here if the `failpoints` feature is on and `name` is armed.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub async fn hit(_name: &str) {}

//! Named crash points for fault-injection tests. Built only with the `failpoints`
//! feature (the integration tests turn it on; release builds never have it): a process
//! started with `C4_FAILPOINTS=<name>[,<name>…]` aborts — like `kill -9`, nothing
//! flushed, no lock released — the first time it reaches one of those points. Without
//! the feature, [`hit`] is an empty inline function.

/// Aborts the process here if the `failpoints` feature is on and `name` is armed.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    use std::sync::OnceLock;
    static ARMED: OnceLock<Vec<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        std::env::var("C4_FAILPOINTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|point| !point.is_empty())
            .map(str::to_string)
            .collect()
    });
    if armed.iter().any(|point| point == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Aborts the process here if the `failpoints` feature is on and `name` is armed.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

//! Logs and metrics. Logs are structured `tracing` events (JSON when `LOG_FORMAT=json`);
//! metrics are plain atomics rendered in the Prometheus text format at `/metrics`, each
//! labelled with the instance so a scrape of several replicas stays apart.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,poem=warn"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let result = if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second call (tests start many instances in one process) keeps the first subscriber.
    drop(result);
}

/// A backing store whose failures are counted.
pub enum Store {
    Redis,
    Database,
}

static REDIS_ERRORS: AtomicU64 = AtomicU64::new(0);
static DATABASE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts a failed store operation. Process-wide: errors are converted deep in the
/// use-cases, where no instance handle is at hand, and a process is one instance.
pub fn count_store_error(store: Store) {
    match store {
        Store::Redis => REDIS_ERRORS.fetch_add(1, Relaxed),
        Store::Database => DATABASE_ERRORS.fetch_add(1, Relaxed),
    };
}

/// Installs a quiet subscriber whose output the test harness captures (warnings and up,
/// unless `RUST_LOG` says otherwise).
pub fn init_test_tracing() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,sqlx=error"));
    drop(fmt().with_env_filter(filter).with_test_writer().try_init());
}

/// Upper bounds (seconds) of the move latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counters and gauges of one instance.
#[derive(Default)]
pub struct Metrics {
    pub moves_applied: AtomicU64,
    pub moves_rejected: AtomicU64,
    pub broadcasts_published: AtomicU64,
    pub broadcasts_delivered: AtomicU64,
    pub open_sockets: AtomicI64,
    pub audit_lines_written: AtomicU64,
    pub games_finished: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

/// Gauges read from the stores at scrape time.
pub struct LiveGauges {
    pub games_active: u64,
    pub matchmaking_queue_size: u64,
}

impl Metrics {
    /// Records the time from receiving a move to publishing its broadcast.
    pub fn observe_move_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Renders every metric in the Prometheus text exposition format.
    pub fn render(&self, instance: &str, live: &LiveGauges) -> String {
        let mut out = String::with_capacity(4096);
        let label = format!("instance=\"{instance}\"");
        let counters: [(&str, &str, u64); 8] = [
            (
                "c4_moves_applied_total",
                "Moves committed by this instance",
                self.moves_applied.load(Relaxed),
            ),
            (
                "c4_moves_rejected_total",
                "Move attempts refused (illegal, wrong turn, busy)",
                self.moves_rejected.load(Relaxed),
            ),
            (
                "c4_broadcasts_published_total",
                "Events published on game channels",
                self.broadcasts_published.load(Relaxed),
            ),
            (
                "c4_broadcasts_delivered_total",
                "Events written to local sockets",
                self.broadcasts_delivered.load(Relaxed),
            ),
            (
                "c4_redis_errors_total",
                "Failed Redis operations",
                REDIS_ERRORS.load(Relaxed),
            ),
            (
                "c4_database_errors_total",
                "Failed database operations",
                DATABASE_ERRORS.load(Relaxed),
            ),
            (
                "c4_audit_lines_written_total",
                "Audit log lines written",
                self.audit_lines_written.load(Relaxed),
            ),
            (
                "c4_games_finished_total",
                "Games this instance settled",
                self.games_finished.load(Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{label}}} {value}"
            );
        }
        let gauges: [(&str, &str, i64); 3] = [
            (
                "c4_open_sockets",
                "WebSocket connections open on this instance",
                self.open_sockets.load(Relaxed),
            ),
            (
                "c4_games_active",
                "Games in progress in the whole cluster",
                live.games_active as i64,
            ),
            (
                "c4_matchmaking_queue_size",
                "Players waiting in the matchmaking queue",
                live.matchmaking_queue_size as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{label}}} {value}"
            );
        }
        let name = "c4_move_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Time from receiving a move to publishing its broadcast\n# TYPE {name} histogram");
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{label},le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{label},le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{name}_sum{{{label}}} {sum}\n{name}_count{{{label}}} {count}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.observe_move_latency(Duration::from_micros(300));
        metrics.observe_move_latency(Duration::from_millis(30));
        let text = metrics.render(
            "a",
            &LiveGauges {
                games_active: 2,
                matchmaking_queue_size: 0,
            },
        );
        assert!(
            text.contains("c4_move_latency_seconds_bucket{instance=\"a\",le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("c4_move_latency_seconds_bucket{instance=\"a\",le=\"0.05\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("c4_move_latency_seconds_count{instance=\"a\"} 2"),
            "{text}"
        );
        assert!(text.contains("c4_games_active{instance=\"a\"} 2"), "{text}");
    }
}

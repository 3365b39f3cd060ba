//! Logs and metrics. Logs are structured `tracing` events (JSON when `LOG_FORMAT=json`);
//! metrics are atomics and a histogram rendered by `prometheus-client` in the
//! OpenMetrics text format at `/metrics`, each labelled with the instance so a scrape of
//! several replicas stays apart.

use std::{
    borrow::Cow,
    sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::ConstCounter, gauge::ConstGauge, histogram::Histogram},
    registry::Registry,
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

/// The content type of [`Metrics::render`]'s output (OpenMetrics text, which
/// Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counters and gauges of one instance. The counters are plain atomics the hot paths
/// bump without a registry look-up; `prometheus-client` renders them, and the move
/// latency histogram, at scrape time.
pub struct Metrics {
    pub moves_applied: AtomicU64,
    pub moves_rejected: AtomicU64,
    pub broadcasts_published: AtomicU64,
    pub broadcasts_delivered: AtomicU64,
    pub open_sockets: AtomicI64,
    pub audit_lines_written: AtomicU64,
    pub games_finished: AtomicU64,
    move_latency: Histogram,
    delivery_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            moves_applied: AtomicU64::default(),
            moves_rejected: AtomicU64::default(),
            broadcasts_published: AtomicU64::default(),
            broadcasts_delivered: AtomicU64::default(),
            open_sockets: AtomicI64::default(),
            audit_lines_written: AtomicU64::default(),
            games_finished: AtomicU64::default(),
            move_latency: Histogram::new(LATENCY_BUCKETS),
            delivery_latency: Histogram::new(LATENCY_BUCKETS),
        }
    }
}

/// Gauges read from the stores at scrape time.
pub struct LiveGauges {
    pub games_active: u64,
    pub matchmaking_queue_size: u64,
}

impl Metrics {
    /// Records the time from receiving a move to publishing its broadcast.
    pub fn observe_move_latency(&self, elapsed: Duration) {
        self.move_latency.observe(elapsed.as_secs_f64());
    }

    /// Counts a broadcast written to a local socket, timed from its arrival in the
    /// socket's room: the instance's share of a broadcast's latency (queueing behind
    /// the other sockets of the room, serializing the frame, the socket write).
    pub fn observe_delivery(&self, arrived: Instant) {
        self.broadcasts_delivered.fetch_add(1, Relaxed);
        self.delivery_latency
            .observe(arrived.elapsed().as_secs_f64());
    }

    /// Renders every metric in the OpenMetrics text format ([`CONTENT_TYPE`]), each
    /// labelled with the instance. Counter names get their `_total` suffix here.
    pub fn render(&self, instance: &str, live: &LiveGauges) -> String {
        let label = (Cow::Borrowed("instance"), Cow::Owned(instance.to_string()));
        let mut registry = Registry::with_labels(std::iter::once(label));
        for (name, help, value) in self.counters() {
            registry.register(name, help, ConstCounter::new(value));
        }
        for (name, help, value) in self.gauges(live) {
            registry.register(name, help, ConstGauge::new(value));
        }
        registry.register(
            "c4_move_latency_seconds",
            "Time from receiving a move to publishing its broadcast",
            self.move_latency.clone(),
        );
        registry.register(
            "c4_broadcast_delivery_seconds",
            "Time from a broadcast reaching this instance to its frame written to a local socket",
            self.delivery_latency.clone(),
        );
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }

    /// Each counter's name (without `_total`), help and current value.
    fn counters(&self) -> [(&'static str, &'static str, u64); 8] {
        [
            (
                "c4_moves_applied",
                "Moves committed by this instance",
                self.moves_applied.load(Relaxed),
            ),
            (
                "c4_moves_rejected",
                "Move attempts refused (illegal, wrong turn, busy)",
                self.moves_rejected.load(Relaxed),
            ),
            (
                "c4_broadcasts_published",
                "Events published on game channels",
                self.broadcasts_published.load(Relaxed),
            ),
            (
                "c4_broadcasts_delivered",
                "Events written to local sockets",
                self.broadcasts_delivered.load(Relaxed),
            ),
            (
                "c4_redis_errors",
                "Failed Redis operations",
                REDIS_ERRORS.load(Relaxed),
            ),
            (
                "c4_database_errors",
                "Failed database operations",
                DATABASE_ERRORS.load(Relaxed),
            ),
            (
                "c4_audit_lines_written",
                "Audit log lines written",
                self.audit_lines_written.load(Relaxed),
            ),
            (
                "c4_games_finished",
                "Games this instance settled",
                self.games_finished.load(Relaxed),
            ),
        ]
    }

    /// Each gauge's name, help and current value; `live` holds those read from the stores.
    fn gauges(&self, live: &LiveGauges) -> [(&'static str, &'static str, i64); 3] {
        [
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
        ]
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
        metrics.observe_delivery(Instant::now());
        let text = metrics.render(
            "a",
            &LiveGauges {
                games_active: 2,
                matchmaking_queue_size: 0,
            },
        );
        for line in [
            "c4_move_latency_seconds_bucket{instance=\"a\",le=\"0.0005\"} 1",
            "c4_move_latency_seconds_bucket{instance=\"a\",le=\"0.05\"} 2",
            "c4_move_latency_seconds_bucket{instance=\"a\",le=\"+Inf\"} 2",
            "c4_move_latency_seconds_count{instance=\"a\"} 2",
            "c4_games_active{instance=\"a\"} 2",
            "# TYPE c4_moves_applied counter",
            "c4_moves_applied_total{instance=\"a\"} 0",
            "c4_broadcasts_delivered_total{instance=\"a\"} 1",
            "c4_broadcast_delivery_seconds_bucket{instance=\"a\",le=\"+Inf\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}

//! The use-cases: register and log in, create / join / cancel a game, play a move,
//! resign, vote a rematch, presence. Transport-agnostic: REST handlers and the
//! WebSocket call the same functions on [`Arena`], so a move means the same thing on
//! both.
//!
//! Every change of a game goes through one type, the game transaction
//! (`transaction.rs`): take the game's lock (random token, short TTL, and a write
//! intent that outlives a dead holder), load the hot state — reconciled with the
//! database first if a previous holder was interrupted, rebuilt if missing
//! (`rebuild.rs`) — validate with the rules engine, write the database, write the audit
//! lines, then commit the hot state with a compare-and-set that also publishes the
//! broadcast and releases the lock. The database is the record: the hot state is never
//! ahead of it, and the unique `(game_id, move_number)` makes a move durable exactly once.

mod accounts;
mod error;
pub mod events;
mod games;
mod matchmaking;
mod moves;
pub mod profiles;
mod rebuild;
mod social;
pub mod state;
mod sweeper;
mod transaction;
pub mod views;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::watch;

pub use accounts::{Registered, Session};
pub use error::{retry_secs, ServiceError};
pub use matchmaking::PAIRING;
pub use social::{Presence, Role, SocketPresence, PRESENCE_REFRESH};
pub use sweeper::SWEEP_INTERVAL;

use crate::{
    audit::{AuditEvent, AuditLog},
    cold::Cold,
    config::Config,
    fanout::Fanout,
    hot::{HotStore, Keys},
    telemetry::Metrics,
};

/// Result of a use-case.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Everything a request needs: the stores, the audit log, config and metrics. Built once
/// at start-up; handlers share it behind an `Arc`.
pub struct Arena {
    pub config: Config,
    /// Redis key and channel names (also used in the embedded mode for channel names).
    pub keys: Keys,
    pub hot: Arc<dyn HotStore>,
    pub fanout: Arc<dyn Fanout>,
    pub cold: Cold,
    pub audit: AuditLog,
    pub metrics: Arc<Metrics>,
    stats_cache: StatsCache,
    sessions: accounts::SessionCache,
    passwords: accounts::Passwords,
    viewer_counts: social::PendingViewerCounts,
    draining: AtomicBool,
    drain_signal: watch::Sender<bool>,
    next_socket: AtomicU64,
}

impl Arena {
    pub fn new(
        config: Config,
        keys: Keys,
        hot: Arc<dyn HotStore>,
        fanout: Arc<dyn Fanout>,
        cold: Cold,
        audit: AuditLog,
        metrics: Arc<Metrics>,
    ) -> Arena {
        Arena {
            passwords: accounts::Passwords::new(&config.limits),
            config,
            keys,
            hot,
            fanout,
            cold,
            audit,
            metrics,
            stats_cache: StatsCache::default(),
            sessions: accounts::SessionCache::default(),
            viewer_counts: social::PendingViewerCounts::default(),
            draining: AtomicBool::new(false),
            drain_signal: watch::channel(false).0,
            next_socket: AtomicU64::new(1),
        }
    }

    /// This instance's id (audit file name, presence members, metrics label).
    pub fn instance(&self) -> &str {
        &self.config.instance_id
    }

    /// Records an audit event (waits only if the writer is far behind).
    pub async fn audit(&self, event: AuditEvent) {
        self.audit.record(event).await;
    }

    /// Records audit events and waits until their lines are in the file (a process
    /// killed after this returns has them), for events a commit must not outrun.
    pub(crate) async fn audit_written(&self, events: Vec<AuditEvent>) {
        if events.is_empty() {
            return;
        }
        if let Err(err) = self.audit.record_all_written(events).await {
            tracing::error!(error = %err, "audit lines not confirmed written");
        }
    }

    /// Marks the instance as draining: not ready, sockets told to reconnect elsewhere.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.drain_signal.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Resolves when the instance starts draining (for socket tasks).
    pub fn drain_watch(&self) -> watch::Receiver<bool> {
        self.drain_signal.subscribe()
    }

    /// A process-unique socket number.
    pub fn next_socket_id(&self) -> u64 {
        self.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    /// Checks both stores answer.
    pub async fn check_ready(&self) -> ServiceResult<()> {
        self.hot.ping().await?;
        self.cold.ping().await?;
        Ok(())
    }

    fn ttl(&self) -> Duration {
        self.config.game_ttl
    }
}

/// The last `/stats` answer and when it was computed.
#[derive(Default)]
struct StatsCache(std::sync::Mutex<Option<(std::time::Instant, views::ClusterStats)>>);

impl StatsCache {
    fn get(&self, freshness: Duration) -> Option<views::ClusterStats> {
        let cached = self.0.lock().ok()?;
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < freshness)
            .map(|(_, stats)| stats.clone())
    }

    fn put(&self, stats: views::ClusterStats) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((std::time::Instant::now(), stats));
        }
    }
}

/// Current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

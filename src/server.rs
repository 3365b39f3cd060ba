//! Start-up and shutdown of one instance. [`Application::build`] connects the stores
//! (Redis + PostgreSQL in a cluster, memory + SQLite embedded), opens the audit log and
//! binds the listener (port 0 picks a free port, which tests use);
//! [`Application::run_until_stopped`] anchors the audit chain in the database (at start,
//! then every `AUDIT_ANCHOR_SECONDS`) and serves until the shutdown future resolves, then
//! drains: the instance turns not-ready, tells its sockets to reconnect elsewhere
//! (close code 1012), stops accepting, lets in-flight requests finish, flushes the audit
//! log and records its final anchor, and closes the database pool.

use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use poem::{
    http::uri::Scheme,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    web::{LocalAddr, RemoteAddr},
    Server,
};
use tokio::net::TcpStream;

use crate::{
    api,
    audit::AuditLog,
    cold::{Cold, ColdError},
    config::Config,
    fanout::{Fanout, LocalFanout, RedisFanout, Rooms},
    hot::{connect_cluster, connect_pool, HotError, HotStore, Keys, MemoryHotStore, RedisHotStore},
    service::Arena,
    telemetry::Metrics,
};

/// How long in-flight requests get to finish after the listener closes.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] ColdError),
    #[error("redis: {0}")]
    Redis(#[from] HotError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A built instance, bound to its port, not yet serving.
pub struct Application {
    arena: Arc<Arena>,
    acceptor: NoDelayAcceptor,
    addr: SocketAddr,
}

/// Accepts TCP connections with Nagle's algorithm off. A move's reply and its broadcasts
/// are small writes; with Nagle on, a write waiting behind an unacknowledged one sits
/// until the peer's delayed ACK (tens of ms). Measured in docs/PERFORMANCE.md.
struct NoDelayAcceptor(TcpAcceptor);

impl Acceptor for NoDelayAcceptor {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        let accepted = self.0.accept().await?;
        if let Err(err) = accepted.0.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY not set");
        }
        Ok(accepted)
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let arena = Arc::new(build_arena(config).await?);
        let bind = SocketAddr::new(arena.config.bind, arena.config.port);
        let acceptor = NoDelayAcceptor(TcpListener::bind(bind).into_acceptor().await?);
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .unwrap_or(bind);
        tracing::info!(%addr, instance = arena.instance(), cluster = arena.config.is_cluster(), "listening");
        Ok(Application {
            arena,
            acceptor,
            addr,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn arena(&self) -> Arc<Arena> {
        Arc::clone(&self.arena)
    }

    /// Serves until `shutdown` resolves, then drains (see the module doc).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let arena = Arc::clone(&self.arena);
        arena
            .audit
            .start_anchoring(arena.cold.clone(), arena.config.audit_anchor_interval)
            .await;
        let sweeper = arena.spawn_sweeper();
        let draining = Arc::clone(&self.arena);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining");
            draining.start_draining();
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                api::routes(Arc::clone(&arena)),
                signal,
                Some(DRAIN_TIMEOUT),
            )
            .await;
        if let Err(err) = sweeper.await {
            tracing::warn!(error = %err, "sweeper task failed");
        }
        arena.audit.close().await;
        arena.cold.clone().close().await;
        tracing::info!("stopped");
        served
    }
}

async fn build_arena(config: Config) -> Result<Arena, StartupError> {
    let metrics = Arc::new(Metrics::default());
    let cold =
        Cold::connect_with_pool(&config.database_url, config.database_pool_size.max(1)).await?;
    let keys = Keys::new(&config.redis_prefix);
    let (hot, fanout): (Arc<dyn HotStore>, Arc<dyn Fanout>) = match &config.redis_url {
        Some(_) => {
            let urls = config.redis_urls();
            let backend = if config.redis_cluster {
                connect_cluster(&urls).await?
            } else {
                connect_pool(&urls[0]).await?.into()
            };
            let fanout = if config.redis_cluster {
                RedisFanout::start_sharded(&urls)
                    .await
                    .map_err(HotError::from)?
            } else {
                let client = redis::Client::open(urls[0].as_str()).map_err(HotError::from)?;
                RedisFanout::start(client)
            };
            (
                Arc::new(RedisHotStore::new(backend, keys.clone())),
                Arc::new(fanout),
            )
        }
        None => {
            let rooms = Arc::new(Rooms::default());
            (
                Arc::new(MemoryHotStore::new(Arc::clone(&rooms), keys.clone())),
                Arc::new(LocalFanout::new(rooms)),
            )
        }
    };
    let audit =
        AuditLog::open(&config.audit_dir, &config.instance_id, Arc::clone(&metrics)).await?;
    Ok(Arena::new(config, keys, hot, fanout, cold, audit, metrics))
}

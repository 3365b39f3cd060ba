//! Start-up and shutdown of one instance. [`Application::build`] connects the stores
//! (Redis + PostgreSQL in a cluster, memory + SQLite embedded), opens the audit log and
//! binds the listener (port 0 picks a free port, which tests use);
//! [`Application::run_until_stopped`] anchors the audit chain in the database (at start,
//! then every `AUDIT_ANCHOR_SECONDS`) and serves until the shutdown future resolves, then
//! drains: the instance turns not-ready, tells its sockets to reconnect elsewhere
//! (close code 1012), stops accepting, lets in-flight requests finish, flushes the audit
//! log and records its final anchor, and closes the database pool.
//!
//! The acceptor guards the listener against slow and greedy clients: a per-address
//! connection cap, a header-read timeout and an idle keep-alive timeout.

use std::{
    collections::HashMap,
    future::Future,
    io::{self, IoSlice},
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    http::{header, uri::Scheme, Method},
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    web::{LocalAddr, RemoteAddr},
    Endpoint, EndpointExt, IntoResponse, Request, Response, Server,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Instant, Sleep},
};

use crate::{
    api,
    audit::AuditLog,
    cold::{Cold, ColdError},
    config::{Config, HotMode, IpRange, Limits},
    fanout::{Fanout, LocalFanout, RedisFanout, Rooms},
    hot::{
        connect_cluster, connect_single, HotError, HotStore, Keys, MemoryHotStore, RedisHotStore,
    },
    service::AppState,
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
    state: Arc<AppState>,
    acceptor: GuardedAcceptor,
    addr: SocketAddr,
}

/// Accepts TCP connections for poem, guarded against clients that hold them for
/// nothing:
/// - at most `MAX_CONNECTIONS_PER_ADDRESS` open connections per peer address (trusted
///   proxies are exempt: they carry many clients; the proxy limits those). A connection
///   over the cap is closed at once;
/// - each connection is a [`GuardedStream`] (header-read and idle timeouts).
///
/// Nagle's algorithm is off: a move's reply and its broadcasts are small writes; with
/// Nagle on, a write waiting behind an unacknowledged one sits until the peer's delayed
/// ACK (tens of ms). Measured in docs/PERFORMANCE.md.
struct GuardedAcceptor {
    inner: TcpAcceptor,
    limits: Limits,
    trusted_proxies: Vec<IpRange>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Acceptor for GuardedAcceptor {
    type Io = GuardedStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(GuardedStream, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (stream, local, remote, scheme) = self.inner.accept().await?;
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(error = %err, "TCP_NODELAY not set");
            }
            let peer = remote.as_socket_addr().map(|addr| addr.ip());
            let capped = peer.filter(|ip| {
                self.limits.connections_per_address > 0
                    && !self.trusted_proxies.iter().any(|range| range.contains(*ip))
            });
            let slot = match capped {
                Some(ip) => {
                    match AddressSlot::take(&self.open, ip, self.limits.connections_per_address) {
                        Some(slot) => Some(slot),
                        None => {
                            tracing::debug!(%ip, "connection refused: too many from this address");
                            continue;
                        }
                    }
                }
                None => None,
            };
            return Ok((
                GuardedStream::new(stream, &self.limits, slot),
                local,
                remote,
                scheme,
            ));
        }
    }
}

/// One open connection counted against its peer address; uncounted when dropped.
struct AddressSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(
        open: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        cap: usize,
    ) -> Option<AddressSlot> {
        let mut counts = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(ip).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            open: Arc::clone(open),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Where an HTTP/1 connection is in its request cycle, as seen from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request: the next byte must come before the deadline.
    Idle,
    /// A request head has begun: it must be complete (`CRLF CRLF`) before the deadline.
    Head,
    /// The head is in; the request is being served (no deadline: bodies are small and
    /// handlers bound their own waits).
    Serving,
    /// Switched to WebSocket (or HTTP/2): the protocol above keeps its own time.
    Upgraded,
}

/// A TCP stream that errors out (so hyper closes it) when a client is too slow: a
/// request head must arrive within `HTTP_HEADER_TIMEOUT_SECONDS` of its first byte (and
/// of the accept, for the first request), and a keep-alive connection may sit idle
/// between requests for `HTTP_IDLE_TIMEOUT_SECONDS`. hyper's own header timeout needs a
/// timer poem does not give it, so the bytes are watched here: the end of a head is the
/// first `CRLF CRLF`, the end of a response the server's first write after it.
struct GuardedStream {
    inner: TcpStream,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    header_timeout: Duration,
    idle_timeout: Duration,
    /// How much of `CRLF CRLF` the head read so far ends with.
    matched: u8,
    /// Whether any byte has been read (to recognise the HTTP/2 preface).
    started: bool,
    _slot: Option<AddressSlot>,
}

const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

impl GuardedStream {
    fn new(inner: TcpStream, limits: &Limits, slot: Option<AddressSlot>) -> GuardedStream {
        GuardedStream {
            inner,
            phase: Phase::Idle,
            deadline: Box::pin(tokio::time::sleep(limits.header_read_timeout)),
            header_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
            matched: 0,
            started: false,
            _slot: slot,
        }
    }

    fn restart_clock(&mut self, timeout: Duration) {
        self.deadline.as_mut().reset(Instant::now() + timeout);
    }

    fn saw_request_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            if bytes.starts_with(HTTP2_PREFACE) {
                self.phase = Phase::Upgraded;
                return;
            }
        }
        if self.phase == Phase::Idle {
            self.phase = Phase::Head;
            self.matched = 0;
            self.restart_clock(self.header_timeout);
        }
        if self.phase != Phase::Head {
            return;
        }
        for &byte in bytes {
            self.matched = match (self.matched, byte) {
                (0 | 2, b'\r') => self.matched + 1,
                (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.matched == 4 {
                self.phase = Phase::Serving;
                return;
            }
        }
    }

    fn saw_response_bytes(&mut self, first: &[u8]) {
        match self.phase {
            Phase::Head | Phase::Serving if first.starts_with(b"HTTP/1.1 101") => {
                self.phase = Phase::Upgraded;
            }
            Phase::Head | Phase::Serving | Phase::Idle => {
                self.phase = Phase::Idle;
                self.restart_clock(self.idle_timeout);
            }
            Phase::Upgraded => {}
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Idle | Phase::Head)
            && this.deadline.as_mut().poll(cx).is_ready()
        {
            let what = if this.phase == Phase::Idle {
                "idle connection"
            } else {
                "request head"
            };
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} timed out"),
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.saw_request_bytes(&buf.filled()[before..]);
        }
        read
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            if n > 0 {
                this.saw_response_bytes(buf);
            }
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written {
            if n > 0 {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]);
                this.saw_response_bytes(first);
            }
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let state = Arc::new(build_state(config).await?);
        let bind = SocketAddr::new(state.config.bind, state.config.port);
        let acceptor = GuardedAcceptor {
            inner: TcpListener::bind(bind).into_acceptor().await?,
            limits: state.config.limits.clone(),
            trusted_proxies: state.config.trusted_proxies.clone(),
            open: Arc::default(),
        };
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .unwrap_or(bind);
        tracing::info!(%addr, instance = state.instance(), cluster = state.config.is_cluster(), "listening");
        Ok(Application {
            state,
            acceptor,
            addr,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The instance's services (tests reach the stores through it).
    pub fn state(&self) -> Arc<AppState> {
        Arc::clone(&self.state)
    }

    /// Serves until `shutdown` resolves, then drains (see the module doc).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let state = Arc::clone(&self.state);
        state
            .audit
            .start_anchoring(state.cold.clone(), state.config.audit_anchor_interval)
            .await;
        let sweeper = state.sweeper.spawn(&state.drain);
        let bots = state.bots.spawn(&state.drain);
        let drain = state.drain.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining");
            drain.start();
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                api::routes(Arc::clone(&state)).around(app_addresses),
                signal,
                Some(DRAIN_TIMEOUT),
            )
            .await;
        if let Err(err) = sweeper.await {
            tracing::warn!(error = %err, "sweeper task failed");
        }
        if let Err(err) = bots.await {
            tracing::warn!(error = %err, "bot task failed");
        }
        state.audit.close().await;
        state.cold.clone().close().await;
        tracing::info!("stopped");
        served
    }
}

/// The web app's own addresses (`/game/<id>`, `/watch/<id>`, `/replay/<id>`,
/// `/player/<name>`, `/leaderboard`) are pages of the single-page app: a reload or a
/// shared link gets `index.html`, whose script reads the address and opens that screen.
/// `/leaderboard` is also the JSON API's path, so only a browser asking for a page
/// (`Accept: text/html`) gets the app there. Any other unknown path keeps its JSON 404.
/// `/favicon.ico` is the app's SVG icon.
async fn app_addresses<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let wants_page = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let target = if matches!(*req.method(), Method::GET | Method::HEAD) {
        app_page(req.uri().path(), wants_page)
    } else {
        None
    };
    if let Some(uri) = target.and_then(|path| path.parse().ok()) {
        *req.uri_mut() = uri;
    }
    let leaderboard = req.uri().path() == "/leaderboard";
    let mut response = next.call(req).await?.into_response();
    if leaderboard {
        response
            .headers_mut()
            .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    }
    Ok(response)
}

/// The static file that answers `path` when it is an address of the app.
fn app_page(path: &str, wants_page: bool) -> Option<&'static str> {
    if path == "/favicon.ico" {
        return Some("/favicon.svg");
    }
    if path == "/leaderboard" {
        return wants_page.then_some("/index.html");
    }
    let rest = path.strip_prefix('/')?;
    let (screen, name) = rest.split_once('/')?;
    let named = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (matches!(screen, "game" | "watch" | "replay" | "player") && named).then_some("/index.html")
}

async fn build_state(config: Config) -> Result<AppState, StartupError> {
    let metrics = Arc::new(Metrics::default());
    let cold = Cold::connect_with_pool(&config.database_url, config.database_pool_size.max(1))
        .await?
        .with_move_batches(config.move_batches);
    let keys = Keys::new(&config.redis_prefix);
    let (hot, fanout): (Arc<dyn HotStore>, Arc<dyn Fanout>) = match &config.hot {
        HotMode::Redis { url } => {
            let backend = connect_single(url).await?;
            let client = redis::Client::open(url.as_str()).map_err(HotError::from)?;
            (
                Arc::new(RedisHotStore::new(backend, keys.clone())),
                Arc::new(RedisFanout::start(client)),
            )
        }
        HotMode::Cluster { seeds } => {
            let backend = connect_cluster(seeds).await?;
            let fanout = RedisFanout::start_sharded(seeds)
                .await
                .map_err(HotError::from)?;
            (
                Arc::new(RedisHotStore::new(backend, keys.clone())),
                Arc::new(fanout),
            )
        }
        HotMode::Embedded => {
            let rooms = Arc::new(Rooms::default());
            (
                Arc::new(MemoryHotStore::new(Arc::clone(&rooms), keys.clone())),
                Arc::new(LocalFanout::new(rooms)),
            )
        }
    };
    let audit =
        AuditLog::open(&config.audit_dir, &config.instance_id, Arc::clone(&metrics)).await?;
    Ok(AppState::new(
        config, keys, hot, fanout, cold, audit, metrics,
    ))
}

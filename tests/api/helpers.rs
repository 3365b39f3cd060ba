//! Test harness: spawns real instances (in this process, each with its own listener,
//! Redis connections and rooms) against the machine's real Redis and PostgreSQL. Every
//! test gets a fresh PostgreSQL database and its own Redis key prefix, so tests run in
//! parallel without seeing each other. Clients talk HTTP and WebSocket like browsers do.

#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use connect4_arena::{service::AppState, Application, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Drops a test database when the last handle on it goes (FORCE ends the connections
/// instances still hold), so test runs don't pile databases up.
pub struct DatabaseGuard {
    name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use sea_orm::{ConnectionTrait, Database};
                let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
                    .await
                    .ok()?;
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
                Some(())
            })
        })
        .join();
    }
}

/// Deletes a test's Redis keys (its prefix) when the last handle on the guard goes, so
/// test runs don't leave game states behind for a day.
pub struct RedisKeysGuard {
    prefix: String,
}

impl Drop for RedisKeysGuard {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(chunk).query(&mut conn);
        }
    }
}

/// Creates an empty PostgreSQL database; returns its URL and the guard that drops it.
pub async fn fresh_postgres_database_guarded() -> (String, Arc<DatabaseGuard>) {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("c4test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
        .await
        .expect("PostgreSQL must be reachable (see README: tests need the machine's PostgreSQL)");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    (
        format!("{}/{name}", postgres_admin_url()),
        Arc::new(DatabaseGuard { name }),
    )
}

/// A fresh folder under `$TMPDIR/c4-tests/`. The first call of a test process removes
/// folders left there by runs more than two hours old (the files of a failed test stay
/// around long enough to be read).
pub fn temp_dir(label: &str) -> PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let root = std::env::temp_dir().join("c4-tests");
    SWEPT.call_once(|| remove_older_than(&root, Duration::from_secs(2 * 3600)));
    let dir = root.join(format!("{label}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn remove_older_than(root: &std::path::Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// One running instance.
pub struct Instance {
    pub port: u16,
    state: Option<Arc<AppState>>,
    pub instance_id: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Instance {
    /// A handle on an instance running elsewhere (another process), for HTTP and WebSocket helpers.
    pub fn external(port: u16) -> Instance {
        Instance {
            port,
            state: None,
            instance_id: format!("external-{port}"),
            stop: None,
            task: None,
        }
    }

    /// The in-process instance's state (not available for external instances).
    pub fn state(&self) -> &Arc<AppState> {
        self.state.as_ref().expect("an in-process instance")
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ws(&self, game_id: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/{game_id}", self.port)
    }

    /// Graceful stop: drain, flush the audit log.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}

/// Settings shared by the instances of one cluster.
#[derive(Clone)]
pub struct ClusterSpec {
    pub database_url: String,
    /// Drops the test database with the last clone of the spec.
    pub database_guard: Option<Arc<DatabaseGuard>>,
    /// Deletes the test's Redis keys with the last clone of the spec.
    pub redis_guard: Option<Arc<RedisKeysGuard>>,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub audit_dir: PathBuf,
    pub extra: Vec<(String, String)>,
}

impl ClusterSpec {
    pub async fn postgres_and_redis() -> ClusterSpec {
        let (database_url, guard) = fresh_postgres_database_guarded().await;
        let redis_prefix = format!("c4t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        ClusterSpec {
            database_url,
            database_guard: Some(guard),
            redis_guard: Some(Arc::new(RedisKeysGuard {
                prefix: redis_prefix.clone(),
            })),
            redis_url: Some(redis_url()),
            redis_prefix,
            audit_dir: temp_dir("audit"),
            extra: Vec::new(),
        }
    }

    pub fn embedded() -> ClusterSpec {
        let dir = temp_dir("embedded");
        ClusterSpec {
            database_url: format!("sqlite://{}/connect4.db?mode=rwc", dir.display()),
            database_guard: None,
            redis_guard: None,
            redis_url: None,
            redis_prefix: "c4".into(),
            audit_dir: dir.join("audit"),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    pub async fn start(&self, instance_id: &str) -> Instance {
        connect4_arena::telemetry::init_test_tracing();
        let mut vars = vec![
            ("DATABASE_URL".to_string(), self.database_url.clone()),
            ("REDIS_PREFIX".to_string(), self.redis_prefix.clone()),
            ("BIND".to_string(), "127.0.0.1".to_string()),
            // Many tests run at once against one PostgreSQL (100 connections by default).
            ("DATABASE_POOL_SIZE".to_string(), "4".to_string()),
            ("PORT".to_string(), "0".to_string()),
            (
                "AUDIT_DIR".to_string(),
                self.audit_dir.display().to_string(),
            ),
            ("INSTANCE_ID".to_string(), instance_id.to_string()),
            (
                "STATIC_DIR".to_string(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/static").to_string(),
            ),
            // Every test client is 127.0.0.1: one address standing for many users. The
            // tests of these limits set their own values (later entries win).
            (
                "AUTH_ATTEMPTS_PER_ADDRESS".to_string(),
                "1000000".to_string(),
            ),
            ("MAX_CONNECTIONS_PER_ADDRESS".to_string(), "0".to_string()),
        ];
        if let Some(redis) = &self.redis_url {
            vars.push(("REDIS_URL".into(), redis.clone()));
        }
        vars.extend(self.extra.iter().cloned());
        let config = Config::from_lookup(|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .expect("test config");
        let app = Application::build(config).await.expect("instance starts");
        let port = app.port();
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Instance {
            port,
            state: Some(state),
            instance_id: instance_id.to_string(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn audit_file(&self, instance_id: &str) -> PathBuf {
        self.audit_dir.join(format!("events-{instance_id}.jsonl"))
    }
}

/// `n` instances sharing one database and one key prefix.
pub async fn spawn_cluster(n: usize) -> (ClusterSpec, Vec<Instance>) {
    let spec = ClusterSpec::postgres_and_redis().await;
    let mut instances = Vec::new();
    for i in 0..n {
        instances.push(spec.start(&format!("node{i}")).await);
    }
    (spec, instances)
}

/// A registered player.
#[derive(Clone, Debug)]
pub struct Player {
    pub id: i64,
    pub username: String,
    pub token: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

pub async fn register(instance: &Instance, prefix: &str) -> Player {
    let username = unique_name(prefix);
    let (status, body) = post(instance, "/players", None, json!({ "username": username })).await;
    assert_eq!(status, 201, "register: {body}");
    Player {
        id: body["id"].as_i64().expect("id"),
        username,
        token: body["token"].as_str().expect("token").into(),
    }
}

pub async fn post(
    instance: &Instance,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client().post(instance.http(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    reply(request.send().await.expect("request")).await
}

pub async fn delete(instance: &Instance, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = client().delete(instance.http(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    reply(request.send().await.expect("request")).await
}

pub async fn get(instance: &Instance, path: &str) -> (u16, Value) {
    reply(
        client()
            .get(instance.http(path))
            .send()
            .await
            .expect("request"),
    )
    .await
}

pub async fn reply(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, value)
}

/// Creates a game by `p1` on `a` and joins it as `p2` on `b`; returns its id.
pub async fn start_game(a: &Instance, p1: &Player, b: &Instance, p2: &Player) -> String {
    let (status, game) = post(a, "/games", Some(&p1.token), json!({})).await;
    assert_eq!(status, 201, "{game}");
    let game_id = game["game_id"].as_str().expect("game_id").to_string();
    let (status, joined) = post(
        b,
        &format!("/games/{game_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    game_id
}

pub async fn play(instance: &Instance, player: &Player, game_id: &str, column: u8) -> (u16, Value) {
    post(
        instance,
        &format!("/games/{game_id}/move"),
        Some(&player.token),
        json!({ "column": column }),
    )
    .await
}

/// A WebSocket client.
pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    pub async fn connect(instance: &Instance, game_id: &str) -> Socket {
        let (stream, _) = tokio_tungstenite::connect_async(instance.ws(game_id))
            .await
            .expect("ws connect");
        Socket { stream }
    }

    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Socket {
        Socket { stream }
    }

    pub async fn send(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// Next JSON message (fails the test after 10 s).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.stream.next())
                .await
                .ok()??;
            match frame {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON message"))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Skips messages until one of type `kind` arrives.
    pub async fn expect(&mut self, kind: &str) -> Value {
        for _ in 0..200 {
            let message = self.recv().await;
            if message["type"] == kind {
                return message;
            }
        }
        panic!("no {kind} message");
    }

    /// Identifies and returns the `identified` reply.
    pub async fn identify(&mut self, player: &Player) -> Value {
        self.send(json!({"action": "identify", "token": player.token}))
            .await;
        self.expect("identified").await
    }

    /// Waits for the close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), self.stream.next())
                .await
                .ok()??
            {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Deletes every Redis key of a cluster's prefix (the cluster's own "FLUSHALL").
pub async fn flush_redis_prefix(prefix: &str) {
    let client = redis::Client::open(redis_url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .expect("del");
    }
}

/// Column sequence where seat one wins vertically in column 0 (seat two plays column 1).
pub const QUICK_WIN: [u8; 7] = [0, 1, 0, 1, 0, 1, 0];

/// A private redis-server on a free loopback port, for tests that restart Redis.
pub struct LocalRedis {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl LocalRedis {
    pub async fn start() -> LocalRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = LocalRedis { child: None, port };
        redis.spawn().await;
        redis
    }

    async fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (losing everything) and starts an empty one on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Plays `columns` over REST, seat one and seat two alternating (each through its own
/// instance), and checks every move is accepted with the next `seq`.
pub async fn play_moves(seats: [(&Instance, &Player); 2], game_id: &str, columns: &[u8]) {
    let (_, view) = get(seats[0].0, &format!("/games/{game_id}")).await;
    let first_seq = view["seq"].as_u64().expect("seq");
    for (n, column) in columns.iter().enumerate() {
        let (node, player) = seats[(view["move_count"].as_u64().unwrap_or(0) as usize + n) % 2];
        let (status, body) = play(node, player, game_id, *column).await;
        assert_eq!(status, 200, "move {n}: {body}");
        assert_eq!(body["seq"].as_u64(), Some(first_seq + n as u64 + 1));
    }
}

/// An instance in its own process, so it can be killed with SIGKILL.
pub struct Process {
    pub child: std::process::Child,
    pub port: u16,
}

impl Process {
    pub async fn start(spec: &ClusterSpec, instance_id: &str) -> Process {
        Process::start_armed(spec, instance_id, &[]).await
    }

    /// Starts an instance with the named crash points armed (see `src/failpoint.rs`).
    pub async fn start_armed(
        spec: &ClusterSpec,
        instance_id: &str,
        failpoints: &[&str],
    ) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_connect4-arena"))
            .env("DATABASE_URL", &spec.database_url)
            .env("REDIS_URL", spec.redis_url.as_deref().unwrap())
            .env("REDIS_PREFIX", &spec.redis_prefix)
            .env("AUDIT_DIR", &spec.audit_dir)
            .env("INSTANCE_ID", instance_id)
            .env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .env("C4_FAILPOINTS", failpoints.join(","))
            .envs(spec.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the server binary");
        // From here on, Drop kills and reaps the child whatever happens.
        let process = Process { child, port };
        let ready = format!("http://127.0.0.1:{port}/health/ready");
        for _ in 0..100 {
            if client()
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server process did not become ready");
    }
}

impl Process {
    /// A handle for the HTTP and WebSocket helpers.
    pub fn node(&self) -> Instance {
        Instance::external(self.port)
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (up to `within`) for the process to end by itself (a crash point); true
    /// when it did.
    pub async fn ended_within(&mut self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `verify` against the cluster's database over every audit file of the cluster: hash
/// chains, anchors, and the audit files against the moves table.
pub async fn verify_audit(spec: &ClusterSpec) -> connect4_arena::audit::Report {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&spec.audit_dir)
        .expect("audit dir")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    let cold = connect4_arena::cold::Cold::connect_with_pool(&spec.database_url, 2)
        .await
        .expect("database");
    let report = connect4_arena::audit::verify_against(&cold, &files)
        .await
        .expect("verify runs");
    cold.close().await;
    report
}

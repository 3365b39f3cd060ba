//! Holding up under abuse: a log-in flood, password guessing, username probing, a burst
//! of WebSocket upgrades, slow and greedy clients, malformed frames. Each test drives a
//! real instance over loopback with bounded loops and stops by itself.

use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::{
    protocol::frame::{coding::Data, coding::OpCode, Frame},
    Message,
};

use crate::helpers::*;

async fn register_with_password(node: &Instance, password: &str) -> String {
    let name = unique_name("pw");
    let (status, body) = post(
        node,
        "/players",
        None,
        json!({"username": name, "password": password}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    name
}

/// Status, `Retry-After` and JSON body of a log-in attempt.
async fn login(
    node: &Instance,
    username: &str,
    password: &str,
) -> (u16, Option<u64>, serde_json::Value) {
    login_from(node, username, password, None).await
}

async fn login_from(
    node: &Instance,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<u64>, serde_json::Value) {
    let mut request = client()
        .post(node.http("/sessions"))
        .json(&json!({"username": username, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("request: {err:?}"));
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (status, body) = reply(response).await;
    (status, retry_after, body)
}

#[tokio::test]
async fn failed_logins_lock_the_account_with_429_and_retry_after_across_two_instances() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("LOGIN_ATTEMPTS_PER_ACCOUNT", "5")
        .with("LOGIN_LOCKOUT_SECONDS", "600");
    let nodes = [spec.start("node0").await, spec.start("node1").await];
    let name = register_with_password(&nodes[0], "right password").await;
    for attempt in 0..5 {
        let (status, _, body) = login(&nodes[attempt % 2], &name, "wrong password").await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
        assert_eq!(body["code"], "invalid_credentials");
    }
    // The budget is shared: the sixth attempt fails on either instance, right password or not.
    for (node, password) in [(&nodes[0], "wrong password"), (&nodes[1], "right password")] {
        let (status, retry_after, body) = login(node, &name, password).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "too_many_attempts");
        assert!(
            body["error"].as_str().unwrap().contains("try again in"),
            "{body}"
        );
        let retry_after = retry_after.expect("Retry-After");
        assert!((500..=600).contains(&retry_after), "{retry_after}");
    }
    // Another account is not affected.
    let other = register_with_password(&nodes[1], "other password").await;
    assert_eq!(login(&nodes[0], &other, "other password").await.0, 200);
}

#[tokio::test]
async fn a_success_clears_the_failed_attempts() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("LOGIN_ATTEMPTS_PER_ACCOUNT", "3");
    let node = spec.start("node0").await;
    let name = register_with_password(&node, "right password").await;
    for _ in 0..3 {
        assert_eq!(login(&node, &name, "wrong password").await.0, 401);
        assert_eq!(login(&node, &name, "right password").await.0, 200);
    }
}

#[tokio::test]
async fn sign_ups_per_address_are_limited_and_x_forwarded_for_counts_only_from_trusted_proxies() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("AUTH_ATTEMPTS_PER_ADDRESS", "3");
    let behind_proxy = spec
        .clone()
        .with("TRUSTED_PROXIES", "127.0.0.1/32")
        .start("proxied")
        .await;
    let direct = spec.start("direct").await;
    let sign_up = |node: &Instance, address: &str| {
        let request = client()
            .post(node.http("/players"))
            .header("X-Forwarded-For", address)
            .json(&json!({"username": unique_name("ip")}));
        async move {
            let response = request.send().await.expect("request");
            let retry_after = response.headers().get("retry-after").cloned();
            let (status, body) = reply(response).await;
            (status, retry_after, body)
        }
    };
    // Behind a trusted proxy, each forwarded client has its own budget.
    for _ in 0..3 {
        assert_eq!(sign_up(&behind_proxy, "198.51.100.1").await.0, 201);
    }
    let (status, retry_after, body) = sign_up(&behind_proxy, "198.51.100.1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    assert!(retry_after.is_some());
    assert_eq!(sign_up(&behind_proxy, "198.51.100.2").await.0, 201);
    // A forged header from the client is not believed behind the proxy either: the
    // rightmost untrusted entry counts.
    assert_eq!(
        sign_up(&behind_proxy, "203.0.113.50, 198.51.100.1").await.0,
        429
    );
    // Straight from an untrusted peer, the header is ignored: the socket's address counts,
    // and log-ins share its budget.
    for n in 0..3 {
        assert_eq!(sign_up(&direct, &format!("192.0.2.{n}")).await.0, 201);
    }
    assert_eq!(sign_up(&direct, "192.0.2.99").await.0, 429);
    let (status, _, body) = login_from(&direct, "whoever", "password1", Some("192.0.2.98")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_name_costs_as_much_as_a_wrong_password() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("LOGIN_ATTEMPTS_PER_ACCOUNT", "1000");
    let node = spec.start("node0").await;
    let known = register_with_password(&node, "right password").await;
    let guest = register(&node, "guest").await.username;
    let timed = |name: String| {
        let node = &node;
        async move {
            let started = Instant::now();
            let (status, _, body) = login(node, &name, "wrong password").await;
            assert_eq!(status, 401, "{body}");
            started.elapsed()
        }
    };
    // Warm up (the dummy hash is made on first use), then interleave the three cases.
    timed(unique_name("nobody")).await;
    let (mut known_times, mut unknown_times, mut guest_times) = (vec![], vec![], vec![]);
    for _ in 0..15 {
        known_times.push(timed(known.clone()).await);
        unknown_times.push(timed(unique_name("nobody")).await);
        guest_times.push(timed(guest.clone()).await);
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known, unknown, guest) = (
        median(&mut known_times),
        median(&mut unknown_times),
        median(&mut guest_times),
    );
    for (what, other) in [("unknown", unknown), ("guest", guest)] {
        let ratio = known.as_secs_f64().max(other.as_secs_f64())
            / known.as_secs_f64().min(other.as_secs_f64());
        assert!(
            ratio < 2.0,
            "known {known:?} vs {what} {other:?}: ratio {ratio:.2}"
        );
    }
}

/// A real server process (the built binary), for measurements of the process itself.
struct ServerProcess {
    child: std::process::Child,
    node: Instance,
}

impl ServerProcess {
    async fn start(spec: &ClusterSpec, extra: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_connect4-arena"));
        command
            .env("DATABASE_URL", &spec.database_url)
            .env("REDIS_URL", spec.redis_url.as_deref().expect("redis"))
            .env("REDIS_PREFIX", &spec.redis_prefix)
            .env("DATABASE_POOL_SIZE", "4")
            .env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("AUDIT_DIR", &spec.audit_dir)
            .env("INSTANCE_ID", "process")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (name, value) in extra {
            command.env(name, value);
        }
        // Owned at once, so the process is killed (and reaped) on every path.
        let server = ServerProcess {
            child: command.spawn().expect("server binary"),
            node: Instance::external(port),
        };
        for _ in 0..200 {
            let ready = client().get(server.node.http("/health/ready")).send().await;
            if ready.is_ok_and(|response| response.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server process did not get ready");
    }

    /// Resident memory in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak growth allowed during the flood: a few concurrent argon2 hashes (19 MiB each)
/// and the request buffers, not one per request.
const FLOOD_PEAK_GROWTH_MIB: f64 = 160.0;
/// What may stay above the baseline once the flood is over.
const SETTLED_GROWTH_MIB: f64 = 40.0;

#[tokio::test]
async fn a_login_flood_keeps_memory_bounded_and_gives_it_back() {
    let spec = ClusterSpec::postgres_and_redis().await;
    let server = ServerProcess::start(
        &spec,
        &[
            ("LOGIN_ATTEMPTS_PER_ACCOUNT", "100000"),
            ("AUTH_ATTEMPTS_PER_ADDRESS", "100000"),
            // The flood stands for a botnet on many addresses: its 200 connections plus
            // those a loaded machine has not yet reaped must not meet the per-address cap.
            ("MAX_CONNECTIONS_PER_ADDRESS", "100000"),
        ],
    )
    .await;
    let node = &server.node;
    let name = register_with_password(node, "right password").await;
    // Warm up: the first hashes allocate what every later one reuses.
    for _ in 0..3 {
        login(node, &name, "wrong password").await;
    }
    let baseline = server.rss_mib();
    // 400 wrong log-ins, 200 at a time, while memory is sampled.
    let flood = futures_util::stream::iter(0..400)
        .map(|n| {
            let name = name.clone();
            async move { login(node, &name, &format!("wrong {n}")).await }
        })
        .buffer_unordered(200)
        .collect::<Vec<_>>();
    tokio::pin!(flood);
    let mut peak = baseline;
    let answers = loop {
        tokio::select! {
            answers = &mut flood => break answers,
            _ = tokio::time::sleep(Duration::from_millis(50)) => peak = peak.max(server.rss_mib()),
        }
    };
    let refused = answers.iter().filter(|(status, ..)| *status == 503).count();
    for (status, retry_after, body) in &answers {
        match status {
            401 => assert_eq!(body["code"], "invalid_credentials"),
            503 => {
                assert_eq!(body["code"], "server_busy", "{body}");
                assert!(retry_after.is_some(), "503 without Retry-After");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused < 400, "some log-ins were served");
    assert!(
        peak - baseline < FLOOD_PEAK_GROWTH_MIB,
        "RSS went from {baseline:.0} to {peak:.0} MiB"
    );
    // Memory goes back (idle blocking threads exit after 10 s and free their heaps).
    let mut settled = server.rss_mib();
    for _ in 0..60 {
        if settled - baseline < SETTLED_GROWTH_MIB {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        settled = server.rss_mib();
    }
    println!("flood: baseline {baseline:.0} MiB, peak {peak:.0} MiB, settled {settled:.0} MiB, {refused} × 503");
    assert!(
        settled - baseline < SETTLED_GROWTH_MIB,
        "RSS stayed at {settled:.0} MiB (baseline {baseline:.0}, peak {peak:.0})"
    );
    // The server still works.
    assert_eq!(login(node, &name, "right password").await.0, 200);
}

#[tokio::test]
async fn a_burst_of_500_upgrades_gets_no_503_and_readiness_stays_200() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let game_id = start_game(node, &p1, node, &p2).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let url = node.http("/health/ready");
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = match client().get(&url).send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                statuses.push(status);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        })
    };
    let url = node.ws(&game_id);
    let sockets = futures_util::future::join_all((0..500).map(|_| {
        let url = url.clone();
        async move {
            match tokio_tungstenite::connect_async(url.as_str()).await {
                Ok((stream, _)) => {
                    let mut socket = Socket::from_stream(stream);
                    let first = socket.try_recv(Duration::from_secs(30)).await;
                    Ok((socket, first))
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    Err(response.status().as_u16())
                }
                Err(err) => panic!("upgrade failed: {err}"),
            }
        }
    }))
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let readiness = probe.await.unwrap();
    let refused: Vec<u16> = sockets
        .iter()
        .filter_map(|s| s.as_ref().err().copied())
        .collect();
    assert!(
        refused.is_empty(),
        "{} upgrades refused: {refused:?}",
        refused.len()
    );
    for socket in &sockets {
        let (_, first) = socket.as_ref().unwrap();
        assert_eq!(
            first.as_ref().map(|m| m["type"].clone()),
            Some(json!("state"))
        );
    }
    assert!(!readiness.is_empty());
    assert!(
        readiness.iter().all(|status| *status == 200),
        "readiness during the burst: {readiness:?}"
    );
    // Moves still work meanwhile.
    assert_eq!(play(node, &p1, &game_id, 3).await.0, 200);
}

/// Reads until the server closes the connection; returns how long that took.
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("HTTP_HEADER_TIMEOUT_SECONDS", "2")
        .with("HTTP_IDLE_TIMEOUT_SECONDS", "3");
    let node = spec.start("node0").await;
    let addr = format!("127.0.0.1:{}", node.port);

    // One header line every 500 ms: the head never completes in time.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for n in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if slow
            .write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 1024];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
        {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the slow client was never cut off");
    assert!(closed_after < Duration::from_secs(4), "{closed_after:?}");

    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let waited = time_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(
        waited.is_some_and(|w| w < Duration::from_secs(4)),
        "{waited:?}"
    );

    // Keep-alive: one request answered, then nothing.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let waited = time_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(
        waited.is_some_and(|w| w > Duration::from_secs(2) && w < Duration::from_secs(5)),
        "{waited:?}"
    );

    // A prompt client is served over one connection for longer than both timeouts.
    let mut prompt = TcpStream::connect(&addr).await.unwrap();
    for _ in 0..3 {
        prompt
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = prompt.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    // A WebSocket outlives both: its protocol keeps its own time.
    let p1 = register(&node, "a").await;
    let p2 = register(&node, "b").await;
    let game_id = start_game(&node, &p1, &node, &p2).await;
    let mut socket = Socket::connect(&node, &game_id).await;
    socket.expect("state").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.expect("pong").await["type"], "pong");
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("MAX_CONNECTIONS_PER_ADDRESS", "5");
    let node = spec.start("node0").await;
    let addr = format!("127.0.0.1:{}", node.port);
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = [0u8; 1024];
    let refused = matches!(
        tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    );
    assert!(refused, "the sixth connection was served");
    // A slot frees when a connection closes.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(get(&node, "/health/live").await.0, 200);
}

#[tokio::test]
async fn oversized_frames_close_with_1009_and_invalid_utf8_with_1007() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let game_id = start_game(node, &p1, node, &p2).await;

    for size in [8 * 1024, 2 << 20, 16 << 20] {
        let mut socket = Socket::connect(node, &game_id).await;
        socket.expect("state").await;
        // The send may fail once the server has closed: the close code is what counts.
        let _ = socket.send_text("x".repeat(size)).await;
        assert_eq!(socket.close_code().await, Some(1009), "{size} bytes");
    }

    let (mut stream, _) = tokio_tungstenite::connect_async(node.ws(&game_id))
        .await
        .unwrap();
    let invalid = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    stream.send(Message::Frame(invalid)).await.unwrap();
    let mut code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        match frame {
            Ok(Message::Close(close)) => {
                code = close.map(|c| u16::from(c.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(1007));
}

#[tokio::test]
async fn a_lobby_socket_that_never_identifies_is_closed() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("WS_IDENTIFY_TIMEOUT_SECONDS", "1");
    let node = spec.start("node0").await;
    let (stream, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/lobby", node.port))
            .await
            .unwrap();
    let started = Instant::now();
    assert_eq!(Socket::from_stream(stream).close_code().await, Some(1008));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    for path in [
        "/",
        "/css/app.css",
        "/health/live",
        "/no-such-page",
        "/docs",
        "/openapi.json",
    ] {
        let response = client().get(node.http(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    // The app loads only same-origin scripts and styles, which its policy allows.
    let index = client()
        .get(node.http("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!index.contains("<script>") && !index.contains("<style") && !index.contains(" style="));
    // Every inline block of the Swagger page is allowed by its hash.
    let response = client().get(node.http("/docs")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = response.text().await.unwrap();
    // Walk the page as a browser would: a block runs to its own closing tag.
    let directive = |tag: &str| {
        csp.split(';')
            .find(|d| d.trim().starts_with(&format!("{tag}-src")))
            .unwrap()
            .to_string()
    };
    let mut checked = 0;
    let mut rest = html.as_str();
    while let Some((start, tag)) = ["script", "style"]
        .into_iter()
        .filter_map(|tag| rest.find(&format!("<{tag}")).map(|at| (at, tag)))
        .min()
    {
        let (attributes, after) = rest[start + tag.len() + 1..].split_once('>').unwrap();
        let (body, next) = after.split_once(&format!("</{tag}>")).unwrap();
        rest = next;
        if attributes.contains("src=") {
            continue;
        }
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        assert!(
            directive(tag).contains(&hash),
            "a {tag} block is not allowed by {}",
            directive(tag)
        );
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

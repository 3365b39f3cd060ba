//! Redis Cluster: a small local cluster of redis-server processes on loopback ports,
//! started by the test itself.

use std::{path::PathBuf, process::Child, time::Duration};

use serde_json::json;

use crate::helpers::*;

/// Three masters, no replicas. Killed and reaped on drop.
struct LocalCluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    _dir: PathBuf,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

fn free_cluster_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The cluster bus listens on port + 10000.
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl LocalCluster {
    async fn start() -> LocalCluster {
        let dir = temp_dir("redis-cluster");
        let mut cluster = LocalCluster {
            nodes: Vec::new(),
            ports: Vec::new(),
            _dir: dir.clone(),
        };
        for _ in 0..3 {
            let port = free_cluster_port();
            let node = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                ])
                .args([
                    "--cluster-config-file",
                    &format!("nodes-{port}.conf"),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server must be installed");
            cluster.nodes.push(node);
            cluster.ports.push(port);
        }
        for port in &cluster.ports {
            wait_for(|| redis_cli(*port, &["ping"]).contains("PONG")).await;
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = std::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stdout)
        );
        for port in &cluster.ports {
            wait_for(|| redis_cli(*port, &["cluster", "info"]).contains("cluster_state:ok")).await;
        }
        cluster
    }

    fn urls(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
        .unwrap_or_default()
}

async fn wait_for(check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the local Redis cluster did not come up");
}

#[tokio::test]
async fn games_matchmaking_and_fan_out_work_on_redis_cluster() {
    let cluster = LocalCluster::start().await;
    let mut spec = ClusterSpec::postgres_and_redis()
        .await
        .with("REDIS_CLUSTER", "true");
    spec.redis_url = Some(cluster.urls());
    let a = spec.start("node0").await;
    let b = spec.start("node1").await;
    let p1 = register(&a, "a").await;
    let p2 = register(&b, "b").await;
    // Matchmaking pairs them (the {mm} keys share one slot).
    let (_, first) = post(&a, "/matchmaking/join", Some(&p1.token), json!({})).await;
    assert_eq!(first["status"], "queued");
    let (_, second) = post(&b, "/matchmaking/join", Some(&p2.token), json!({})).await;
    assert_eq!(second["status"], "matched", "{second}");
    let game_id = second["game_id"].as_str().unwrap().to_string();
    // Sockets on both instances see every move; concurrent duplicates apply once.
    let mut s1 = Socket::connect(&a, &game_id).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&b, &game_id).await;
    s2.identify(&p2).await;
    // Both instances hold a sharded subscription on the shard that owns the game.
    let channel = format!("{}:{{g:{game_id}}}:events", spec.redis_prefix);
    let shard_subscribers: u64 = cluster
        .ports
        .iter()
        .filter_map(|port| {
            redis_cli(*port, &["pubsub", "shardnumsub", &channel])
                .lines()
                .nth(1)?
                .trim()
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0);
    assert_eq!(shard_subscribers, 2);
    let mut tries = Vec::new();
    for n in 0..10 {
        let url = [&a, &b][n % 2].http(&format!("/games/{game_id}/move"));
        let token = p1.token.clone();
        tries.push(tokio::spawn(async move {
            client()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"column": 0}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut applied = 0;
    for attempt in tries {
        applied += usize::from(attempt.await.unwrap() == 200);
    }
    assert_eq!(applied, 1);
    assert_eq!(s1.expect("move").await["seq"], 2);
    assert_eq!(s2.expect("move").await["seq"], 2);
    for (n, column) in QUICK_WIN.iter().enumerate().skip(1) {
        let socket = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        socket
            .send(json!({"action": "move", "column": column}))
            .await;
        assert_eq!(s1.expect("move").await["seq"], n as u64 + 2);
        assert_eq!(s2.expect("move").await["seq"], n as u64 + 2);
    }
    assert_eq!(s1.expect("game_over").await["winner_id"], p1.id);
    let (_, view) = get(&b, &format!("/games/{game_id}")).await;
    assert_eq!(view["status"], "finished");
    // The game's keys live in one slot.
    let slot = |key: &str| redis_cli(cluster.ports[0], &["cluster", "keyslot", key]);
    let tag = format!("{}:{{g:{game_id}}}", spec.redis_prefix);
    assert_eq!(slot(&format!("{tag}:state")), slot(&format!("{tag}:lock")));
}

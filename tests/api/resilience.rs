//! Failures: a flushed Redis, a lock left by a dead instance, a draining instance, and a
//! tampered audit log.

use std::time::{Duration, Instant};

use connect4_arena::{
    audit::verify_files,
    hot::{HotStore, Keys, RedisHotStore, Release},
};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn play_continues_after_redis_loses_every_key_mid_game() {
    let (spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    play_moves([(&nodes[0], &p1), (&nodes[1], &p2)], &game_id, &[3, 3, 4]).await;
    flush_redis_prefix(&spec.redis_prefix).await;
    let (_, view) = get(&nodes[1], &format!("/games/{game_id}")).await;
    assert_eq!(
        (
            view["seq"].as_u64(),
            view["move_count"].as_u64(),
            view["next_player"].as_u64()
        ),
        (Some(4), Some(3), Some(2))
    );
    assert_eq!(view["board"][4][3], 2);
    let (status, body) = play(&nodes[0], &p2, &game_id, 5).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seq"], 5);
    let (status, body) = play(&nodes[1], &p2, &game_id, 5).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_your_turn"))
    );
}

#[tokio::test]
async fn a_lock_left_by_a_dead_instance_blocks_a_game_for_at_most_two_seconds() {
    let (spec, nodes) = spawn_cluster(1).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[0], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[0], &p2).await;
    // A "dead instance": takes the lock with its own token and never releases it.
    let pool = connect_pool_for_test().await;
    let store = RedisHotStore::new(pool, Keys::new(&spec.redis_prefix));
    let lock = |token: &'static str| {
        let store = &store;
        let game_id = game_id.clone();
        async move {
            store
                .try_lock_and_load(
                    &game_id,
                    token,
                    Duration::from_secs(2),
                    Duration::from_secs(60),
                )
                .await
                .unwrap()
        }
    };
    assert!(lock("dead-instance:1").await.is_some());
    // Nobody else may release it.
    store
        .unlock(&game_id, "someone-else", Release::Clean)
        .await
        .unwrap();
    assert!(lock("other").await.is_none());
    let started = Instant::now();
    let (status, body) = play(&nodes[0], &p1, &game_id, 3).await;
    assert_eq!(status, 200, "{body}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "the move waited for the lock ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(4),
        "the lock expired on its own ({waited:?})"
    );
}

async fn connect_pool_for_test() -> connect4_arena::hot::RedisPool {
    connect4_arena::hot::connect_pool(&redis_url())
        .await
        .expect("redis")
}

#[tokio::test]
async fn a_draining_instance_turns_unready_and_sends_its_sockets_elsewhere() {
    let (spec, mut nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s1 = Socket::connect(&nodes[0], &game_id).await;
    s1.identify(&p1).await;
    assert_eq!(play(&nodes[0], &p1, &game_id, 3).await.0, 200);
    nodes[0].stop().await;
    assert_eq!(s1.close_code().await, Some(1012));
    // The client reconnects through another instance and nothing was lost.
    let mut again = Socket::connect(&nodes[1], &game_id).await;
    assert_eq!(again.expect("state").await["seq"], 2);
    again.identify(&p1).await;
    assert_eq!(play(&nodes[1], &p2, &game_id, 3).await.0, 200);
    assert_eq!(again.expect("move").await["seq"], 3);
    // The stopped instance flushed its audit log, and it verifies.
    let file = spec.audit_file("node0");
    let report = verify_files(&[file]).unwrap();
    assert!(
        report[0].lines > 0 && report[0].problems.is_empty(),
        "{:?}",
        report[0].problems
    );
}

#[tokio::test]
async fn verify_names_an_edited_audit_line() {
    let (spec, mut nodes) = spawn_cluster(1).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[0], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[0], &p2).await;
    play_moves([(&nodes[0], &p1), (&nodes[0], &p2)], &game_id, &QUICK_WIN).await;
    nodes[0].stop().await;
    let file = spec.audit_file("node0");
    assert!(verify_files(std::slice::from_ref(&file)).unwrap()[0]
        .problems
        .is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let target = lines
        .iter()
        .position(|l| l.contains("\"event\":\"move\""))
        .unwrap();
    lines[target] = lines[target].replace("\"column\":0", "\"column\":6");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let report = verify_files(std::slice::from_ref(&file)).unwrap();
    let flagged: Vec<usize> = report[0].problems.iter().map(|p| p.line).collect();
    assert_eq!(flagged, vec![target + 1]);
    // The command-line tool agrees and fails.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect4-arena"))
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!(":{}:", target + 1)));
    let _ = json!(null);
}

#[tokio::test]
async fn a_game_survives_kill_9_of_an_instance_without_losing_or_duplicating_moves() {
    let spec = ClusterSpec::postgres_and_redis().await;
    let mut doomed = Process::start(&spec, "doomed").await;
    let survivor = spec.start("survivor").await;
    let doomed_node = Instance::external(doomed.port);
    let p1 = register(&doomed_node, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&doomed_node, &p1, &survivor, &p2).await;
    let mut s1 = Socket::connect(&doomed_node, &game_id).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&survivor, &game_id).await;
    s2.identify(&p2).await;
    let plan = [3u8, 3, 4, 4, 2, 2, 5];
    for (n, column) in plan[..4].iter().enumerate() {
        let socket = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        socket
            .send(json!({"action": "move", "column": column}))
            .await;
        assert_eq!(s2.expect("move").await["seq"], n as u64 + 2);
    }
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    assert_eq!(
        s1.close_code().await,
        None,
        "a killed instance closes nothing cleanly"
    );
    // The client reconnects through another instance and resyncs.
    let mut s1 = Socket::connect(&survivor, &game_id).await;
    let state = s1.expect("state").await;
    assert_eq!(
        (state["seq"].as_u64(), state["move_count"].as_u64()),
        (Some(5), Some(4))
    );
    s1.identify(&p1).await;
    for (n, column) in plan.iter().enumerate().skip(4) {
        let socket = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        socket
            .send(json!({"action": "move", "column": column}))
            .await;
        assert_eq!(s1.expect("move").await["seq"], n as u64 + 2);
    }
    assert_eq!(s2.expect("game_over").await["winner_id"], p1.id);
    let (_, moves) = get(&survivor, &format!("/games/{game_id}/moves")).await;
    let numbers: Vec<u64> = moves
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["move_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=plan.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_redis_restart_mid_game_loses_nothing_and_sockets_resync() {
    let mut redis = LocalRedis::start().await;
    let mut spec = ClusterSpec::postgres_and_redis().await;
    spec.redis_url = Some(redis.url());
    let a = spec.start("node0").await;
    let b = spec.start("node1").await;
    let p1 = register(&a, "a").await;
    let p2 = register(&b, "b").await;
    let game_id = start_game(&a, &p1, &b, &p2).await;
    let mut s1 = Socket::connect(&a, &game_id).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&b, &game_id).await;
    s2.identify(&p2).await;
    for (n, column) in [3u8, 3, 4].iter().enumerate() {
        let socket = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        socket
            .send(json!({"action": "move", "column": column}))
            .await;
        assert_eq!(s2.expect("move").await["seq"], n as u64 + 2);
    }
    redis.restart().await;
    // Both instances resubscribe and resync their sockets from the rebuilt state.
    for socket in [&mut s1, &mut s2] {
        let mut state = socket.expect("state").await;
        while state["reason"] != "resync" {
            state = socket.expect("state").await;
        }
        assert_eq!(
            (state["seq"].as_u64(), state["move_count"].as_u64()),
            (Some(4), Some(3))
        );
    }
    s2.send(json!({"action": "move", "column": 4})).await;
    for socket in [&mut s1, &mut s2] {
        assert_eq!(socket.expect("move").await["seq"], 5);
    }
    let (_, moves) = get(&a, &format!("/games/{game_id}/moves")).await;
    assert_eq!(moves.as_array().unwrap().len(), 4);
}

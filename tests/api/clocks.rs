//! The move clock, abandonment and stale waiting games, swept by every instance.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_clock_expiry_is_settled_once_with_three_instances_sweeping() {
    let (spec, mut nodes) = spawn_cluster(3).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let (_, game) = post(
        &nodes[0],
        "/games",
        Some(&p1.token),
        json!({"move_time_limit_secs": 5}),
    )
    .await;
    let game_id = game["game_id"].as_str().unwrap().to_string();
    let (_, joined) = post(
        &nodes[1],
        &format!("/games/{game_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    let deadline = joined["turn_deadline_ms"]
        .as_i64()
        .expect("a running clock");
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        (4_000..=5_500).contains(&(deadline - now)),
        "deadline {deadline} vs now {now}"
    );
    // An untouched second game is aborted, not rated.
    let (c, d) = (
        register(&nodes[2], "c").await,
        register(&nodes[2], "d").await,
    );
    let (_, untouched) = post(
        &nodes[2],
        "/games",
        Some(&c.token),
        json!({"move_time_limit_secs": 5}),
    )
    .await;
    let aborted = untouched["game_id"].as_str().unwrap().to_string();
    post(
        &nodes[2],
        &format!("/games/{aborted}/join"),
        Some(&d.token),
        json!({}),
    )
    .await;
    let mut watcher = Socket::connect(&nodes[2], &game_id).await;
    watcher.expect("state").await;
    let (_, moved) = play(&nodes[0], &p1, &game_id, 3).await;
    assert!(moved["turn_deadline_ms"].as_i64().unwrap() > deadline - 1000);
    let over = watcher.expect("game_over").await;
    assert_eq!(
        (over["reason"].as_str(), over["winner"].as_u64()),
        (Some("timeout"), Some(1))
    );
    assert_eq!(over["rating_changes"], json!({"1": 16, "2": -16}));
    let late = watcher.try_recv(Duration::from_secs(2)).await;
    assert!(
        late.is_none_or(|m| m["type"] != "game_over"),
        "settled once"
    );
    let (_, stats) = get(&nodes[1], &format!("/players/{}/stats", p1.id)).await;
    assert_eq!(
        (stats["wins"].as_u64(), stats["elo_rating"].as_i64()),
        (Some(1), Some(1216))
    );
    let (_, view) = get(&nodes[2], &format!("/games/{aborted}")).await;
    assert_eq!(
        (view["status"].as_str(), view["end_reason"].as_str()),
        (Some("abandoned"), Some("timeout"))
    );
    for node in nodes.iter_mut() {
        node.stop().await;
    }
    let mut game_over_lines = 0;
    for id in ["node0", "node1", "node2"] {
        let text = std::fs::read_to_string(spec.audit_file(id)).unwrap_or_default();
        game_over_lines += text
            .lines()
            .filter(|l| l.contains("\"event\":\"game_over\"") && l.contains(&game_id))
            .count();
    }
    assert_eq!(game_over_lines, 1);
}

#[tokio::test]
async fn a_seat_gone_longer_than_the_grace_period_loses_by_abandonment() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("ABANDON_GRACE_SECONDS", "1");
    let a = spec.start("node0").await;
    let b = spec.start("node1").await;
    let p1 = register(&a, "a").await;
    let p2 = register(&b, "b").await;
    let game_id = start_game(&a, &p1, &b, &p2).await;
    let mut s1 = Socket::connect(&a, &game_id).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&b, &game_id).await;
    s2.identify(&p2).await;
    drop(s2);
    let over = s1.expect("game_over").await;
    assert_eq!(
        (over["reason"].as_str(), over["winner_id"].as_i64()),
        (Some("abandoned"), Some(p1.id))
    );
    // Coming back in time cancels the timer.
    let g2 = start_game(&a, &p1, &b, &p2).await;
    let mut s1 = Socket::connect(&a, &g2).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&b, &g2).await;
    s2.identify(&p2).await;
    drop(s2);
    let mut back = Socket::connect(&a, &g2).await;
    back.identify(&p2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, view) = get(&a, &format!("/games/{g2}")).await;
    assert_eq!(view["status"], "active");
}

#[tokio::test]
async fn waiting_games_nobody_joins_are_cancelled() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("WAITING_GAME_TTL_SECONDS", "1");
    let node = spec.start("node0").await;
    let p1 = register(&node, "a").await;
    let (_, game) = post(&node, "/games", Some(&p1.token), json!({})).await;
    let game_id = game["game_id"].as_str().unwrap().to_string();
    let mut status = String::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, view) = get(&node, &format!("/games/{game_id}")).await;
        status = view["status"].as_str().unwrap().to_string();
        if status == "cancelled" {
            break;
        }
    }
    assert_eq!(status, "cancelled");
}

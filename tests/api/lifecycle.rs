//! Game lifecycle and a full game over REST, with its durable record.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_full_game_over_rest_is_won_rated_stored_and_audited() {
    let (spec, mut nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "alice").await;
    let p2 = register(b, "bob").await;
    let game_id = start_game(a, &p1, b, &p2).await;
    let mut last = json!(null);
    for (n, column) in QUICK_WIN.iter().enumerate() {
        let (node, player) = if n % 2 == 0 { (a, &p1) } else { (b, &p2) };
        let (status, body) = play(node, player, &game_id, *column).await;
        assert_eq!(status, 200, "move {n}: {body}");
        assert_eq!(body["seq"], n as u64 + 2);
        last = body;
    }
    assert_eq!(last["winner"], 1);
    assert_eq!(last["winner_id"], p1.id);
    assert_eq!(last["status"], "finished");
    assert_eq!(
        last["winning_cells"],
        json!([[2, 0], [3, 0], [4, 0], [5, 0]])
    );

    let (_, view) = get(b, &format!("/games/{game_id}")).await;
    assert_eq!(
        (view["status"].as_str(), view["end_reason"].as_str()),
        (Some("finished"), Some("four_in_a_row"))
    );
    let (_, moves) = get(a, &format!("/games/{game_id}/moves")).await;
    let columns: Vec<u64> = moves
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["column"].as_u64().unwrap())
        .collect();
    assert_eq!(
        columns,
        QUICK_WIN.iter().map(|c| u64::from(*c)).collect::<Vec<_>>()
    );
    let (_, status) = get(a, &format!("/games/{game_id}/status")).await;
    assert_eq!(status["winner"], 1);

    let (_, winner) = get(a, &format!("/players/{}/stats", p1.id)).await;
    assert_eq!(
        (
            winner["wins"].as_u64(),
            winner["elo_rating"].as_i64(),
            winner["current_streak"].as_u64()
        ),
        (Some(1), Some(1216), Some(1))
    );
    let (_, loser) = get(a, &format!("/players/{}/stats", p2.id)).await;
    assert_eq!(
        (loser["losses"].as_u64(), loser["elo_rating"].as_i64()),
        (Some(1), Some(1184))
    );
    let (_, history) = get(b, &format!("/players/{}/games", p2.id)).await;
    assert_eq!(history[0]["result"], "loss");
    assert_eq!(history[0]["rating_change"], -16);
    assert_eq!(history[0]["opponent_username"], p1.username.as_str());
    let (_, board) = get(a, "/leaderboard?limit=5").await;
    assert_eq!(board[0]["player_id"], p1.id);
    let (_, recent) = get(a, "/games/recent").await;
    assert_eq!(recent[0]["game_id"], game_id.as_str());

    for node in nodes.iter_mut() {
        node.stop().await;
    }
    let mut moves_audited = 0;
    for id in ["node0", "node1"] {
        let text = std::fs::read_to_string(spec.audit_file(id)).unwrap();
        for line in text.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["instance"], id);
            if event["event"] == "move" && event["game_id"] == game_id.as_str() {
                moves_audited += 1;
            }
        }
    }
    assert_eq!(
        moves_audited,
        QUICK_WIN.len(),
        "each move audited exactly once"
    );
}

#[tokio::test]
async fn joining_is_refused_when_full_own_or_not_waiting() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let (p1, p2, p3) = (
        register(node, "a").await,
        register(node, "b").await,
        register(node, "c").await,
    );
    let (_, game) = post(node, "/games", Some(&p1.token), json!({})).await;
    let game_id = game["game_id"].as_str().unwrap().to_string();
    assert_eq!(game["status"], "waiting");
    let (_, waiting) = get(node, "/games/waiting").await;
    assert!(waiting
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["game_id"] == game_id.as_str()));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/join"),
        Some(&p1.token),
        json!({}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("own_game")));
    let (status, _) = post(
        node,
        &format!("/games/{game_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/join"),
        Some(&p3.token),
        json!({}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("game_full")));
    let (status, body) = delete(node, &format!("/games/{game_id}/cancel"), Some(&p1.token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("game_not_waiting"))
    );
    let (_, active) = get(node, &format!("/players/{}/active-game", p2.id)).await;
    assert_eq!(
        (active["game_id"].as_str(), active["my_player"].as_u64()),
        (Some(game_id.as_str()), Some(2))
    );
    let (_, live) = get(node, "/games/live").await;
    assert!(live
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["game_id"] == game_id.as_str()));
}

#[tokio::test]
async fn only_the_creator_cancels_a_waiting_game() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let (p1, p2) = (register(node, "a").await, register(node, "b").await);
    let (_, game) = post(
        node,
        "/games",
        Some(&p1.token),
        json!({"move_time_limit_secs": 30}),
    )
    .await;
    let game_id = game["game_id"].as_str().unwrap().to_string();
    assert_eq!(game["move_time_limit_secs"], 30);
    let (status, body) = delete(node, &format!("/games/{game_id}/cancel"), Some(&p2.token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("not_creator")));
    let (status, body) = delete(node, &format!("/games/{game_id}/cancel"), Some(&p1.token)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("game_not_waiting"))
    );
    let (status, body) = get(node, &format!("/players/{}/active-game", p1.id)).await;
    assert_eq!((status, body), (200, serde_json::Value::Null));
    let (status, body) = post(
        node,
        "/games",
        Some(&p1.token),
        json!({"move_time_limit_secs": 1}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn stats_and_health_cover_the_whole_cluster() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    post(&nodes[0], "/heartbeat", Some(&p1.token), json!({})).await;
    post(&nodes[1], "/heartbeat", Some(&p2.token), json!({})).await;
    for node in &nodes {
        let (_, stats) = get(node, "/stats").await;
        assert_eq!(
            (
                stats["active_games"].as_u64(),
                stats["online_players"].as_u64(),
                stats["total_players"].as_u64()
            ),
            (Some(1), Some(2), Some(2)),
            "{stats}"
        );
        let (status, ready) = get(node, "/health/ready").await;
        assert_eq!((status, ready["status"].as_str()), (200, Some("ok")));
    }
    let metrics = client()
        .get(nodes[0].http("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("c4_games_active{instance=\"node0\"} 1"),
        "{metrics}"
    );
    let (status, spec) = get(&nodes[0], "/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/players",
        "/sessions",
        "/games/{id}/move",
        "/games/{id}/join",
        "/leaderboard",
        "/stats",
        "/health/ready",
        "/players/{id}/stats",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
}

#[tokio::test]
async fn instances_starting_at_once_on_a_fresh_database_migrate_it_once() {
    let spec = ClusterSpec::postgres_and_redis().await;
    let (a, b, c) = tokio::join!(
        spec.start("node0"),
        spec.start("node1"),
        spec.start("node2")
    );
    for node in [&a, &b, &c] {
        let (status, _) = get(node, "/health/ready").await;
        assert_eq!(status, 200);
    }
    let p1 = register(&a, "a").await;
    let p2 = register(&c, "b").await;
    start_game(&b, &p1, &c, &p2).await;
}

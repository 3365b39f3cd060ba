//! Matchmaking across instances.

use std::{collections::HashMap, time::Duration};

use serde_json::json;

use crate::helpers::*;

async fn status(node: &Instance, player: &Player) -> serde_json::Value {
    let response = client()
        .get(node.http(&format!("/matchmaking/status/{}", player.id)))
        .bearer_auth(&player.token)
        .send()
        .await
        .unwrap();
    let (code, body) = reply(response).await;
    assert_eq!(code, 200, "{body}");
    body
}

#[tokio::test]
async fn two_hundred_players_joining_through_three_instances_are_each_matched_once() {
    let (_spec, nodes) = spawn_cluster(3).await;
    let mut players = Vec::new();
    for n in 0..200 {
        players.push(register(&nodes[n % 3], "mm").await);
    }
    let mut joins = Vec::new();
    for (n, player) in players.iter().enumerate() {
        let url = nodes[n % 3].http("/matchmaking/join");
        let token = player.token.clone();
        joins.push(tokio::spawn(async move {
            let response = client()
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            reply(response).await
        }));
    }
    for join in joins {
        let (code, body) = join.await.unwrap();
        assert_eq!(code, 200, "{body}");
        assert!(
            body["status"] == "matched" || body["status"] == "queued",
            "{body}"
        );
    }
    let mut games: HashMap<String, Vec<(i64, u64)>> = HashMap::new();
    let mut unmatched = Vec::new();
    for (n, player) in players.iter().enumerate() {
        let mut body = status(&nodes[(n + 1) % 3], player).await;
        for _ in 0..40 {
            if body["status"] == "matched" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            body = status(&nodes[n % 3], player).await;
        }
        match body["game_id"].as_str() {
            Some(game_id) => games
                .entry(game_id.to_string())
                .or_default()
                .push((player.id, body["my_player"].as_u64().unwrap())),
            None => unmatched.push(player.id),
        }
    }
    assert!(
        unmatched.len() <= 1,
        "at most one player may be left waiting alone: {unmatched:?}"
    );
    assert_eq!(games.len() * 2 + unmatched.len(), 200);
    for (game_id, seats) in &games {
        assert_eq!(seats.len(), 2, "{game_id}: {seats:?}");
        assert_ne!(
            seats[0].0, seats[1].0,
            "a player matched with itself in {game_id}"
        );
        let mut numbers: Vec<u64> = seats.iter().map(|s| s.1).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, vec![1, 2]);
        let (_, view) = get(&nodes[0], &format!("/games/{game_id}")).await;
        assert_eq!(view["status"], "active");
    }
    let (_, stats) = get(&nodes[2], "/stats").await;
    assert_eq!(stats["active_games"].as_u64(), Some(games.len() as u64));
    assert_eq!(stats["queue_size"].as_u64(), Some(unmatched.len() as u64));
}

#[tokio::test]
async fn the_rating_window_widens_with_waiting_time() {
    let (spec, nodes) = spawn_cluster(2).await;
    let low = register(&nodes[0], "low").await;
    let high = register(&nodes[1], "high").await;
    set_rating(&spec.database_url, high.id, 1500).await;
    let (_, first) = post(
        &nodes[0],
        "/matchmaking/join",
        Some(&low.token),
        json!({"player_id": low.id}),
    )
    .await;
    let (_, second) = post(&nodes[1], "/matchmaking/join", Some(&high.token), json!({})).await;
    assert_eq!(
        (first["status"].as_str(), second["status"].as_str()),
        (Some("queued"), Some("queued")),
        "300 apart is outside +/-200"
    );
    assert_eq!(second["queue_size"], 2);
    let mut matched = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let body = status(&nodes[0], &low).await;
        if body["status"] == "matched" {
            matched = Some(body);
            break;
        }
    }
    let matched = matched.expect("paired once the windows widened to 300 (about 2 s)");
    let game_id = matched["game_id"].as_str().unwrap();
    let other = status(&nodes[1], &high).await;
    assert_eq!(other["game_id"].as_str(), Some(game_id));
}

#[tokio::test]
async fn a_match_is_pushed_to_the_waiting_players_lobby_socket_and_leaving_works() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let a = register(&nodes[0], "a").await;
    let b = register(&nodes[1], "b").await;
    let c = register(&nodes[1], "c").await;
    let (stream, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/lobby", nodes[0].port))
            .await
            .unwrap();
    let mut lobby = Socket::from_stream(stream);
    lobby
        .send(json!({"action": "identify", "token": a.token}))
        .await;
    lobby.expect("identified").await;
    let (_, queued) = post(&nodes[0], "/matchmaking/join", Some(&a.token), json!({})).await;
    assert_eq!(queued["status"], "queued");
    let (_, paired) = post(&nodes[1], "/matchmaking/join", Some(&b.token), json!({})).await;
    assert_eq!(
        (paired["status"].as_str(), paired["my_player"].as_u64()),
        (Some("matched"), Some(2))
    );
    let pushed = lobby.expect("matched").await;
    assert_eq!(
        (pushed["game_id"].clone(), pushed["my_player"].as_u64()),
        (paired["game_id"].clone(), Some(1))
    );
    // Leaving, and acting for someone else.
    let (_, queued) = post(&nodes[1], "/matchmaking/join", Some(&c.token), json!({})).await;
    assert_eq!(queued["status"], "queued");
    let (code, body) = delete(
        &nodes[0],
        &format!("/matchmaking/leave/{}", c.id),
        Some(&a.token),
    )
    .await;
    assert_eq!((code, body["code"].as_str()), (403, Some("not_yourself")));
    let (code, body) = delete(
        &nodes[0],
        &format!("/matchmaking/leave/{}", c.id),
        Some(&c.token),
    )
    .await;
    assert_eq!((code, body["status"].as_str()), (200, Some("not_queued")));
    assert_eq!(status(&nodes[1], &c).await["status"], "not_queued");
    let (code, body) = post(&nodes[0], "/matchmaking/join", Some(&a.token), json!({})).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (200, Some("matched")),
        "a player already matched gets its game back"
    );
}

async fn set_rating(database_url: &str, player_id: i64, rating: i32) {
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(database_url).await.unwrap();
    db.execute_unprepared(&format!(
        "UPDATE players SET elo_rating = {rating} WHERE id = {player_id}"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_pairing_whose_game_cannot_be_created_puts_the_real_player_back_in_the_queue() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let hot = &node.state().hot;
    // A queue entry for a player the database does not know: pairing with it fails when
    // the game is created.
    let ghost = i64::MAX - 7;
    hot.queue_join(ghost, 1200, connect4_arena::service::now_ms())
        .await
        .unwrap();
    let player = register(node, "requeue").await;
    let (code, body) = post(node, "/matchmaking/join", Some(&player.token), json!({})).await;
    assert!(
        code == 404 || (code == 200 && body["status"] == "queued"),
        "{code} {body}"
    );

    // Whoever ran the failed pairing (this join or a sweep), the player is queued again,
    // alone, with no pending match left behind; the ghost is gone.
    let mut body = status(node, &player).await;
    for _ in 0..20 {
        if body["status"] == "queued" && body["queue_size"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        body = status(node, &player).await;
    }
    assert_eq!(
        (body["status"].as_str(), body["queue_size"].as_u64()),
        (Some("queued"), Some(1)),
        "{body}"
    );
    assert_eq!(hot.get_match(player.id).await.unwrap(), None);
    assert_eq!(hot.get_match(ghost).await.unwrap(), None);

    // And the next real player is matched with it.
    let partner = register(node, "requeue").await;
    let (code, body) = post(node, "/matchmaking/join", Some(&partner.token), json!({})).await;
    assert_eq!(code, 200, "{body}");
    let mut body = status(node, &player).await;
    for _ in 0..20 {
        if body["status"] == "matched" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        body = status(node, &player).await;
    }
    assert_eq!(body["status"], "matched", "{body}");
}

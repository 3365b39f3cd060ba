//! Real-time play across instances: fan-out, exactly-once moves, spectators, rematch,
//! presence, reconnects.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_full_game_over_websockets_on_two_instances() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s1 = Socket::connect(&nodes[0], &game_id).await;
    let mut s2 = Socket::connect(&nodes[1], &game_id).await;
    assert_eq!(s1.identify(&p1).await["player"], 1);
    assert_eq!(s2.identify(&p2).await["player"], 2);
    for (n, column) in QUICK_WIN.iter().enumerate() {
        let mover = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        mover
            .send(json!({"action": "move", "column": column}))
            .await;
        let seq = n as u64 + 2;
        for socket in [&mut s1, &mut s2] {
            let event = socket.expect("move").await;
            assert_eq!(
                (event["seq"].as_u64(), event["column"].as_u64()),
                (Some(seq), Some(u64::from(*column)))
            );
        }
    }
    for socket in [&mut s1, &mut s2] {
        let over = socket.expect("game_over").await;
        assert_eq!(
            (over["winner"].as_u64(), over["reason"].as_str()),
            (Some(1), Some("four_in_a_row"))
        );
        assert_eq!(over["rating_changes"], json!({"1": 16, "2": -16}));
    }
}

#[tokio::test]
async fn a_move_on_one_instance_reaches_sockets_on_the_others_with_its_seq() {
    let (_spec, nodes) = spawn_cluster(3).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[0], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[0], &p2).await;
    let mut on_b = Socket::connect(&nodes[1], &game_id).await;
    let mut on_c = Socket::connect(&nodes[2], &game_id).await;
    assert_eq!(on_b.expect("state").await["seq"], 1);
    assert_eq!(on_c.expect("state").await["seq"], 1);
    let (status, _) = play(&nodes[0], &p1, &game_id, 3).await;
    assert_eq!(status, 200);
    for socket in [&mut on_b, &mut on_c] {
        let event = socket.expect("move").await;
        assert_eq!(
            (
                event["seq"].as_u64(),
                event["player"].as_u64(),
                event["row"].as_u64()
            ),
            (Some(2), Some(1), Some(5))
        );
        assert_eq!(event["board"][5][3], 1);
        // Delivered exactly once.
        let again = socket.try_recv(Duration::from_millis(300)).await;
        assert!(
            again.is_none_or(|m| m["type"] != "move"),
            "duplicate delivery"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_submissions_of_a_move_across_three_instances_apply_once() {
    let (_spec, nodes) = spawn_cluster(3).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut watcher = Socket::connect(&nodes[2], &game_id).await;
    watcher.expect("state").await;
    let mut tasks = Vec::new();
    for n in 0..50 {
        let node = nodes[n % 3].http(&format!("/games/{game_id}/move"));
        let token = p1.token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client()
                .post(node)
                .bearer_auth(token)
                .json(&json!({"column": 4}))
                .send()
                .await
                .unwrap();
            reply(response).await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => applied += 1,
            409 => assert_eq!(body["code"], "not_your_turn", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(applied, 1);
    let (_, moves) = get(&nodes[1], &format!("/games/{game_id}/moves")).await;
    assert_eq!(moves.as_array().unwrap().len(), 1);
    let (_, view) = get(&nodes[2], &format!("/games/{game_id}")).await;
    assert_eq!(
        (view["seq"].as_u64(), view["next_player"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(watcher.expect("move").await["seq"], 2);
    let extra = watcher.try_recv(Duration::from_millis(500)).await;
    assert!(
        extra.is_none_or(|m| m["type"] != "move"),
        "only one move broadcast"
    );
}

#[tokio::test]
async fn two_games_of_one_player_finishing_at_once_both_update_the_rating() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let hub = register(&nodes[0], "hub").await;
    let x = register(&nodes[0], "x").await;
    let y = register(&nodes[1], "y").await;
    let g1 = start_game(&nodes[0], &hub, &nodes[0], &x).await;
    let g2 = start_game(&nodes[1], &hub, &nodes[1], &y).await;
    for (n, column) in QUICK_WIN[..6].iter().enumerate() {
        let (p_a, p_b) = if n % 2 == 0 { (&hub, &hub) } else { (&x, &y) };
        assert_eq!(play(&nodes[0], p_a, &g1, *column).await.0, 200);
        assert_eq!(play(&nodes[1], p_b, &g2, *column).await.0, 200);
    }
    let (first, second) =
        tokio::join!(play(&nodes[0], &hub, &g1, 0), play(&nodes[1], &hub, &g2, 0));
    assert_eq!((first.0, second.0), (200, 200));
    let (_, stats) = get(&nodes[0], &format!("/players/{}/stats", hub.id)).await;
    assert_eq!(stats["wins"], 2);
    // 1200 +16 = 1216, then against a 1200 player: +15 (expected score 0.523).
    assert_eq!(stats["elo_rating"], 1231, "{stats}");
    // Whichever game settled first moved 16 points, the other 15.
    let mut losers = Vec::new();
    for loser in [&x, &y] {
        let (_, stats) = get(&nodes[1], &format!("/players/{}/stats", loser.id)).await;
        assert_eq!(stats["losses"], 1);
        losers.push(stats["elo_rating"].as_i64().unwrap());
    }
    losers.sort_unstable();
    assert_eq!(losers, vec![1184, 1185]);
}

#[tokio::test]
async fn a_spectator_sees_every_move_but_cannot_act() {
    let (_spec, nodes) = spawn_cluster(3).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let watcher = register(&nodes[2], "w").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut spectator = Socket::connect(&nodes[2], &game_id).await;
    spectator.expect("state").await;
    let mut anonymous = Socket::connect(&nodes[2], &game_id).await;
    anonymous.expect("state").await;
    assert_eq!(spectator.identify(&watcher).await["role"], "spectator");
    play_moves([(&nodes[0], &p1), (&nodes[1], &p2)], &game_id, &QUICK_WIN).await;
    for socket in [&mut spectator, &mut anonymous] {
        for n in 0..QUICK_WIN.len() {
            assert_eq!(socket.expect("move").await["seq"], n as u64 + 2);
        }
        socket.expect("game_over").await;
    }
    spectator.send(json!({"action": "move", "column": 1})).await;
    assert_eq!(spectator.expect("error").await["code"], "not_a_player");
    anonymous.send(json!({"action": "resign"})).await;
    assert_eq!(anonymous.expect("error").await["code"], "unauthorized");
    let (_, live) = get(&nodes[0], "/games/live").await;
    assert!(live
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["game_id"] != game_id.as_str()));
}

#[tokio::test]
async fn a_rematch_across_instances_swaps_colours_and_announces_the_new_game() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s1 = Socket::connect(&nodes[0], &game_id).await;
    let mut s2 = Socket::connect(&nodes[1], &game_id).await;
    s1.identify(&p1).await;
    s2.identify(&p2).await;
    s1.send(json!({"action": "rematch"})).await;
    assert_eq!(s1.expect("error").await["code"], "game_not_over");
    s2.send(json!({"action": "resign"})).await;
    let over = s1.expect("game_over").await;
    assert_eq!(
        (over["winner"].as_u64(), over["reason"].as_str()),
        (Some(1), Some("resign"))
    );
    s1.send(json!({"action": "rematch"})).await;
    let waiting = s2.expect("rematch_waiting").await;
    assert_eq!(waiting["player"], 1);
    s2.send(json!({"action": "rematch"})).await;
    let announced_1 = s1.expect("rematch").await;
    let announced_2 = s2.expect("rematch").await;
    assert_eq!(announced_1["new_game_id"], announced_2["new_game_id"]);
    let new_id = announced_1["new_game_id"].as_str().unwrap();
    let (_, view) = get(&nodes[1], &format!("/games/{new_id}")).await;
    assert_eq!(
        (
            view["status"].as_str(),
            view["player1"]["id"].as_i64(),
            view["player2"]["id"].as_i64()
        ),
        (Some("active"), Some(p2.id), Some(p1.id))
    );
    // A late vote does not create a second game.
    s1.send(json!({"action": "rematch"})).await;
    assert_eq!(s1.expect("rematch").await["new_game_id"], new_id);
}

#[tokio::test]
async fn a_reconnecting_client_gets_the_full_state_and_misses_nothing() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s2 = Socket::connect(&nodes[1], &game_id).await;
    s2.identify(&p2).await;
    drop(s2);
    for (n, column) in [(0, 3u8), (1, 3), (2, 4)] {
        let (player, node) = if n % 2 == 0 {
            (&p1, &nodes[0])
        } else {
            (&p2, &nodes[1])
        };
        assert_eq!(play(node, player, &game_id, column).await.0, 200);
    }
    let mut back = Socket::connect(&nodes[0], &game_id).await;
    let state = back.expect("state").await;
    assert_eq!(
        (state["seq"].as_u64(), state["move_count"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(state["board"][5][3], 1);
    assert_eq!(state["board"][4][3], 2);
    assert_eq!(
        state["last_move"],
        json!({"player": 1, "column": 4, "row": 5})
    );
    back.identify(&p2).await;
    back.send(json!({"action": "sync"})).await;
    let synced = back.expect("state").await;
    assert_eq!(synced["seq"], 4);
    back.send(json!({"action": "move", "column": 2})).await;
    assert_eq!(back.expect("move").await["seq"], 5);
}

#[tokio::test]
async fn presence_is_seen_across_instances() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s1 = Socket::connect(&nodes[0], &game_id).await;
    s1.identify(&p1).await;
    let mut s2 = Socket::connect(&nodes[1], &game_id).await;
    s2.identify(&p2).await;
    let status = s1.expect("player_status").await;
    let status = if status["player"] == 2 {
        status
    } else {
        s1.expect("player_status").await
    };
    assert_eq!(
        (status["status"].as_str(), status["online"]["2"].as_bool()),
        (Some("connected"), Some(true))
    );
    drop(s2);
    let gone = s1.expect("player_status").await;
    assert_eq!(
        (
            gone["player"].as_u64(),
            gone["status"].as_str(),
            gone["online"]["2"].as_bool()
        ),
        (Some(2), Some("disconnected"), Some(false))
    );
}

#[tokio::test]
async fn players_see_spectators_come_and_go() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[0], "b").await;
    let game_id = start_game(&nodes[0], &p1, &nodes[0], &p2).await;
    let mut player = Socket::connect(&nodes[0], &game_id).await;
    player.identify(&p1).await;
    let initial = player.expect("state").await;
    assert_eq!(
        initial["viewers"], 0,
        "a player is never counted as a viewer"
    );
    let mut spectator = Socket::connect(&nodes[1], &game_id).await;
    spectator.expect("state").await;
    let mut status = player.expect("player_status").await;
    while !status["player"].is_null() {
        status = player.expect("player_status").await;
    }
    assert_eq!(status["viewers"], 1);
    drop(spectator);
    let gone = player.expect("player_status").await;
    assert_eq!(
        (gone["player"].is_null(), gone["viewers"].as_u64()),
        (true, Some(0))
    );
}

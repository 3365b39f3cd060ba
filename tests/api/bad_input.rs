//! Every bad input gets a clear JSON error with a stable code; nothing returns 500 and
//! nothing corrupts a game.

use serde_json::{json, Value};

use crate::helpers::*;

async fn raw_post(
    node: &Instance,
    path: &str,
    token: Option<&str>,
    body: &'static str,
) -> (u16, Value) {
    let mut request = client()
        .post(node.http(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    reply(request.send().await.unwrap()).await
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_422_invalid_body() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let game_id = start_game(node, &p1, node, &p2).await;
    let path = format!("/games/{game_id}/move");
    for body in [
        "{",
        "[]",
        "{\"column\": \"three\"}",
        "{\"column\": 1.5}",
        "{}",
        "null",
    ] {
        let (status, reply) = raw_post(node, &path, Some(&p1.token), body).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert_eq!(reply["code"], "invalid_body", "{body}: {reply}");
        assert!(reply["error"].is_string());
    }
    let (status, reply) = raw_post(node, "/players", None, "{\"username\": ").await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (422, Some("invalid_body"))
    );
    // The game is untouched.
    let (_, view) = get(node, &format!("/games/{game_id}")).await;
    assert_eq!(view["move_count"], 0);
}

#[tokio::test]
async fn out_of_range_columns_someone_elses_game_and_stale_tokens_are_refused() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let stranger = register(node, "c").await;
    let game_id = start_game(node, &p1, node, &p2).await;
    for column in [-1i64, 7, 1_000_000_000_000] {
        let (status, body) = post(
            node,
            &format!("/games/{game_id}/move"),
            Some(&p1.token),
            json!({"column": column}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("column_out_of_range")),
            "{column}"
        );
    }
    let (status, body) = play(node, &stranger, &game_id, 3).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("not_a_player")));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/move"),
        Some(&p1.token),
        json!({"column": 3, "player": 2}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("wrong_player")));
    let (status, body) = play(node, &p2, &game_id, 3).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_your_turn"))
    );
    let stale = Player {
        token: "bm90LWEtcmVhbC10b2tlbg".into(),
        ..p1.clone()
    };
    let (status, body) = play(node, &stale, &game_id, 3).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/move"),
        None,
        json!({"column": 3}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/move"),
        Some(&p1.token),
        json!({"column": 3, "game_id": "other"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_body")));
    let (status, body) = play(node, &p1, "no-such-game", 3).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("game_not_found"))
    );
    // Nothing of that changed the game.
    let (_, view) = get(node, &format!("/games/{game_id}")).await;
    assert_eq!(view["move_count"], 0);
    assert_eq!(view["seq"], 1);
}

#[tokio::test]
async fn a_full_column_and_a_finished_game_are_409() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let game_id = start_game(node, &p1, node, &p2).await;
    for (n, player) in [&p1, &p2, &p1, &p2, &p1, &p2].into_iter().enumerate() {
        let (status, body) = play(node, player, &game_id, 2).await;
        assert_eq!(status, 200, "move {n}: {body}");
    }
    let (status, body) = play(node, &p1, &game_id, 2).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("column_full")));
    let (status, body) = post(
        node,
        &format!("/games/{game_id}/resign"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = play(node, &p1, &game_id, 3).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("game_over")));
}

#[tokio::test]
async fn oversized_bodies_unknown_routes_and_wrong_methods_are_json() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(100_000));
    let response = client()
        .post(node.http("/players"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = reply(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) = get(node, "/no/such/route").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let response = client()
        .put(node.http("/leaderboard"))
        .send()
        .await
        .unwrap();
    let (status, body) = reply(response).await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["code"], "method_not_allowed");
    let (status, body) = get(node, "/leaderboard?limit=abc").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_parameter"))
    );
    let (status, body) = get(node, "/leaderboard?limit=100000").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn websocket_garbage_gets_error_messages_and_a_huge_frame_closes_the_socket() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "a").await;
    let p2 = register(node, "b").await;
    let game_id = start_game(node, &p1, node, &p2).await;
    let mut socket = Socket::connect(node, &game_id).await;
    socket.expect("state").await;
    socket.send_text("not json".into()).await.unwrap();
    assert_eq!(socket.expect("error").await["code"], "invalid_message");
    socket.send(json!({"action": "move", "column": 3})).await;
    assert_eq!(socket.expect("error").await["code"], "unauthorized");
    socket
        .send(json!({"action": "identify", "token": "stale"}))
        .await;
    assert_eq!(socket.expect("error").await["code"], "unauthorized");
    socket.send(json!({"action": "fly"})).await;
    assert_eq!(socket.expect("error").await["code"], "unknown_action");
    socket.identify(&p1).await;
    socket.send(json!({"action": "move", "column": 42})).await;
    assert_eq!(socket.expect("error").await["code"], "column_out_of_range");
    socket.send(json!({"player": 2, "column": 3})).await;
    assert_eq!(socket.expect("error").await["code"], "wrong_player");
    let _ = socket.send_text("x".repeat(64 * 1024)).await;
    assert_eq!(socket.close_code().await, Some(1009));
    let (_, view) = get(node, &format!("/games/{game_id}")).await;
    assert_eq!(view["move_count"], 0);
    match tokio_tungstenite::connect_async(node.ws("no-such-game")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 404)
        }
        other => panic!(
            "a socket to a missing game must be refused: {:?}",
            other.map(|_| ())
        ),
    }
}

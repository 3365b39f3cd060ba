//! What the app's player pages and addresses read: profiles with their rating history,
//! head-to-head records, the ratings shown in a rematch, "no active game" as a normal
//! answer, and the app served at its own addresses.

use serde_json::{json, Value};

use crate::helpers::*;

/// `p1` (seat one) beats `p2` with [`QUICK_WIN`], moves alternating between the two nodes.
async fn quick_win(a: &Instance, p1: &Player, b: &Instance, p2: &Player) -> String {
    let game_id = start_game(a, p1, b, p2).await;
    play_moves([(a, p1), (b, p2)], &game_id, &QUICK_WIN).await;
    game_id
}

async fn page(instance: &Instance, path: &str, accept: &str) -> (u16, String, String) {
    let response = client()
        .get(instance.http(path))
        .header("Accept", accept)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, kind, response.text().await.expect("body"))
}

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn a_rematch_shows_the_ratings_the_finished_game_left_everywhere() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let p1 = register(&nodes[0], "a").await;
    let p2 = register(&nodes[1], "b").await;
    let game_id = quick_win(&nodes[0], &p1, &nodes[1], &p2).await;
    let mut s1 = Socket::connect(&nodes[0], &game_id).await;
    let mut s2 = Socket::connect(&nodes[1], &game_id).await;
    s1.identify(&p1).await;
    s2.identify(&p2).await;
    s1.send(json!({"action": "rematch"})).await;
    s2.expect("rematch_waiting").await;
    s2.send(json!({"action": "rematch"})).await;
    let new_id = s1.expect("rematch").await["new_game_id"]
        .as_str()
        .expect("new_game_id")
        .to_string();

    // Colours swap: the loser (1184) now plays first, the winner (1216) second.
    let expected = (Some(p2.id), Some(1184), Some(p1.id), Some(1216));
    let seen = |view: &Value| {
        (
            view["player1"]["id"].as_i64(),
            view["player1"]["elo_rating"].as_i64(),
            view["player2"]["id"].as_i64(),
            view["player2"]["elo_rating"].as_i64(),
        )
    };
    for node in &nodes {
        let (status, view) = get(node, &format!("/games/{new_id}")).await;
        assert_eq!(status, 200);
        assert_eq!(seen(&view), expected, "REST view on {}", node.instance_id);
    }
    let mut spectator = Socket::connect(&nodes[1], &new_id).await;
    assert_eq!(seen(&spectator.expect("state").await), expected);
}

#[tokio::test]
async fn a_profile_carries_the_record_and_the_rating_history_oldest_first() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "prof").await;
    let p2 = register(b, "oppo").await;
    quick_win(a, &p1, b, &p2).await;
    // The second game: p2 opens, p1 joins; p2 wins.
    quick_win(b, &p2, a, &p1).await;

    let (status, profile) = get(a, &format!("/profiles/{}", p1.username.to_uppercase())).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(
        (
            profile["player_id"].as_i64(),
            profile["username"].as_str(),
            profile["total_games"].as_u64(),
            profile["wins"].as_u64(),
            profile["losses"].as_u64(),
            profile["draws"].as_u64(),
            profile["starting_rating"].as_i64(),
            profile["guest"].as_bool(),
        ),
        (
            Some(p1.id),
            Some(p1.username.as_str()),
            Some(2),
            Some(1),
            Some(1),
            Some(0),
            Some(1200),
            Some(true)
        )
    );
    let history = profile["rating_history"].as_array().expect("history");
    let points: Vec<(i64, i64)> = history
        .iter()
        .map(|p| (p["rating"].as_i64().unwrap(), p["change"].as_i64().unwrap()))
        .collect();
    assert_eq!(points.len(), 2, "{profile}");
    assert_eq!(points[0], (1216, 16));
    assert_eq!(points[1].0, 1216 + points[1].1);
    assert!(points[1].1 < 0);
    assert_eq!(profile["elo_rating"].as_i64(), Some(points[1].0));
    assert_eq!(profile["peak_rating"].as_i64(), Some(1216));
    assert!(history
        .iter()
        .all(|p| p["game_id"].is_string() && p["at"].is_string()));

    // A new player has a flat history: no points, the starting rating is the rating.
    let newcomer = register(b, "new").await;
    let (_, fresh) = get(b, &format!("/profiles/{}", newcomer.username)).await;
    assert_eq!(fresh["rating_history"], json!([]));
    assert_eq!(fresh["starting_rating"], fresh["elo_rating"]);
    assert_eq!(fresh["total_games"], 0);
}

#[tokio::test]
async fn head_to_head_counts_finished_games_from_the_first_players_side() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "h2ha").await;
    let p2 = register(b, "h2hb").await;
    let p3 = register(b, "h2hc").await;
    quick_win(a, &p1, b, &p2).await;
    quick_win(a, &p1, b, &p2).await;
    quick_win(b, &p2, a, &p1).await;
    // A game against somebody else does not count.
    quick_win(a, &p1, b, &p3).await;

    let (status, record) = get(
        b,
        &format!("/profiles/{}/versus/{}", p1.username, p2.username),
    )
    .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (
            record["player"]["id"].as_i64(),
            record["opponent"]["id"].as_i64(),
            record["total_games"].as_u64(),
            record["wins"].as_u64(),
            record["losses"].as_u64(),
            record["draws"].as_u64(),
        ),
        (Some(p1.id), Some(p2.id), Some(3), Some(2), Some(1), Some(0))
    );
    let (_, reverse) = get(
        a,
        &format!("/profiles/{}/versus/{}", p2.username, p1.username),
    )
    .await;
    assert_eq!(
        (reverse["wins"].as_u64(), reverse["losses"].as_u64()),
        (Some(1), Some(2))
    );
    let (_, strangers) = get(
        a,
        &format!("/profiles/{}/versus/{}", p2.username, p3.username),
    )
    .await;
    assert_eq!(strangers["total_games"], 0);
}

#[tokio::test]
async fn unknown_players_have_no_profile() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let known = register(&nodes[0], "known").await;
    for path in [
        "/profiles/nobody-here".to_string(),
        format!("/profiles/{}/versus/nobody-here", known.username),
        format!("/profiles/nobody-here/versus/{}", known.username),
    ] {
        let (status, body) = get(&nodes[0], &path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("player_not_found")),
            "{path}"
        );
    }
    let (_, spec) = get(&nodes[0], "/openapi.json").await;
    for path in [
        "/profiles/{username}",
        "/profiles/{username}/versus/{opponent}",
    ] {
        assert!(spec["paths"][path]["get"].is_object(), "{path} in the spec");
    }
}

#[tokio::test]
async fn no_active_game_is_a_normal_answer_not_an_error() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p1 = register(node, "idle").await;
    let (status, body) = get(node, &format!("/players/{}/active-game", p1.id)).await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, game) = post(node, "/games", Some(&p1.token), json!({})).await;
    assert_eq!(status, 201);
    let (status, body) = get(node, &format!("/players/{}/active-game", p1.id)).await;
    assert_eq!(
        (status, body["game_id"].as_str(), body["status"].as_str()),
        (200, game["game_id"].as_str(), Some("waiting"))
    );
}

#[tokio::test]
async fn the_apps_addresses_serve_the_app_and_unknown_api_paths_stay_json() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    for path in [
        "/game/6f1c-abc",
        "/watch/6f1c-abc",
        "/replay/6f1c-abc",
        "/player/alice_1",
        "/leaderboard",
    ] {
        let (status, kind, body) = page(node, path, BROWSER).await;
        assert_eq!(status, 200, "{path}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(body.contains("<title>Connect 4 Arena</title>"), "{path}");
    }
    // The API keeps `/leaderboard` for clients asking for JSON.
    let (status, kind, body) = page(node, "/leaderboard", "application/json").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(serde_json::from_str::<Value>(&body).unwrap().is_array());
    let (status, _) = get(node, "/leaderboard?limit=3").await;
    assert_eq!(status, 200);

    // Unknown paths, app-like or not, are JSON 404s, for browsers too.
    for path in [
        "/games/nope/unknown",
        "/nope",
        "/game/",
        "/game/a/b",
        "/player/a%20b",
    ] {
        let (status, kind, body) = page(node, path, BROWSER).await;
        assert_eq!(status, 404, "{path}");
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
    }

    let (status, kind, body) = page(node, "/favicon.ico", "image/*").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("image/svg+xml"), "{kind}");
    assert!(body.starts_with("<svg"));
}

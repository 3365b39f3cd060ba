//! The options a game is created with (rated or casual, colour, clock), draw offers,
//! aborts and emotes, across instances.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// Creates a game by `p1` on `a` with `options` and joins it as `p2` on `b`; returns
/// the joined game's view.
async fn start_with(a: &Instance, p1: &Player, b: &Instance, p2: &Player, options: Value) -> Value {
    let (status, game) = post(a, "/games", Some(&p1.token), options).await;
    assert_eq!(status, 201, "{game}");
    let game_id = game["game_id"].as_str().expect("game_id");
    let path = format!("/games/{game_id}/join");
    let (status, joined) = post(b, &path, Some(&p2.token), json!({})).await;
    assert_eq!(status, 200, "{joined}");
    joined
}

async fn rating_of(node: &Instance, player: &Player) -> Value {
    get(node, &format!("/players/{}/stats", player.id)).await.1
}

async fn draw(node: &Instance, player: &Player, game_id: &str, action: &str) -> (u16, Value) {
    let path = format!("/games/{game_id}/draw");
    post(
        node,
        &path,
        Some(&player.token),
        json!({ "action": action }),
    )
    .await
}

async fn abort(node: &Instance, player: &Player, game_id: &str) -> (u16, Value) {
    post(
        node,
        &format!("/games/{game_id}/abort"),
        Some(&player.token),
        json!({}),
    )
    .await
}

#[tokio::test]
async fn a_casual_game_is_listed_as_such_and_leaves_ratings_untouched() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "a").await;
    let p2 = register(b, "b").await;
    let options = json!({"rated": false, "move_time_limit_secs": 30});
    let (status, game) = post(a, "/games", Some(&p1.token), options).await;
    assert_eq!(status, 201, "{game}");
    assert_eq!(
        (game["rated"].as_bool(), game["colour"].as_str()),
        (Some(false), Some("first"))
    );
    let game_id = game["game_id"].as_str().unwrap().to_string();
    let (_, waiting) = get(b, "/games/waiting").await;
    let listed = waiting
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["game_id"] == game_id.as_str())
        .expect("listed");
    assert_eq!(listed["rated"], false);
    assert_eq!(listed["move_time_limit_secs"], 30);
    let (status, _) = post(
        b,
        &format!("/games/{game_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let mut s1 = Socket::connect(a, &game_id).await;
    play_moves([(a, &p1), (b, &p2)], &game_id, &QUICK_WIN).await;
    let over = s1.expect("game_over").await;
    assert_eq!(over["winner"], 1);
    assert!(over["rating_changes"].is_null(), "{over}");
    for player in [&p1, &p2] {
        let stats = rating_of(a, player).await;
        assert_eq!(
            (stats["elo_rating"].as_i64(), stats["total_games"].as_i64()),
            (Some(1200), Some(0)),
            "{stats}"
        );
    }
    let (_, view) = get(b, &format!("/games/{game_id}")).await;
    assert_eq!(
        (
            view["rated"].as_bool(),
            view["move_time_limit_secs"].as_u64()
        ),
        (Some(false), Some(30))
    );
}

#[tokio::test]
async fn colour_second_seats_the_creator_second_and_a_rematch_keeps_the_options() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let creator = register(a, "c").await;
    let joiner = register(b, "j").await;
    let options = json!({"colour": "second", "rated": false});
    let game = start_with(a, &creator, b, &joiner, options).await;
    assert_eq!(game["player1"]["id"].as_i64(), Some(joiner.id));
    assert_eq!(game["player2"]["id"].as_i64(), Some(creator.id));
    assert_eq!(game["colour"], "second");
    let game_id = game["game_id"].as_str().unwrap().to_string();
    let (status, refused) = play(a, &creator, &game_id, 3).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("not_your_turn"))
    );
    let mut s = Socket::connect(a, &game_id).await;
    assert_eq!(s.identify(&creator).await["player"], 2);
    play_moves([(b, &joiner), (a, &creator)], &game_id, &QUICK_WIN).await;
    s.expect("game_over").await;
    let mut t = Socket::connect(b, &game_id).await;
    t.identify(&joiner).await;
    s.send(json!({"action": "rematch"})).await;
    t.send(json!({"action": "rematch"})).await;
    let rematch = s.expect("rematch").await;
    let (_, next) = get(
        b,
        &format!("/games/{}", rematch["new_game_id"].as_str().unwrap()),
    )
    .await;
    // Colours swap as always; the options stay.
    assert_eq!(next["player1"]["id"].as_i64(), Some(creator.id));
    assert_eq!(
        (next["rated"].as_bool(), next["colour"].as_str()),
        (Some(false), Some("second"))
    );
}

#[tokio::test]
async fn bad_options_are_refused_with_codes() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let p = register(node, "p").await;
    for (body, code) in [
        (json!({"colour": "purple"}), "invalid_body"),
        (json!({"rated": "yes"}), "invalid_body"),
        (json!({"move_time_limit_secs": 1}), "invalid_parameter"),
    ] {
        let (status, reply) = post(node, "/games", Some(&p.token), body.clone()).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (422, Some(code)),
            "{body}: {reply}"
        );
    }
}

#[tokio::test]
async fn a_draw_offered_on_one_instance_is_accepted_on_another() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "a").await;
    let p2 = register(b, "b").await;
    let game_id = start_game(a, &p1, b, &p2).await;
    play_moves([(a, &p1), (b, &p2)], &game_id, &[3, 3]).await;
    let mut s1 = Socket::connect(a, &game_id).await;
    let mut s2 = Socket::connect(b, &game_id).await;
    s1.identify(&p1).await;
    s2.identify(&p2).await;
    s1.send(json!({"action": "draw_offer"})).await;
    for socket in [&mut s1, &mut s2] {
        let offered = socket.expect("draw_offered").await;
        assert_eq!(
            (offered["player"].as_u64(), offered["player_id"].as_i64()),
            (Some(1), Some(p1.id))
        );
    }
    let (_, view) = get(b, &format!("/games/{game_id}")).await;
    assert_eq!(view["draw_offer"], 1, "a reloaded page sees the offer");
    s2.send(json!({"action": "draw_accept"})).await;
    for socket in [&mut s1, &mut s2] {
        let over = socket.expect("game_over").await;
        assert_eq!(
            (over["reason"].as_str(), over["draw"].as_bool()),
            (Some("draw_agreed"), Some(true))
        );
        assert_eq!(
            over["rating_changes"],
            json!({"1": 0, "2": 0}),
            "rated as a draw"
        );
        assert_eq!(over["seq"], 4);
    }
    let (_, view) = get(a, &format!("/games/{game_id}")).await;
    assert_eq!(
        (view["status"].as_str(), view["draw"].as_bool()),
        (Some("finished"), Some(true))
    );
    assert!(view["draw_offer"].is_null());
    assert_eq!(rating_of(a, &p2).await["draws"], 1);
}

#[tokio::test]
async fn draw_offers_are_answered_by_the_other_seat_only_and_lapse_with_a_move() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "a").await;
    let p2 = register(b, "b").await;
    let watcher = register(a, "w").await;
    let (_, waiting) = post(a, "/games", Some(&p1.token), json!({})).await;
    let waiting_id = waiting["game_id"].as_str().unwrap();
    let (status, refused) = draw(a, &p1, waiting_id, "offer").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("game_not_active"))
    );
    post(
        b,
        &format!("/games/{waiting_id}/join"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    let game_id = waiting_id.to_string();
    for (player, action, status, code) in [
        (&watcher, "offer", 403, "not_a_player"),
        (&p2, "accept", 409, "no_draw_offer"),
        (&p2, "decline", 409, "no_draw_offer"),
    ] {
        let (got, reply) = draw(b, player, &game_id, action).await;
        assert_eq!(
            (got, reply["code"].as_str()),
            (status, Some(code)),
            "{action}"
        );
    }
    let (status, offered) = draw(a, &p1, &game_id, "offer").await;
    assert_eq!((status, offered["draw_offer"].as_u64()), (200, Some(1)));
    let (status, own) = draw(b, &p1, &game_id, "accept").await;
    assert_eq!(
        (status, own["code"].as_str()),
        (409, Some("own_draw_offer"))
    );
    let (status, declined) = draw(b, &p2, &game_id, "decline").await;
    assert_eq!((status, declined["draw_offer"].clone()), (200, Value::Null));
    draw(a, &p1, &game_id, "offer").await;
    play(a, &p1, &game_id, 0).await;
    let (_, view) = get(b, &format!("/games/{game_id}")).await;
    assert!(
        view["draw_offer"].is_null(),
        "the move made the offer lapse: {view}"
    );
    let (status, lapsed) = draw(b, &p2, &game_id, "accept").await;
    assert_eq!(
        (status, lapsed["code"].as_str()),
        (409, Some("no_draw_offer"))
    );
    let (status, bad) = draw(b, &p2, &game_id, "maybe").await;
    assert_eq!((status, bad["code"].as_str()), (422, Some("invalid_body")));
    post(
        b,
        &format!("/games/{game_id}/resign"),
        Some(&p2.token),
        json!({}),
    )
    .await;
    let (status, over) = draw(a, &p1, &game_id, "offer").await;
    assert_eq!((status, over["code"].as_str()), (409, Some("game_over")));
}

#[tokio::test]
async fn a_game_can_be_aborted_before_its_second_move_only() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "a").await;
    let p2 = register(b, "b").await;
    let game_id = start_game(a, &p1, b, &p2).await;
    play(a, &p1, &game_id, 3).await;
    let mut s1 = Socket::connect(a, &game_id).await;
    let (status, aborted) = abort(b, &p2, &game_id).await;
    assert_eq!(status, 200, "{aborted}");
    assert_eq!(
        (aborted["status"].as_str(), aborted["end_reason"].as_str()),
        (Some("abandoned"), Some("aborted"))
    );
    let over = s1.expect("game_over").await;
    assert_eq!(
        (over["reason"].as_str(), over["winner"].clone()),
        (Some("aborted"), Value::Null)
    );
    assert!(over["rating_changes"].is_null());
    for player in [&p1, &p2] {
        let stats = rating_of(a, player).await;
        assert_eq!(
            (stats["elo_rating"].as_i64(), stats["losses"].as_i64()),
            (Some(1200), Some(0))
        );
    }
    let (_, history) = get(a, &format!("/players/{}/games", p1.id)).await;
    assert_eq!(history[0]["result"], "aborted", "{history}");

    let late = start_game(a, &p1, b, &p2).await;
    play_moves([(a, &p1), (b, &p2)], &late, &[3, 4]).await;
    let (status, refused) = abort(a, &p1, &late).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("too_late_to_abort"))
    );
    let mut s = Socket::connect(a, &late).await;
    s.identify(&p1).await;
    s.send(json!({"action": "abort"})).await;
    assert_eq!(s.expect("error").await["code"], "too_late_to_abort");
    let watcher = register(a, "w").await;
    let (status, spectator) = abort(a, &watcher, &late).await;
    assert_eq!(
        (status, spectator["code"].as_str()),
        (403, Some("not_a_player"))
    );
}

#[tokio::test]
async fn an_emote_reaches_the_opponent_on_another_instance_and_is_rate_limited() {
    let (_spec, nodes) = spawn_cluster(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let p1 = register(a, "a").await;
    let p2 = register(b, "b").await;
    let game_id = start_game(a, &p1, b, &p2).await;
    let mut s1 = Socket::connect(a, &game_id).await;
    let mut s2 = Socket::connect(b, &game_id).await;
    s1.identify(&p1).await;
    s2.identify(&p2).await;
    s1.send(json!({"action": "emote", "emote": "gg"})).await;
    let emote = s2.expect("emote").await;
    assert_eq!(
        (emote["player"].as_u64(), emote["emote"].as_str()),
        (Some(1), Some("gg"))
    );
    s1.send(json!({"action": "emote", "emote": "wow"})).await;
    let refused = s1.expect("error").await;
    assert_eq!(refused["code"], "rate_limited");
    assert!(s2
        .try_recv(Duration::from_millis(500))
        .await
        .is_none_or(|m| m["type"] != "emote"));
    s1.send(json!({"action": "emote", "emote": "lol"})).await;
    assert_eq!(s1.expect("error").await["code"], "invalid_message");
    // The budget is per seat: the other seat may answer at once, over REST too.
    let response = client()
        .post(b.http(&format!("/games/{game_id}/emote")))
        .bearer_auth(&p2.token)
        .json(&json!({"emote": "thumbs_up"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    for socket in [&mut s1, &mut s2] {
        // The sender's own sockets see it too.
        assert_eq!(socket.expect("emote").await["emote"], "thumbs_up");
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s1.send(json!({"action": "emote", "emote": "well_played"}))
        .await;
    assert_eq!(s2.expect("emote").await["emote"], "well_played");
    let watcher = register(a, "w").await;
    let path = format!("/games/{game_id}/emote");
    let (status, reply) = post(a, &path, Some(&watcher.token), json!({"emote": "gg"})).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (403, Some("not_a_player"))
    );
    let (status, reply) = post(a, &path, Some(&p1.token), json!({"emote": "hello"})).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (422, Some("invalid_body"))
    );
}

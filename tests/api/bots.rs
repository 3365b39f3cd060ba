//! Games against the computer: started by `POST /games` with an `opponent`, the bot's
//! moves go through the same pipeline as a person's (stored once, audited, broadcast),
//! exactly one instance plays each of them, and a bot move owed by an instance that
//! died is played by another; a game may start from a given position ("play on from
//! here"), its moves stored once like any. Every wait is a condition polled against a
//! deadline.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::helpers::*;

/// Polls the game until `done` holds for its view, or panics with the last view.
async fn wait_for(
    node: &Instance,
    game_id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, view) = get(node, &format!("/games/{game_id}")).await;
        if done(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {within:?}; last seen {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_bot_game(node: &Instance, player: &Player, level: &str) -> Value {
    let body = json!({ "opponent": { "bot": level } });
    let (status, game) = post(node, "/games", Some(&player.token), body).await;
    assert_eq!(status, 201, "{game}");
    game
}

/// The first column from `preferred` (then any) that is not full in `view`'s board.
fn free_column(view: &Value, preferred: &[u8]) -> u8 {
    let top = &view["board"][0];
    preferred
        .iter()
        .chain(&[0, 1, 2, 3, 4, 5, 6])
        .copied()
        .find(|&c| top[usize::from(c)].as_u64() == Some(0))
        .expect("a free column")
}

/// The person (seat one) plays over REST, on `nodes` in turn, until the game ends;
/// after each of its moves the bot must answer. Returns the final view.
async fn play_out_against_bot(nodes: &[&Instance], player: &Player, game_id: &str) -> Value {
    let mut turn = 0;
    loop {
        let node = nodes[turn % nodes.len()];
        let view = wait_for(node, game_id, Duration::from_secs(10), |v| {
            v["status"] != "active" || v["next_player"] == 1
        })
        .await;
        if view["status"] != "active" {
            return view;
        }
        let column = free_column(&view, &[3, 2, 4, 3, 1, 5]);
        let (status, moved) = play(node, player, game_id, column).await;
        assert_eq!(status, 200, "{moved}");
        turn += 1;
    }
}

/// `move` lines per move number of `game_id`, over every audit file of the cluster.
fn audited_move_lines(spec: &ClusterSpec, game_id: &str) -> HashMap<u64, usize> {
    let mut lines = HashMap::new();
    for entry in std::fs::read_dir(&spec.audit_dir)
        .expect("audit dir")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).expect("audit file");
        for event in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if event["event"] == "move" && event["game_id"] == game_id {
                let number = event["data"]["move_number"].as_u64().expect("move_number");
                *lines.entry(number).or_insert(0) += 1;
            }
        }
    }
    lines
}

/// Every ply of the game is stored once, in order, alternating seats, and audited once.
/// Waits (5 s at most) until the audit logs hold exactly one `move` line for each of the
/// game's `count` moves.
async fn assert_each_move_audited_once(spec: &ClusterSpec, game_id: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = audited_move_lines(spec, game_id);
        let once = (1..=count as u64).all(|n| lines.get(&n) == Some(&1));
        if once && lines.len() == count {
            return;
        }
        assert!(Instant::now() < deadline, "audit lines per move: {lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_each_ply_once(spec: &ClusterSpec, node: &Instance, game_id: &str, bot_id: i64) {
    let (_, moves) = get(node, &format!("/games/{game_id}/moves")).await;
    let moves = moves.as_array().expect("moves").clone();
    assert!(!moves.is_empty());
    for (n, stored) in moves.iter().enumerate() {
        assert_eq!(
            stored["move_number"].as_u64(),
            Some(n as u64 + 1),
            "{stored}"
        );
        let seat = if n % 2 == 0 { 1 } else { 2 };
        assert_eq!(stored["player"].as_u64(), Some(seat), "{stored}");
        if seat == 2 {
            assert_eq!(stored["player_id"].as_i64(), Some(bot_id), "{stored}");
        }
    }
    assert_each_move_audited_once(spec, game_id, moves.len()).await;
}

#[tokio::test]
async fn a_game_against_each_level_is_played_to_the_end_over_rest() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;
    for level in ["easy", "medium", "perfect"] {
        let player = register(&node, "human").await;
        let game = start_bot_game(&node, &player, level).await;
        assert_eq!(game["status"], "active", "{game}");
        assert_eq!(game["player1"]["id"].as_i64(), Some(player.id));
        assert_eq!(game["player2"]["bot"], level, "{game}");
        let game_id = game["game_id"].as_str().expect("game_id");
        let end = play_out_against_bot(&[&node], &player, game_id).await;
        assert_eq!(end["status"], "finished", "{end}");
        let bot_id = end["player2"]["id"].as_i64().expect("bot id");
        assert_each_ply_once(&spec, &node, game_id, bot_id).await;
        // Unrated by default: nobody's rating moved.
        let (_, stats) = get(&node, &format!("/players/{}/stats", player.id)).await;
        assert_eq!(stats["elo_rating"].as_i64(), Some(1200), "{stats}");
    }
    // Bots are not ranked.
    let (_, board) = get(&node, "/leaderboard?limit=100").await;
    let names: Vec<&str> = board
        .as_array()
        .expect("leaderboard")
        .iter()
        .filter_map(|row| row["username"].as_str())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| !n.ends_with(" bot")),
        "{board}"
    );
}

#[tokio::test]
async fn a_game_against_the_bot_is_played_over_the_websocket() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;
    let player = register(&node, "wsplayer").await;
    let game = start_bot_game(&node, &player, "easy").await;
    let game_id = game["game_id"].as_str().expect("game_id");
    let mut socket = Socket::connect(&node, game_id).await;
    socket.identify(&player).await;
    let mut column = 3;
    loop {
        socket
            .send(json!({ "action": "move", "column": column }))
            .await;
        let mine = socket.expect("move").await;
        assert_eq!(mine["player"], 1, "{mine}");
        if mine["status"] != "active" {
            break;
        }
        let answer = socket.expect("move").await;
        assert_eq!(answer["player"], 2, "the bot answers: {answer}");
        assert_eq!(answer["seq"].as_u64(), mine["seq"].as_u64().map(|s| s + 1));
        if answer["status"] != "active" {
            break;
        }
        let view = json!({ "board": answer["board"] });
        column = free_column(&view, &[3, 2, 4, 1, 5, 0, 6]);
    }
    let end = wait_for(&node, game_id, Duration::from_secs(5), |v| {
        v["status"] == "finished"
    })
    .await;
    assert!(end["winner"].is_u64() || end["draw"] == true, "{end}");
    // The bot accepts a rematch at once and, colours swapped, opens it.
    socket.send(json!({ "action": "rematch" })).await;
    let old = wait_for(&node, game_id, Duration::from_secs(5), |v| {
        v["rematch_game_id"].is_string()
    })
    .await;
    let rematch_id = old["rematch_game_id"].as_str().expect("rematch id");
    let rematch = wait_for(&node, rematch_id, Duration::from_secs(10), |v| {
        v["move_count"] == 1
    })
    .await;
    assert_eq!(rematch["player1"]["bot"], "easy", "{rematch}");
    assert_eq!(
        rematch["player2"]["id"].as_i64(),
        Some(player.id),
        "{rematch}"
    );
    assert_eq!(rematch["next_player"], 2, "{rematch}");
}

#[tokio::test]
async fn two_instances_never_play_one_bot_move_twice() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let a = spec.start("node0").await;
    let b = spec.start("node1").await;
    let player = register(&a, "twonodes").await;
    let game = start_bot_game(&a, &player, "medium").await;
    let game_id = game["game_id"].as_str().expect("game_id");
    // Both instances watch the game, so both receive every commit.
    let _watch_a = Socket::connect(&a, game_id).await;
    let _watch_b = Socket::connect(&b, game_id).await;
    let end = play_out_against_bot(&[&a, &b], &player, game_id).await;
    let bot_id = end["player2"]["id"].as_i64().expect("bot id");
    assert_each_ply_once(&spec, &b, game_id, bot_id).await;
}

#[tokio::test]
async fn a_bot_move_owed_by_an_instance_that_died_is_played_by_another() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    // The doomed instance pauses before its bot moves, so it dies owing one.
    let slow = spec.clone().with("BOT_MOVE_DELAY_MS", "2000");
    let survivor = spec.start("survivor").await;
    let mut doomed = Process::start(&slow, "doomed").await;
    let doomed_node = doomed.node();
    let player = register(&doomed_node, "orphan").await;
    let game = start_bot_game(&doomed_node, &player, "easy").await;
    let game_id = game["game_id"].as_str().expect("game_id");
    let (status, moved) = play(&doomed_node, &player, game_id, 3).await;
    assert_eq!(status, 200, "{moved}");
    doomed.kill();
    let view = wait_for(&survivor, game_id, Duration::from_secs(15), |v| {
        v["move_count"] == 2
    })
    .await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(view["next_player"], 1, "{view}");
    // And the game goes on against the survivor's bot.
    let end = play_out_against_bot(&[&survivor], &player, game_id).await;
    let bot_id = end["player2"]["id"].as_i64().expect("bot id");
    assert_each_ply_once(&spec, &survivor, game_id, bot_id).await;
}

#[tokio::test]
async fn bad_bot_requests_get_json_errors_and_bots_cannot_log_in() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;
    let player = register(&node, "badbot").await;
    let body = json!({ "opponent": { "bot": "grandmaster" } });
    let (status, error) = post(&node, "/games", Some(&player.token), body).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("unknown_bot_level")),
        "{error}"
    );
    let body = json!({ "opponent": {} });
    let (status, error) = post(&node, "/games", Some(&player.token), body).await;
    assert!(status == 400 || status == 422, "{status} {error}");
    assert!(error["code"].is_string(), "{error}");
    let body = json!({ "opponent": { "bot": "easy" } });
    let (status, error) = post(&node, "/games", None, body).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthorized")),
        "{error}"
    );
    // The bot's account exists now; nobody can log in as it.
    let login = json!({ "username": "Easy bot", "password": "whatever123" });
    let (status, error) = post(&node, "/sessions", None, login).await;
    assert_eq!(status, 401, "{error}");
}

async fn start_bot_game_from(node: &Instance, player: &Player, moves: &[u8]) -> Value {
    let body = json!({ "opponent": { "bot": "perfect" }, "start_from": moves });
    let (status, game) = post(node, "/games", Some(&player.token), body).await;
    assert_eq!(status, 201, "{game}");
    assert_eq!(game["rated"], false, "bot games are unrated: {game}");
    game
}

/// The game's stored moves begin with `prefix`, every move stored once in order by the
/// seat to move (`ids`: the player ids of seats one and two), each audited once.
async fn assert_stored_from(
    spec: &ClusterSpec,
    node: &Instance,
    game_id: &str,
    prefix: &[u8],
    ids: [i64; 2],
) {
    let (_, moves) = get(node, &format!("/games/{game_id}/moves")).await;
    let moves = moves.as_array().expect("moves").clone();
    assert!(moves.len() >= prefix.len(), "{moves:?}");
    for (n, stored) in moves.iter().enumerate() {
        assert_eq!(
            stored["move_number"].as_u64(),
            Some(n as u64 + 1),
            "{stored}"
        );
        assert_eq!(
            stored["player"].as_u64(),
            Some(n as u64 % 2 + 1),
            "{stored}"
        );
        assert_eq!(stored["player_id"].as_i64(), Some(ids[n % 2]), "{stored}");
        if let Some(&column) = prefix.get(n) {
            assert_eq!(
                stored["column"].as_u64(),
                Some(u64::from(column)),
                "{stored}"
            );
        }
    }
    assert_each_move_audited_once(spec, game_id, moves.len()).await;
}

#[tokio::test]
async fn a_game_against_the_bot_plays_on_from_a_given_position() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;

    // An even number of moves: the caller is seat one and moves; then the bot answers.
    let player = register(&node, "evenstart").await;
    let prefix = [3, 3, 2, 4];
    let game = start_bot_game_from(&node, &player, &prefix).await;
    let game_id = game["game_id"].as_str().expect("game_id");
    assert_eq!(game["player1"]["id"].as_i64(), Some(player.id), "{game}");
    assert_eq!(game["player2"]["bot"], "perfect", "{game}");
    assert_eq!(
        (game["move_count"].as_u64(), game["next_player"].as_u64()),
        (Some(4), Some(1))
    );
    let bot_id = game["player2"]["id"].as_i64().expect("bot id");
    assert_stored_from(&spec, &node, game_id, &prefix, [player.id, bot_id]).await;
    let (status, moved) = play(&node, &player, game_id, 1).await;
    assert_eq!(status, 200, "{moved}");
    let view = wait_for(&node, game_id, Duration::from_secs(10), |v| {
        v["move_count"] == 6
    })
    .await;
    assert_eq!(view["next_player"], 1, "the bot answered: {view}");
    assert_stored_from(&spec, &node, game_id, &[3, 3, 2, 4, 1], [player.id, bot_id]).await;

    // An odd number: the caller is seat two and moves; then the bot answers.
    let player = register(&node, "oddstart").await;
    let prefix = [3, 3, 3];
    let game = start_bot_game_from(&node, &player, &prefix).await;
    let game_id = game["game_id"].as_str().expect("game_id");
    assert_eq!(game["player2"]["id"].as_i64(), Some(player.id), "{game}");
    assert_eq!(game["player1"]["bot"], "perfect", "{game}");
    assert_eq!(
        (game["move_count"].as_u64(), game["next_player"].as_u64()),
        (Some(3), Some(2))
    );
    let bot_id = game["player1"]["id"].as_i64().expect("bot id");
    assert_stored_from(&spec, &node, game_id, &prefix, [bot_id, player.id]).await;
    let (status, moved) = play(&node, &player, game_id, 3).await;
    assert_eq!(status, 200, "{moved}");
    let view = wait_for(&node, game_id, Duration::from_secs(10), |v| {
        v["move_count"] == 5
    })
    .await;
    assert_eq!(
        (view["status"].as_str(), view["next_player"].as_u64()),
        (Some("active"), Some(2)),
        "the bot answered: {view}"
    );
    assert_stored_from(&spec, &node, game_id, &[3, 3, 3, 3], [bot_id, player.id]).await;

    // `verify` finds the audit log and the moves table in agreement.
    let report = verify_audit(&spec).await;
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|finding| format!("{}: {}", finding.place, finding.reason))
        .collect();
    assert!(report.is_clean(), "{problems:?}");
}

#[tokio::test]
async fn a_start_position_that_is_not_a_game_going_on_is_refused() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;
    let player = register(&node, "badstart").await;
    let won = vec![0, 1, 0, 1, 0, 1, 0];
    let too_tall = vec![0; 7];
    let after_the_win = vec![0, 1, 0, 1, 0, 1, 0, 1];
    let full_board: Vec<i64> = (0..42).map(|n| n / 6).collect();
    for moves in [won, too_tall, after_the_win, vec![7], vec![-1], full_board] {
        let body = json!({ "opponent": { "bot": "easy" }, "start_from": moves });
        let (status, error) = post(&node, "/games", Some(&player.token), body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some("invalid_move_list")),
            "{moves:?}: {error}"
        );
    }
    let body = json!({ "start_from": [3] });
    let (status, error) = post(&node, "/games", Some(&player.token), body).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("invalid_parameter")),
        "{error}"
    );
    // Nothing was opened for the refused requests: the player is free to start a game.
    start_bot_game_from(&node, &player, &[]).await;
}

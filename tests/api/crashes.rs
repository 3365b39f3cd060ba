//! Crash consistency with real processes: an instance aborts at a named point of the
//! pipeline (`C4_FAILPOINTS`, see `src/failpoint.rs`) or is SIGKILLed at a random
//! moment, and another instance must converge the game — state, seq, result, ratings,
//! audit — before play goes on. Every wait is a condition polled against a deadline.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use connect4_arena::game::{EndReason, GameStatus};
use rand::Rng;
use serde_json::{json, Value};

use crate::helpers::*;

/// Polls `probe` until `done` holds for its value, or panics with the last value.
async fn eventually<F, Fut>(
    what: &str,
    within: Duration,
    mut probe: F,
    done: impl Fn(&Value) -> bool,
) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + within;
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        if Instant::now() > deadline {
            panic!("{what}: not reached within {within:?}; last seen {value}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn view(node: &Instance, game_id: &str) -> Value {
    get(node, &format!("/games/{game_id}")).await.1
}

/// The columns the database holds for a game, in move order.
async fn stored_columns(node: &Instance, game_id: &str) -> Vec<u64> {
    let (status, moves) = get(node, &format!("/games/{game_id}/moves")).await;
    assert_eq!(status, 200, "{moves}");
    moves
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| m["column"].as_u64().expect("column"))
        .collect()
}

/// Every audited `move` / `move_recovered` of the test's audit files, by (game, move
/// number): (column, original lines, recovered lines).
fn audited_moves(spec: &ClusterSpec) -> HashMap<(String, u64), (u64, usize, usize)> {
    let mut audited: HashMap<(String, u64), (u64, usize, usize)> = HashMap::new();
    for entry in std::fs::read_dir(&spec.audit_dir)
        .expect("audit dir")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).expect("audit file");
        for line in text.lines() {
            // A line cut by a kill -9 is not an event.
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let kind = event["event"].as_str().unwrap_or_default();
            if kind != "move" && kind != "move_recovered" {
                continue;
            }
            let key = (
                event["game_id"].as_str().expect("game_id").to_string(),
                event["data"]["move_number"].as_u64().expect("move_number"),
            );
            let entry = audited.entry(key).or_insert((
                event["data"]["column"].as_u64().expect("column"),
                0,
                0,
            ));
            if kind == "move" {
                entry.1 += 1;
            } else {
                entry.2 += 1;
            }
        }
    }
    audited
}

/// The audit files and the database agree move for move on `game_id`: every stored
/// move is audited exactly once as `move`, or (its mover died first) by a
/// `move_recovered`; a crash after the mover's line reached its file may add one
/// `move_recovered` beside it. Nothing audited is missing from the table.
fn audit_mismatches(spec: &ClusterSpec, game_id: &str, stored: &[u64]) -> Vec<String> {
    let audited = audited_moves(spec);
    let mut problems = Vec::new();
    for (n, column) in stored.iter().enumerate() {
        let key = (game_id.to_string(), n as u64 + 1);
        match audited.get(&key) {
            None => problems.push(format!("move {} not audited", n + 1)),
            Some((audited_column, moves, recovered)) => {
                if audited_column != column {
                    problems.push(format!(
                        "move {}: audited column {audited_column}, stored {column}",
                        n + 1
                    ));
                }
                let once = matches!((moves, recovered), (1, 0) | (1, 1) | (0, 1));
                if !once {
                    problems.push(format!(
                        "move {}: {moves} move lines, {recovered} recovered",
                        n + 1
                    ));
                }
            }
        }
    }
    for ((game, number), _) in audited.iter().filter(|((game, _), _)| game == game_id) {
        if *number as usize > stored.len() {
            problems.push(format!("{game} move {number} audited but not stored"));
        }
    }
    problems
}

async fn assert_audit_matches_table(spec: &ClusterSpec, node: &Instance, game_id: &str) {
    let stored = stored_columns(node, game_id).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut problems = audit_mismatches(spec, game_id, &stored);
        if problems.is_empty() {
            // And the whole log, as `connect4-arena verify` sees it: chains, anchors,
            // every game's moves against the table.
            let report = verify_audit(spec).await;
            if report.is_clean() {
                return;
            }
            problems = report
                .problems
                .iter()
                .map(|finding| format!("{}: {}", finding.place, finding.reason))
                .collect();
        }
        // The survivor's writer may still be flushing its lines.
        assert!(
            Instant::now() < deadline,
            "audit vs table for {game_id}: {problems:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hot state a reader sees equals the database's: same moves, same board.
async fn assert_hot_matches_table(node: &Instance, game_id: &str) {
    let stored = stored_columns(node, game_id).await;
    let state = view(node, game_id).await;
    assert_eq!(
        state["move_count"].as_u64(),
        Some(stored.len() as u64),
        "{game_id}: hot {state} vs stored {stored:?}"
    );
}

/// A cluster of one in-process survivor and one process armed to abort at `point`.
async fn survivor_and_doomed(point: &str) -> (ClusterSpec, Instance, Process) {
    let spec = ClusterSpec::postgres_and_redis().await;
    let survivor = spec.start("survivor").await;
    let doomed = Process::start_armed(&spec, "doomed", &[point]).await;
    (spec, survivor, doomed)
}

/// Sends a request that the armed instance never answers (it aborts).
async fn post_to_doomed(doomed: &mut Process, path: &str, player: &Player, body: Value) {
    let reply = client()
        .post(doomed.node().http(path))
        .bearer_auth(&player.token)
        .json(&body)
        .send()
        .await;
    assert!(reply.is_err(), "the armed instance answered: {reply:?}");
    assert!(
        doomed.ended_within(Duration::from_secs(5)).await,
        "the armed instance did not abort"
    );
}

#[tokio::test]
async fn a_move_stored_by_an_instance_that_died_before_committing_is_recovered() {
    let (spec, survivor, mut doomed) = survivor_and_doomed("move.after_insert").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&survivor, &p1, &survivor, &p2).await;
    let mut watcher = Socket::connect(&survivor, &game_id).await;
    watcher.expect("state").await;
    assert_eq!(play(&survivor, &p1, &game_id, 3).await.0, 200);
    assert_eq!(watcher.expect("move").await["seq"], 2);
    post_to_doomed(
        &mut doomed,
        &format!("/games/{game_id}/move"),
        &p2,
        json!({"game_id": game_id, "player": 2, "column": 4}),
    )
    .await;
    assert_eq!(stored_columns(&survivor, &game_id).await, vec![3, 4]);
    // The dead holder's lock expires; the next reader reconciles and resyncs sockets.
    let state = eventually(
        "hot state converges",
        Duration::from_secs(6),
        || view(&survivor, &game_id),
        |v| v["move_count"] == 2,
    )
    .await;
    assert_eq!(
        (state["seq"].as_u64(), state["next_player"].as_u64()),
        (Some(3), Some(1))
    );
    let resync = watcher.expect("state").await;
    assert_eq!(
        (resync["reason"].as_str(), resync["seq"].as_u64()),
        (Some("resync"), Some(3))
    );
    // Seat two moved; seat one is on turn, and play goes on.
    let (status, body) = play(&survivor, &p2, &game_id, 4).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_your_turn"))
    );
    let (status, body) = play(&survivor, &p1, &game_id, 3).await;
    assert_eq!((status, body["seq"].as_u64()), (200, Some(4)), "{body}");
    assert_audit_matches_table(&spec, &survivor, &game_id).await;
    let recovered = audited_moves(&spec)[&(game_id.clone(), 2)];
    assert_eq!(
        recovered,
        (4, 0, 1),
        "move 2 audited by the reconciling instance"
    );
}

#[tokio::test]
async fn a_move_stored_by_a_holder_that_stalled_past_its_lock_is_not_left_behind() {
    let (spec, survivor, doomed) = survivor_and_doomed("move.before_insert=stall:3000").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&survivor, &p1, &survivor, &p2).await;
    let stalled = {
        let node = doomed.node();
        let (game_id, p1) = (game_id.clone(), p1.clone());
        tokio::spawn(async move { play(&node, &p1, &game_id, 3).await })
    };
    // The stalled holder's lock expires after 2 s; a reader reconciles (nothing stored
    // yet), and only then does the stalled holder store its move and fail to commit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lock_key = format!("{}:{{g:{game_id}}}:lock", spec.redis_prefix);
    let redis = redis::Client::open(redis_url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    while redis::cmd("EXISTS")
        .arg(&lock_key)
        .query_async::<bool>(&mut conn)
        .await
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the stalled lock never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(view(&survivor, &game_id).await["move_count"], 0);
    let (status, body) = stalled.await.unwrap();
    assert_ne!(status, 200, "the stalled holder lost its lock: {body}");
    assert_eq!(
        stored_columns(&survivor, &game_id).await,
        vec![3],
        "its move was stored"
    );
    // The stalled holder brought the hot state up to the database before answering.
    let state = view(&survivor, &game_id).await;
    assert_eq!(
        (state["move_count"].as_u64(), state["next_player"].as_u64()),
        (Some(1), Some(2)),
        "{state}"
    );
    assert_audit_matches_table(&spec, &survivor, &game_id).await;
}

#[tokio::test]
async fn a_move_whose_audit_line_was_written_before_the_crash_is_audited_once() {
    let (spec, survivor, mut doomed) = survivor_and_doomed("commit.before_hot").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&survivor, &p1, &survivor, &p2).await;
    post_to_doomed(
        &mut doomed,
        &format!("/games/{game_id}/move"),
        &p1,
        json!({"game_id": game_id, "player": 1, "column": 2}),
    )
    .await;
    eventually(
        "hot state converges",
        Duration::from_secs(6),
        || view(&survivor, &game_id),
        |v| v["move_count"] == 1,
    )
    .await;
    let (status, body) = play(&survivor, &p2, &game_id, 2).await;
    assert_eq!((status, body["seq"].as_u64()), (200, Some(3)), "{body}");
    assert_audit_matches_table(&spec, &survivor, &game_id).await;
    let (_, moves, _) = audited_moves(&spec)[&(game_id.clone(), 1)];
    assert_eq!(
        moves, 1,
        "the mover's own line reached its file before the crash"
    );
}

#[tokio::test]
async fn a_winning_move_settled_by_an_instance_that_died_gives_the_right_result_and_ratings() {
    let (spec, survivor, mut doomed) = survivor_and_doomed("game.after_result").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&survivor, &p1, &survivor, &p2).await;
    play_moves(
        [(&survivor, &p1), (&survivor, &p2)],
        &game_id,
        &QUICK_WIN[..6],
    )
    .await;
    post_to_doomed(
        &mut doomed,
        &format!("/games/{game_id}/move"),
        &p1,
        json!({"game_id": game_id, "player": 1, "column": 0}),
    )
    .await;
    let state = eventually(
        "the result converges",
        Duration::from_secs(6),
        || view(&survivor, &game_id),
        |v| v["status"] == "finished",
    )
    .await;
    assert_eq!(
        (
            state["winner_id"].as_i64(),
            state["move_count"].as_u64(),
            state["end_reason"].as_str()
        ),
        (Some(p1.id), Some(7), Some("four_in_a_row"))
    );
    for (player, rating) in [(&p1, 1216), (&p2, 1184)] {
        let (_, stats) = get(&survivor, &format!("/players/{}/stats", player.id)).await;
        assert_eq!(stats["elo_rating"], rating, "{stats}");
    }
    let (status, body) = play(&survivor, &p2, &game_id, 1).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("game_over")),
        "{body}"
    );
    assert_audit_matches_table(&spec, &survivor, &game_id).await;
    // The result and both rating changes are audited by the reconciling instance.
    let events = audit_events(&spec, &game_id);
    for kind in ["game_recovered", "game_over", "rating_change"] {
        assert!(
            events.iter().any(|e| e == kind),
            "{kind} missing: {events:?}"
        );
    }
}

/// The event names audited for one game, over all the test's audit files.
fn audit_events(spec: &ClusterSpec, game_id: &str) -> Vec<String> {
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&spec.audit_dir)
        .expect("audit dir")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).expect("audit file");
        for line in text.lines() {
            if let Ok(event) = serde_json::from_str::<Value>(line) {
                if event["game_id"] == game_id {
                    events.push(event["event"].as_str().unwrap_or_default().to_string());
                }
            }
        }
    }
    events
}

#[tokio::test]
async fn a_resignation_settled_by_an_instance_that_died_is_never_overturned_by_the_clock() {
    let spec = ClusterSpec::postgres_and_redis().await;
    let survivor = spec.start("survivor").await;
    let mut doomed = Process::start_armed(&spec, "doomed", &["game.after_result"]).await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let (status, created) = post(
        &survivor,
        "/games",
        Some(&p1.token),
        json!({"move_time_limit_secs": 5}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let game_id = created["game_id"].as_str().unwrap().to_string();
    assert_eq!(
        post(
            &survivor,
            &format!("/games/{game_id}/join"),
            Some(&p2.token),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(play(&survivor, &p1, &game_id, 3).await.0, 200);
    // Seat one resigns through the doomed instance while seat two's clock runs.
    let reply = client()
        .post(doomed.node().http(&format!("/games/{game_id}/resign")))
        .bearer_auth(&p1.token)
        .send()
        .await;
    assert!(reply.is_err(), "{reply:?}");
    assert!(doomed.ended_within(Duration::from_secs(5)).await);
    // Seat two's clock (5 s) runs out while no client reads the game (the hot state is
    // watched in Redis directly): the sweeper must find the stored resignation, not
    // declare a timeout against seat two.
    let state_key = format!("{}:{{g:{game_id}}}:state", spec.redis_prefix);
    let redis = redis::Client::open(redis_url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(12);
    let hot = loop {
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&state_key)
            .arg("s")
            .query_async(&mut conn)
            .await
            .unwrap();
        let hot: Value = serde_json::from_str(&stored.unwrap_or_default()).unwrap_or_default();
        if hot["status"] != "active" && !hot.is_null() {
            break hot;
        }
        assert!(
            Instant::now() < deadline,
            "the sweeper never converged the game: {hot}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (
            hot["status"].as_str(),
            hot["end_reason"].as_str(),
            hot["winner"].as_u64()
        ),
        (Some("finished"), Some("resign"), Some(2)),
        "{hot}"
    );
    let state_now = view(&survivor, &game_id).await;
    assert_eq!(
        (
            state_now["end_reason"].as_str(),
            state_now["winner_id"].as_i64()
        ),
        (Some("resign"), Some(p2.id)),
        "{state_now}"
    );
    let (_, stats) = get(&survivor, &format!("/players/{}/stats", p2.id)).await;
    assert_eq!(stats["elo_rating"], 1216, "{stats}");
}

#[tokio::test]
async fn a_join_interrupted_after_the_database_write_still_seats_the_player() {
    let (spec, survivor, mut doomed) = survivor_and_doomed("join.after_start").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let (_, created) = post(&survivor, "/games", Some(&p1.token), json!({})).await;
    let game_id = created["game_id"].as_str().unwrap().to_string();
    post_to_doomed(
        &mut doomed,
        &format!("/games/{game_id}/join"),
        &p2,
        json!({}),
    )
    .await;
    let state = eventually(
        "the join converges",
        Duration::from_secs(6),
        || view(&survivor, &game_id),
        |v| v["status"] == "active",
    )
    .await;
    assert_eq!(state["player2"]["id"].as_i64(), Some(p2.id));
    let (status, body) = play(&survivor, &p1, &game_id, 3).await;
    assert_eq!(status, 200, "{body}");
    assert_audit_matches_table(&spec, &survivor, &game_id).await;
}

#[tokio::test]
async fn a_rematch_interrupted_after_creating_its_game_is_found_again_once() {
    let (_spec, survivor, mut doomed) = survivor_and_doomed("rematch.after_create").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let game_id = start_game(&survivor, &p1, &survivor, &p2).await;
    play_moves([(&survivor, &p1), (&survivor, &p2)], &game_id, &QUICK_WIN).await;
    let mut s1 = Socket::connect(&survivor, &game_id).await;
    s1.identify(&p1).await;
    s1.send(json!({"action": "rematch"})).await;
    s1.expect("rematch_waiting").await;
    let mut s2 = Socket::connect(&doomed.node(), &game_id).await;
    s2.identify(&p2).await;
    s2.send(json!({"action": "rematch"})).await;
    assert!(
        doomed.ended_within(Duration::from_secs(5)).await,
        "the armed instance did not abort"
    );
    // Seat two's client reconnects elsewhere and votes again.
    let mut s2 = Socket::connect(&survivor, &game_id).await;
    s2.identify(&p2).await;
    s2.send(json!({"action": "rematch"})).await;
    let first = s1.expect("rematch").await;
    let second = s2.expect("rematch").await;
    let new_game = first["new_game_id"].as_str().expect("new game").to_string();
    assert_eq!(second["new_game_id"].as_str(), Some(new_game.as_str()));
    let (_, games) = get(&survivor, &format!("/players/{}/games", p1.id)).await;
    let rematches = games
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["game_id"] != game_id.as_str())
        .count();
    assert_eq!(rematches, 1, "exactly one rematch game: {games}");
    let state = view(&survivor, &new_game).await;
    assert_eq!(
        (state["status"].as_str(), state["player1"]["id"].as_i64()),
        (Some("active"), Some(p2.id))
    );
    assert_eq!(
        state["player1"]["elo_rating"], 1184,
        "current ratings: {state}"
    );
}

async fn wait_for_match(node: &Instance, player: &Player) -> Value {
    eventually(
        "matched",
        Duration::from_secs(15),
        || async {
            let mut request =
                client().get(node.http(&format!("/matchmaking/status/{}", player.id)));
            request = request.bearer_auth(&player.token);
            reply(request.send().await.expect("status")).await.1
        },
        |status| status["status"] == "matched",
    )
    .await
}

#[tokio::test]
async fn a_pairing_interrupted_before_its_game_existed_requeues_both_players() {
    let (_spec, survivor, mut doomed) = survivor_and_doomed("matchmaking.after_pair").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    assert_eq!(
        post(&survivor, "/matchmaking/join", Some(&p1.token), json!({}))
            .await
            .0,
        200
    );
    post_to_doomed(&mut doomed, "/matchmaking/join", &p2, json!({})).await;
    // Both clients keep polling, as the app does while it searches.
    let (one, two) = tokio::join!(
        wait_for_match(&survivor, &p1),
        wait_for_match(&survivor, &p2)
    );
    assert_eq!(one["game_id"], two["game_id"], "{one} {two}");
    let game_id = one["game_id"].as_str().unwrap();
    let state = view(&survivor, game_id).await;
    assert_eq!(state["status"], "active", "{state}");
}

#[tokio::test]
async fn a_pairing_interrupted_after_its_game_existed_delivers_that_game() {
    let (_spec, survivor, mut doomed) = survivor_and_doomed("matchmaking.after_create").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    assert_eq!(
        post(&survivor, "/matchmaking/join", Some(&p1.token), json!({}))
            .await
            .0,
        200
    );
    post_to_doomed(&mut doomed, "/matchmaking/join", &p2, json!({})).await;
    let (one, two) = tokio::join!(
        wait_for_match(&survivor, &p1),
        wait_for_match(&survivor, &p2)
    );
    assert_eq!(one["game_id"], two["game_id"], "{one} {two}");
    let (_, games) = get(&survivor, &format!("/players/{}/games", p1.id)).await;
    assert_eq!(
        games.as_array().map(Vec::len),
        Some(1),
        "no second game: {games}"
    );
}

/// 30 moves, each followed by SIGKILL of the instance that received it after a random
/// 0–3 ms: afterwards every game's hot state equals the database and the audit agrees.
#[tokio::test]
async fn thirty_moves_each_followed_by_a_random_kill_9_leave_every_game_consistent() {
    let spec = ClusterSpec::postgres_and_redis().await;
    let survivor = spec.start("survivor").await;
    let p1 = register(&survivor, "a").await;
    let p2 = register(&survivor, "b").await;
    let mut games = vec![start_game(&survivor, &p1, &survivor, &p2).await];
    let redis = redis::Client::open(redis_url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    for round in 0..30 {
        let game_id = games.last().unwrap().clone();
        let lock_key = format!("{}:{{g:{game_id}}}:lock", spec.redis_prefix);
        // Whatever the last kill interrupted, its lock expires; a reader then reconciles.
        let deadline = Instant::now() + Duration::from_secs(5);
        while redis::cmd("EXISTS")
            .arg(&lock_key)
            .query_async::<bool>(&mut conn)
            .await
            .unwrap()
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: lock never expired"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let state = view(&survivor, &game_id).await;
        if state["status"] != "active" {
            games.push(start_game(&survivor, &p1, &survivor, &p2).await);
            continue;
        }
        let mover = if state["next_player"] == 1 { &p1 } else { &p2 };
        let seat = state["next_player"].as_u64().unwrap();
        let open: Vec<u8> = (0..7u8)
            .filter(|&c| state["board"][0][usize::from(c)] == 0)
            .collect();
        let column = open[rand::thread_rng().gen_range(0..open.len())];
        let mut doomed = Process::start(&spec, &format!("doomed{round}")).await;
        let delay = Duration::from_micros(rand::thread_rng().gen_range(0..=3000));
        let request = client()
            .post(doomed.node().http(&format!("/games/{game_id}/move")))
            .bearer_auth(&mover.token)
            .json(&json!({"game_id": game_id, "player": seat, "column": column}))
            .send();
        tokio::pin!(request);
        // The kill lands `delay` after the request starts, whether it answered or not.
        let _ = tokio::time::timeout(delay, &mut request).await;
        doomed.kill();
    }
    for game_id in &games {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stored = stored_columns(&survivor, game_id).await;
            let state = view(&survivor, game_id).await;
            if state["move_count"].as_u64() == Some(stored.len() as u64) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{game_id}: hot {state} vs stored {stored:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_hot_matches_table(&survivor, game_id).await;
        assert_audit_matches_table(&spec, &survivor, game_id).await;
    }
}

#[tokio::test]
async fn an_untouched_game_times_out_after_redis_comes_back_empty() {
    let mut redis = LocalRedis::start().await;
    let mut spec = ClusterSpec::postgres_and_redis().await;
    spec.redis_url = Some(redis.url());
    let node = spec.start("node0").await;
    let p1 = register(&node, "a").await;
    let p2 = register(&node, "b").await;
    let (_, created) = post(
        &node,
        "/games",
        Some(&p1.token),
        json!({"move_time_limit_secs": 6}),
    )
    .await;
    let game_id = created["game_id"].as_str().unwrap().to_string();
    assert_eq!(
        post(
            &node,
            &format!("/games/{game_id}/join"),
            Some(&p2.token),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(play(&node, &p1, &game_id, 3).await.0, 200);
    let moved = Instant::now();
    redis.restart().await;
    // Nobody touches the game: only the database is read, directly.
    let cold = connect4_arena::cold::Cold::connect(&spec.database_url)
        .await
        .unwrap();
    let deadline = moved + Duration::from_secs(6 + 5);
    let row = loop {
        let row = cold.game(&game_id).await.unwrap().unwrap();
        if row.status != GameStatus::Active {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "still active {:?} after the move",
            moved.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (row.status, row.end_reason, row.winner_id),
        (GameStatus::Finished, Some(EndReason::Timeout), Some(p1.id))
    );
    assert!(
        moved.elapsed() >= Duration::from_secs(5),
        "the clock was not cut short: {:?}",
        moved.elapsed()
    );
}

#[tokio::test]
async fn a_queued_player_is_told_when_redis_loses_the_queue_and_rejoins() {
    let mut redis = LocalRedis::start().await;
    let mut spec = ClusterSpec::postgres_and_redis().await;
    spec.redis_url = Some(redis.url());
    let node = spec.start("node0").await;
    let a = register(&node, "a").await;
    let b = register(&node, "b").await;
    let (stream, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/lobby", node.port))
            .await
            .unwrap();
    let mut lobby = Socket::from_stream(stream);
    lobby
        .send(json!({"action": "identify", "token": a.token}))
        .await;
    lobby.expect("identified").await;
    let (_, queued) = post(&node, "/matchmaking/join", Some(&a.token), json!({})).await;
    assert_eq!(queued["status"], "queued");
    redis.restart().await;
    // The lobby socket is told events may have been lost; the queue is indeed gone.
    lobby.expect("resync").await;
    let status = eventually(
        "Redis answers again",
        Duration::from_secs(10),
        || async {
            let request = client()
                .get(node.http(&format!("/matchmaking/status/{}", a.id)))
                .bearer_auth(&a.token);
            reply(request.send().await.expect("status")).await.1
        },
        |status| status["status"].is_string(),
    )
    .await;
    assert_eq!(status["status"], "not_queued", "{status}");
    // The client rejoins by itself and is paired as before.
    let (_, queued) = post(&node, "/matchmaking/join", Some(&a.token), json!({})).await;
    assert_eq!(queued["status"], "queued");
    let (_, paired) = post(&node, "/matchmaking/join", Some(&b.token), json!({})).await;
    assert_eq!(paired["status"], "matched", "{paired}");
    assert_eq!(lobby.expect("matched").await["game_id"], paired["game_id"]);
}
